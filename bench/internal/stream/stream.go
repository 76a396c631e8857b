// Package stream holds what the benchmark programs share: generated
// messages kept in memory, their event time, and storing them the way the
// consumers do (ingest.Load, Kafka's path minus Kafka).
package stream

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/pulsekpi/pulse/generate"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/warehouse"
)

// Msg is one generated message: its topic and value.
type Msg struct {
	Topic string
	Value []byte
}

// Generate returns the first n messages of the generator's stream for
// opts, in order.
func Generate(opts generate.Options, n int) []Msg {
	all := make([]Msg, 0, n)
	for m := range generate.New(opts).Events(n) {
		all = append(all, Msg{m.Topic, m.Value})
	}
	return all
}

var occurredRE = regexp.MustCompile(`"occurred_at":"([^"]+)"`)

// Occurred is a value's occurred_at, found without decoding the whole
// event (zero when it has none).
func Occurred(v []byte) time.Time {
	m := occurredRE.FindSubmatch(v)
	if m == nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, string(m[1]))
	return t
}

// Store stores ms in order, one ingest.Load batch per topic for every
// chunk messages.
func Store(ctx context.Context, w *warehouse.Warehouse, ms []Msg, chunk int) error {
	by := map[string][][]byte{}
	flush := func() error {
		for tp, vs := range by {
			if _, err := ingest.Load(ctx, w, tp, vs); err != nil {
				return fmt.Errorf("storing %s: %w", tp, err)
			}
		}
		by = map[string][][]byte{}
		return nil
	}
	for i, m := range ms {
		by[m.Topic] = append(by[m.Topic], m.Value)
		if (i+1)%chunk == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
