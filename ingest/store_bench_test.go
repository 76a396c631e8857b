package ingest

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/event"
	"github.com/pulsekpi/pulse/generate"
	"github.com/pulsekpi/pulse/warehouse"
)

// buildBatches decodes n generated events into batches of rows each, as
// the batcher does, without Kafka. Different rounds give different events
// on different partitions, so that nothing is stale or a duplicate.
func buildBatches(b *testing.B, tables []warehouse.RawTable, n, rows, round int) []*warehouse.Batch {
	g := generate.New(generate.Options{Seed: int64(100 + round), Now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	dec := event.NewDecoder(0)
	var out []*warehouse.Batch
	bt := newBatch(tables, 1024)
	var ev event.Event
	off := int64(0)
	err := g.Stream(n, func(m generate.Message) error {
		msg := message{Topic: m.Topic, Partition: 3*round + int(off%3), Offset: off, Key: m.Key, Value: m.Value}
		off++
		if err := dec.Decode(m.Value, &ev); err != nil {
			r, _ := event.AsRefusal(err)
			bt.addRefused(&msg, r)
		} else if ev.Type < 0 {
			bt.addEvent(&msg, &ev, len(tables)-1)
		} else {
			bt.addEvent(&msg, &ev, ev.Type)
		}
		if bt.rows >= rows {
			out = append(out, bt.finish())
			bt = newBatch(tables, 1024)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if !bt.empty() {
		out = append(out, bt.finish())
	}
	return out
}

// BenchmarkDecodeAndBuild measures the batcher's work per event: decode,
// validate, append to Arrow builders.
func BenchmarkDecodeAndBuild(b *testing.B) {
	tables := warehouse.RawTables()
	for b.Loop() {
		for _, wb := range buildBatches(b, tables, 100_000, 122880, 0) {
			releaseBatch(wb)
		}
	}
	b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkStore measures the warehouse's transactional store of full
// batches (122,880 rows) of generated events into a DuckDB file; one op
// stores 491,520 events.
func BenchmarkStore(b *testing.B) {
	const n = 491_520 // four full batches of the default size
	rows := 122880
	if v, err := strconv.Atoi(os.Getenv("PULSE_BENCH_ROWS")); err == nil {
		rows = v
	}
	w, err := warehouse.Open(context.Background(), warehouse.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	tables := w.RawTables()
	batches := buildBatches(b, tables, n, rows, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Each round stores fresh offsets and ids: shift the batches'
		// partitions so that nothing is stale or duplicate.
		if i > 0 {
			b.StopTimer()
			for _, wb := range batches {
				releaseBatch(wb)
			}
			batches = buildBatches(b, tables, n, rows, i)
			b.StartTimer()
		}
		for _, wb := range batches {
			res, err := w.Store(context.Background(), wb)
			if err != nil {
				b.Fatal(err)
			}
			if res.Total.Duplicates+res.Total.Stale > 0 {
				b.Fatalf("benchmark batches must be new: %+v", res.Total)
			}
		}
	}
	// ns/op is the time to store n = 491,520 events.
}
