// Command transformbench measures the transforms as the transforms issue
// asks, on one warehouse of generated events:
//
//	(a) a full rebuild of every model,
//	(b) an incremental refresh after 10,000 new events spread like live
//	    traffic (the newest of the stream),
//	(c) an incremental refresh after 10,000 late events (a random sample
//	    of the history held back at load time),
//	(d) an incremental refresh with no new events (the clock moved),
//	(e) event → mart freshness at a steady rate, with the scheduler as
//	    configured: marker contracts are stored (ingest's store path,
//	    without Kafka) and the time until marts.kpis_computed counts them
//	    is recorded.
//
// Events are stored with ingest.Load, the consumers' decode and store path
// minus Kafka (ingest's own benchmark covers Kafka).
//
//	GOMAXPROCS=2 go run -tags duckdb_arrow ./bench/transformbench -events 10000000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/bench/internal/stream"
	"github.com/pulsekpi/pulse/generate"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "transformbench:", err)
		os.Exit(1)
	}
}

func run() error {
	events := flag.Int("events", 1_000_000, "events in the warehouse")
	live := flag.Int("live", 10_000, "new events for the incremental refresh")
	late := flag.Int("late", 10_000, "late events for the late refresh")
	dir := flag.String("dir", "", "data folder (default: a temporary one, removed after)")
	threads := flag.Int("threads", 0, "DuckDB threads (0: every core)")
	tz := flag.String("timezone", "Asia/Shanghai", "business time zone")
	freshRate := flag.Int("fresh-rate", 10_000, "events/s for the freshness phase (0 skips it)")
	freshFor := flag.Duration("fresh-for", 60*time.Second, "length of the freshness phase")
	interval := flag.Duration("interval", 5*time.Second, "scheduler interval in the freshness phase")
	flag.Parse()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	if *dir == "" {
		d, err := os.MkdirTemp("", "transformbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	fmt.Printf("transformbench: %d events, GOMAXPROCS=%d, %d CPUs, DuckDB threads=%d, %s\n",
		*events, runtime.GOMAXPROCS(0), runtime.NumCPU(), *threads, time.Now().Format(time.DateOnly))

	// The stream: history, then live events, then the freshness feed.
	feed := *freshRate * int(freshFor.Seconds())
	total := *events + *live + feed
	start := time.Now()
	all := stream.Generate(generate.Options{Seed: 7, Now: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}, total)
	fmt.Printf("generated %d events in %v\n", len(all), time.Since(start).Round(time.Millisecond))
	history, liveEvs, feedEvs := all[:*events], all[*events:*events+*live], all[*events+*live:]

	// Hold back a random sample of the history as late events.
	rng := rand.New(rand.NewPCG(7, 7))
	held := map[int]bool{}
	for len(held) < *late {
		held[rng.IntN(len(history))] = true
	}
	var main, lateEvs []stream.Msg
	for i, m := range history {
		if held[i] {
			lateEvs = append(lateEvs, m)
		} else {
			main = append(main, m)
		}
	}

	w, err := warehouse.Open(ctx, warehouse.Options{Dir: *dir, Threads: *threads, MemoryLimit: "8GB", Logger: log})
	if err != nil {
		return err
	}
	defer w.Close()
	start = time.Now()
	if err := stream.Store(ctx, w, main, 200_000); err != nil {
		return err
	}
	fmt.Printf("loaded %d events in %v\n", len(main), time.Since(start).Round(time.Millisecond))

	clock := stream.Occurred(liveEvs[0].Value)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	p := transform.DefaultParams()
	p.Timezone = *tz
	ev, err := alert.New(w.DB(), alert.Options{Logger: log})
	if err != nil {
		return err
	}
	// The evaluation of the last run, for the report.
	var lastEval *alert.Evaluation
	tr, err := transform.New(w.DB(), transform.Options{Params: p, Now: now, Logger: log, Interval: *interval,
		Macros: ev.Macros(),
		AfterRun: func(ctx context.Context, run *transform.Run) error {
			built := map[string]bool{}
			for _, m := range run.Models {
				if m.Layer == "alerts" && m.Status == transform.StatusOK {
					built[strings.TrimPrefix(m.Name, "alerts.")] = true
				}
			}
			e, err := ev.Evaluate(ctx, run.ID, run.AsOf, built)
			mu.Lock()
			lastEval = e
			mu.Unlock()
			return err
		}})
	if err != nil {
		return err
	}

	report := func(label string, run *transform.Run) {
		fmt.Printf("\n%s: %s in %.0f ms (%d models, %d tests)\n", label, run.Status, run.DurationMS, len(run.Models), len(run.Tests))
		ms := append([]transform.ModelRun(nil), run.Models...)
		sort.Slice(ms, func(i, j int) bool { return ms[i].DurationMS > ms[j].DurationMS })
		var sum float64
		for _, m := range ms {
			sum += m.DurationMS
		}
		fmt.Printf("  sum of model times %.0f ms; slowest:\n", sum)
		defer func() {
			// Alert evaluation: the rule models (they run beside the
			// marts that do not feed them) and the lifecycle step after
			// the run.
			var rules float64
			var slow []string
			for _, m := range ms {
				if m.Layer == "alerts" {
					rules += m.DurationMS
					slow = append(slow, fmt.Sprintf("%s %.0f ms", strings.TrimPrefix(m.Name, "alerts."), m.DurationMS))
				}
			}
			mu.Lock()
			e := lastEval
			mu.Unlock()
			if e != nil {
				fmt.Printf("  alerts: rule models %.0f ms (%s); lifecycle %.0f ms; %d firing, %d fired, %d resolved%s\n",
					rules, strings.Join(slow, ", "), e.DurationMS, e.Firing, e.Fired, e.Resolved, e.SkippedAll)
			}
		}()
		for _, m := range ms[:min(8, len(ms))] {
			rows := ""
			if m.Rows != nil {
				rows = fmt.Sprintf("%d rows", *m.Rows)
			}
			fmt.Printf("    %-30s %8.0f ms  %s %s\n", m.Name, m.DurationMS, rows, m.Error)
		}
	}
	do := func(label string, req transform.RunRequest) error {
		run, err := tr.RunNow(ctx, req)
		if err != nil {
			return err
		}
		report(label, run)
		if run.Status != "ok" {
			b, _ := json.MarshalIndent(run, "", "  ")
			return fmt.Errorf("%s failed: %s", label, b)
		}
		return nil
	}
	if err := do("full rebuild", transform.RunRequest{Full: true}); err != nil {
		return err
	}
	advance(time.Minute)
	if err := do("incremental, clock moved, no new events", transform.RunRequest{}); err != nil {
		return err
	}
	if err := stream.Store(ctx, w, liveEvs, 200_000); err != nil {
		return err
	}
	clock = stream.Occurred(liveEvs[len(liveEvs)-1].Value)
	if err := do(fmt.Sprintf("incremental after %d live events", len(liveEvs)), transform.RunRequest{}); err != nil {
		return err
	}
	if err := stream.Store(ctx, w, lateEvs, 200_000); err != nil {
		return err
	}
	advance(time.Minute)
	if err := do(fmt.Sprintf("incremental after %d late events", len(lateEvs)), transform.RunRequest{}); err != nil {
		return err
	}
	if *freshRate > 0 {
		return freshness(ctx, w, tr, feedEvs, *freshRate, *freshFor, advance)
	}
	return nil
}

// freshness stores feed at rate events/s in 100 ms batches, each with one
// marker contract, while the scheduler runs; it records when each marker
// is counted in marts.kpis_computed.
func freshness(ctx context.Context, w *warehouse.Warehouse, tr *transform.Transformer, feed []stream.Msg, rate int, dur time.Duration,
	advance func(time.Duration)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	schedDone := make(chan error, 1)
	go func() { schedDone <- tr.Run(ctx) }()

	per := rate / 10
	stored := map[int]time.Time{}
	var mu sync.Mutex
	marker := func(i int, at time.Time) []byte {
		return []byte(fmt.Sprintf(`{"event_id":"fresh-%d","event_type":"contract.signed","occurred_at":%q,"data":{"contract_id":"fresh-%d","customer_id":"fresh-%d","owner_id":"fresh-owner","amount":1}}`,
			i, at.Format(time.RFC3339Nano), i, i))
	}
	var lastAt time.Time
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; (i+1)*per <= len(feed); i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			batch := feed[i*per : (i+1)*per]
			at := stream.Occurred(batch[len(batch)-1].Value)
			advance(100 * time.Millisecond)
			by := map[string][][]byte{"finance.events": {marker(i, at)}}
			for _, m := range batch {
				by[m.Topic] = append(by[m.Topic], m.Value)
			}
			for tp, vs := range by {
				if _, err := ingest.Load(ctx, w, tp, vs); err != nil {
					return
				}
			}
			mu.Lock()
			stored[i] = time.Now()
			lastAt = at
			mu.Unlock()
		}
	}()
	var lags []time.Duration
	seen := 0
	deadline := time.Now().Add(dur)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		var n int
		if err := w.DB().QueryRowContext(ctx, `SELECT coalesce(sum(contracts), 0) FROM marts.kpis_computed
			WHERE subject_type = 'employee' AND subject_id = 'fresh-owner' AND grain = 'quarter'`).Scan(&n); err != nil {
			continue
		}
		mu.Lock()
		for ; seen < n; seen++ {
			if t, ok := stored[seen]; ok {
				lags = append(lags, time.Since(t))
			}
		}
		mu.Unlock()
	}
	_ = lastAt
	cancel()
	<-schedDone
	if len(lags) == 0 {
		return fmt.Errorf("freshness: no marker became visible")
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	q := func(p float64) time.Duration {
		return lags[min(len(lags)-1, int(p*float64(len(lags))))].Round(time.Millisecond)
	}
	fmt.Printf("\nfreshness at %d events/s for %v (store → marts.kpis_computed), %d markers: p50 %v, p95 %v, max %v\n",
		rate, dur, len(lags), q(0.5), q(0.95), lags[len(lags)-1].Round(time.Millisecond))
	last, _ := tr.LastRun(context.Background())
	if last != nil {
		fmt.Printf("last scheduled run: %s, %.0f ms\n", last.Status, last.DurationMS)
	}
	fmt.Println(strings.Repeat("-", 40))
	return nil
}
