package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/dashboard"
	"github.com/pulsekpi/pulse/dashboards"
	"github.com/pulsekpi/pulse/transform"
)

// dashboardSource is the dashboards the server offers and the check of
// them against the warehouse, which waits for the first transform run
// (before it the marts the tiles read do not exist).
type dashboardSource struct {
	current func() *dashboard.Set
	db      *sql.DB
	log     *slog.Logger
	checked atomic.Bool // a transform run has landed: sets can be checked
	mu      sync.Mutex  // one check at a time
	// invalidate drops the server's cached tiles; set once the server
	// exists, before any transform run.
	invalidate func()
}

// Current is the set in force.
func (d *dashboardSource) Current() *dashboard.Set { return d.current() }

// loadDashboards loads the shipped dashboards, or cfg.Dashboards.Dir
// watched for changes until ctx ends. A bad file stops start-up with
// every problem as file:line: field: what.
func loadDashboards(ctx context.Context, cfg config.Config, db *sql.DB, log *slog.Logger) (*dashboardSource, error) {
	d := &dashboardSource{db: db, log: log}
	if cfg.Dashboards.Dir == "" {
		set, err := dashboard.LoadFS(dashboards.Shipped(), "dashboards")
		if err != nil {
			return nil, fmt.Errorf("loading the built-in dashboards: %w", err)
		}
		d.current = set.Current // the shipped set never changes
		return d, nil
	}
	w, err := dashboard.Watch(ctx, cfg.Dashboards.Dir, cfg.Dashboards.ReloadInterval, func(s *dashboard.Set) {
		if d.checked.Load() {
			d.check(context.WithoutCancel(ctx), s)
		}
	}, dashboard.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("loading dashboards from %s: %w", cfg.Dashboards.Dir, err)
	}
	d.current = w.Current
	return d, nil
}

// composeAfterRun runs next (the alerts' evaluation), then drops the
// cached tiles, whose figures the run has replaced (alerts included),
// then checks the dashboards after the first good run.
func (d *dashboardSource) composeAfterRun(next func(context.Context, *transform.Run) error) func(context.Context, *transform.Run) error {
	return func(ctx context.Context, run *transform.Run) error {
		err := next(ctx, run)
		if d.invalidate != nil {
			d.invalidate()
		}
		d.afterRun(ctx, run)
		return err
	}
}

// afterRun checks the dashboards against the warehouse once, after the
// first transform run that succeeds. Problems are logged, not fatal: a
// tile that does not fit the marts fails alone, the rest serve.
func (d *dashboardSource) afterRun(ctx context.Context, run *transform.Run) {
	if run.Status != transform.StatusOK || d.checked.Swap(true) {
		return
	}
	d.check(ctx, d.Current())
}

func (d *dashboardSource) check(ctx context.Context, s *dashboard.Set) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := s.Check(ctx, d.db); err != nil {
		d.log.Error("dashboards do not fit the warehouse", "error", err)
		return
	}
	d.log.Info("dashboards checked against the warehouse", "dashboards", len(s.Dashboards))
}
