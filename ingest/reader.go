package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pulsekpi/pulse/warehouse"
)

// ReaderConfig is the kafka-go reader configuration ingest uses for one
// assigned partition. Benchmarks use it to measure consuming alone with the
// very same client settings.
func ReaderConfig(o Options, tp warehouse.TopicPartition) kafka.ReaderConfig {
	o.defaults()
	return kafka.ReaderConfig{
		Brokers:        o.Brokers,
		Topic:          tp.Topic,
		Partition:      tp.Partition,
		Dialer:         o.Dialer,
		MinBytes:       1,
		MaxBytes:       o.FetchMaxBytes,
		MaxWait:        o.FetchMaxWait,
		QueueCapacity:  o.QueueCapacity,
		ReadBackoffMin: 50 * time.Millisecond,
		ReadBackoffMax: time.Second,
		MaxAttempts:    1 << 30,
	}
}

// readPartition reads one assigned partition from start and hands its
// messages to the batcher until the generation (gctx) or the consumer (ctx)
// ends. The kafka-go reader retries broken connections by itself.
func (c *consumer) readPartition(ctx, gctx context.Context, tp warehouse.TopicPartition, start int64, out chan<- message) {
	cfg := ReaderConfig(c.in.opts, tp)
	// The reader's errors include skipping messages that retention has
	// deleted and waiting past the end of a recreated topic: worth a warning.
	cfg.ErrorLogger = kafka.LoggerFunc(func(f string, a ...any) {
		c.log.Warn("kafka reader", "partition", tp.String(), "msg", fmt.Sprintf(f, a...))
	})
	r := kafka.NewReader(cfg)
	defer r.Close()
	if err := r.SetOffset(start); err != nil {
		c.log.Error("setting start offset", "partition", tp.String(), "offset", start, "err", err)
		return
	}
	c.log.Debug("reading partition", "partition", tp.String(), "from", start)
	for {
		m, err := r.FetchMessage(gctx)
		if err != nil {
			if gctx.Err() != nil || ctx.Err() != nil || errors.Is(err, context.Canceled) {
				return
			}
			c.log.Warn("fetching from partition", "partition", tp.String(), "err", err)
			select {
			case <-gctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		msg := message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset,
			HighWaterMark: m.HighWaterMark, Key: m.Key, Value: m.Value}
		select {
		case out <- msg:
		case <-gctx.Done():
			return
		case <-ctx.Done():
			return
		}
	}
}
