package transform

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// Run runs the models whenever new events have landed, and at least every
// MaxIdle, checking every Interval, until ctx is done. A run in progress
// when ctx ends is finished (and recorded) before Run returns nil.
func (t *Transformer) Run(ctx context.Context) error {
	// gocron's stop timeout only bounds its own wait: the run in hand is
	// waited for below (jobs), however long it takes, so a timeout here is
	// not an error.
	s, err := gocron.NewScheduler(gocron.WithStopTimeout(time.Second))
	if err != nil {
		return fmt.Errorf("transform scheduler: %w", err)
	}
	var (
		mu      sync.Mutex
		stopped bool
		jobs    sync.WaitGroup
	)
	// The run in hand outlives ctx: it finishes and is recorded.
	runCtx := context.WithoutCancel(ctx)
	tick := func() {
		mu.Lock()
		if stopped || ctx.Err() != nil {
			mu.Unlock()
			return
		}
		jobs.Add(1)
		mu.Unlock()
		defer jobs.Done()
		t.tick(ctx, runCtx)
	}
	if _, err := s.NewJob(gocron.DurationJob(t.opts.Interval), gocron.NewTask(tick),
		gocron.WithName("transform"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithStartAt(gocron.WithStartImmediately())); err != nil {
		_ = s.Shutdown()
		return fmt.Errorf("transform scheduler: %w", err)
	}
	s.Start()
	<-ctx.Done()
	mu.Lock()
	stopped = true
	mu.Unlock()
	err = s.Shutdown()
	jobs.Wait()
	if err != nil && !errors.Is(err, gocron.ErrStopSchedulerTimedOut) && !errors.Is(err, gocron.ErrStopJobsTimedOut) {
		return fmt.Errorf("stopping the transform scheduler: %w", err)
	}
	return nil
}

// tick starts a run when one is due: no run yet, events stored after the
// last run's cut, or MaxIdle passed since the last run's now.
func (t *Transformer) tick(ctx, runCtx context.Context) {
	reason, err := t.due(ctx)
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("transform scheduler: checking for new events", "err", err)
		}
		return
	}
	if reason == "" {
		return
	}
	t.log.Debug("transform run due", "reason", reason)
	if _, err := t.RunNow(runCtx, RunRequest{}); err != nil {
		t.log.Error("transform run", "err", err)
	}
}

// due says why a run is due, or "" when none is.
func (t *Transformer) due(ctx context.Context) (string, error) {
	last, err := t.readLastRun(ctx, false)
	if err != nil {
		return "", err
	}
	if last == nil {
		return "first run", nil
	}
	stamp, err := t.latestStamp(ctx)
	if err != nil {
		return "", err
	}
	if stamp != nil && (last.cut == nil || stamp.After(*last.cut)) {
		return "new events", nil
	}
	if last.asOf == nil || t.opts.Now().Sub(*last.asOf) >= t.opts.MaxIdle {
		return "idle", nil
	}
	return "", nil
}
