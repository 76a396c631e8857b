package ingest

import (
	"context"
	"fmt"

	"github.com/pulsekpi/pulse/event"
	"github.com/pulsekpi/pulse/warehouse"
)

// Load decodes values exactly as the consumers do and stores them as one
// batch, as if they had been read from partition 0 of topic right after
// the offset the store holds. It is Kafka's path minus Kafka: for data
// tests, fixtures and benchmarks that need events in the warehouse in a
// known order and in a known number of batches. Invalid values are refused
// and recorded as ingest would.
func Load(ctx context.Context, store Store, topic string, values [][]byte) (warehouse.Result, error) {
	if len(values) == 0 {
		return warehouse.Result{}, nil
	}
	tables := store.RawTables()
	unknown := len(tables) - 1
	dec := event.NewDecoder(1 << 20)
	b := newBatch(tables, 64<<10)
	next := store.NextOffsets()[warehouse.TopicPartition{Topic: topic}]
	var ev event.Event
	for i, v := range values {
		m := &message{Topic: topic, Offset: next + int64(i), Value: v}
		if err := dec.Decode(v, &ev); err != nil {
			r, _ := event.AsRefusal(err)
			b.addRefused(m, r)
		} else if ev.Type < 0 {
			b.addEvent(m, &ev, unknown)
		} else {
			b.addEvent(m, &ev, ev.Type)
		}
	}
	wb := b.finish()
	defer releaseBatch(wb)
	res, err := store.Store(ctx, wb)
	if err != nil {
		return res, fmt.Errorf("loading %d events: %w", len(values), err)
	}
	return res, nil
}
