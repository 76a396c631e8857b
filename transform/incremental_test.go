package transform_test

// Incremental runs must compute exactly what a full rebuild computes. A
// generated company's history is loaded in random batches, with late events
// (moved to later batches) and duplicates, and a clock that advances from
// batch to batch so that running periods end; after each batch an
// incremental run. Then every table of staging and marts is snapshotted, a
// full rebuild runs with the same clock, and the two are compared table by
// table, both ways.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/generate"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/internal/testkit"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

type collectSink struct{ msgs []generate.Message }

func (s *collectSink) Send(_ context.Context, msgs []generate.Message) error {
	s.msgs = append(s.msgs, msgs...)
	return nil
}

// genEvent is a generated message with what the test needs to know of it.
type genEvent struct {
	msg      generate.Message
	id       string
	occurred time.Time
}

func TestIncrementalEqualsFull(t *testing.T) {
	cases := []struct {
		seed int64
		zone string
		now  time.Time // the generator's present: history is the 20 days before it
	}{
		// month and quarter boundary
		{1, "UTC", time.Date(2026, 4, 5, 10, 0, 0, 0, time.UTC)},
		// month boundary and the end of daylight saving time (Nov 1)
		{2, "America/New_York", time.Date(2026, 11, 3, 15, 0, 0, 0, time.UTC)},
		// year boundary (ISO week 53 of 2026 holds Jan 1-3, 2027)
		{3, "Asia/Shanghai", time.Date(2027, 1, 4, 4, 0, 0, 0, time.UTC)},
	}
	// PULSE_INCREMENTAL_SEEDS=4,5,6 runs other seeds over the same zones
	// and dates (the cases in turn), for a longer hunt.
	if env := os.Getenv("PULSE_INCREMENTAL_SEEDS"); env != "" {
		base := cases
		cases = cases[:0:0]
		for i, f := range strings.Split(env, ",") {
			seed, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatalf("PULSE_INCREMENTAL_SEEDS: %v", err)
			}
			c := base[i%len(base)]
			c.seed = seed
			cases = append(cases, c)
		}
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("seed%d_%s", c.seed, strings.ReplaceAll(c.zone, "/", "_")), func(t *testing.T) {
			t.Parallel()
			incrementalVsFull(t, c.seed, c.zone, c.now)
		})
	}
}

func incrementalVsFull(t *testing.T, seed int64, zone string, genNow time.Time) {
	ctx := context.Background()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d, time zone %s, history of 20 days before %s", seed, zone, genNow.Format(time.RFC3339))

	// ---- the company's history
	gen := generate.New(generate.Options{Seed: seed, Now: genNow, Days: 20, Employees: 12, Location: loc})
	var sink collectSink
	if _, err := gen.History(ctx, &sink); err != nil {
		t.Fatal(err)
	}
	events := make([]genEvent, 0, len(sink.msgs))
	for _, m := range sink.msgs {
		var env struct {
			EventID    string `json:"event_id"`
			OccurredAt string `json:"occurred_at"`
		}
		if err := json.Unmarshal(m.Value, &env); err != nil {
			t.Fatalf("generated message %q: %v", m.Value, err)
		}
		occ, err := time.Parse(time.RFC3339Nano, env.OccurredAt)
		if err != nil {
			t.Fatalf("generated message %q: %v", m.Value, err)
		}
		events = append(events, genEvent{msg: m, id: env.EventID, occurred: occ})
	}
	if len(events) < 1000 {
		t.Fatalf("the generator made only %d events", len(events))
	}

	// ---- random batches: contiguous slices of the history, then 5% of the
	// events moved to a later batch (late events) and 1% repeated in the
	// same or a later batch (duplicates)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	const nBatches = 5
	cuts := []int{0}
	for len(cuts) < nBatches {
		c := 1 + rng.IntN(len(events)-1)
		if !slices.Contains(cuts, c) {
			cuts = append(cuts, c)
		}
	}
	slices.Sort(cuts)
	cuts = append(cuts, len(events))
	batches := make([][]genEvent, nBatches)
	late, dups := 0, 0
	for b := 0; b < nBatches; b++ {
		for _, e := range events[cuts[b]:cuts[b+1]] {
			to := b
			if b < nBatches-1 && rng.Float64() < 0.05 {
				to = b + 1 + rng.IntN(nBatches-1-b)
				late++
			}
			batches[to] = append(batches[to], e)
			if rng.Float64() < 0.01 {
				d := to + rng.IntN(nBatches-to)
				batches[d] = append(batches[d], e)
				dups++
			}
		}
	}
	t.Logf("%d events in %d batches; %d moved to a later batch, %d repeated", len(events), nBatches, late, dups)

	// ---- the clock: after each batch, the latest occurred_at loaded so far
	// plus up to 6 hours (never going back)
	clocks := make([]time.Time, nBatches)
	var latest, clock time.Time
	for b, batch := range batches {
		for _, e := range batch {
			if e.occurred.After(latest) {
				latest = e.occurred
			}
		}
		c := latest.Add(time.Duration(rng.IntN(6*3600)) * time.Second).Truncate(time.Second)
		if c.After(clock) {
			clock = c
		}
		clocks[b] = clock
	}

	w, err := warehouse.Open(ctx, warehouse.Options{Dir: t.TempDir(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	db := w.DB()
	p := transform.DefaultParams()
	p.Timezone = zone
	now := clocks[0]
	tr, err := transform.New(db, transform.Options{
		// the alert rules are models too; they read their settings from macros
		Macros: alert.Statements(alert.DefaultRules()),
		Params: p,
		Now:    func() time.Time { return now },
		// never caught up: no period is frozen, so every figure is the
		// models' own
		Lag: func(context.Context) (int64, error) { return 1, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Stop()

	// ---- load and run incrementally
	seen := map[string]bool{}
	for b, batch := range batches {
		byTopic := map[string][][]byte{}
		var topics []string
		want := 0
		for _, e := range batch {
			if _, ok := byTopic[e.msg.Topic]; !ok {
				topics = append(topics, e.msg.Topic)
			}
			byTopic[e.msg.Topic] = append(byTopic[e.msg.Topic], e.msg.Value)
			if !seen[e.id] {
				seen[e.id] = true
				want++
			}
		}
		var stored, dup int64
		for _, topic := range topics {
			res, err := ingest.Load(ctx, w, topic, byTopic[topic])
			if err != nil {
				t.Fatalf("batch %d, %s: %v", b+1, topic, err)
			}
			if res.Total.Refused != 0 {
				t.Fatalf("batch %d, %s: %d events refused", b+1, topic, res.Total.Refused)
			}
			stored += res.Total.Stored
			dup += res.Total.Duplicates
		}
		if stored != int64(want) || dup != int64(len(batch)-want) {
			t.Fatalf("batch %d: want %d stored and %d duplicates, got %d and %d", b+1, want, len(batch)-want, stored, dup)
		}
		now = clocks[b]
		start := time.Now()
		runTransform(ctx, t, tr, false, fmt.Sprintf("seed %d, incremental run after batch %d", seed, b+1))
		t.Logf("batch %d: %d events (%d new), now %s, incremental run %v", b+1, len(batch), want, now.In(loc).Format(time.RFC3339), time.Since(start).Round(time.Millisecond))
	}

	// ---- snapshot, rebuild in full with the same clock, compare
	skip, err := testkit.RunStateModels(tr)
	if err != nil {
		t.Fatal(err)
	}
	tables := testkit.Snapshot(ctx, t, db)
	start := time.Now()
	runTransform(ctx, t, tr, true, fmt.Sprintf("seed %d, full run", seed))
	t.Logf("full run %v", time.Since(start).Round(time.Millisecond))
	if after := testkit.ModelTables(ctx, t, db); !slices.Equal(tables, after) {
		t.Errorf("tables after the incremental runs %v, after the full run %v", tables, after)
	}
	compared, rows := testkit.SameAsSnapshot(ctx, t, db, tables, skip)
	t.Logf("compared %d tables, %d rows", compared, rows)
}
