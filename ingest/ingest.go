// Package ingest streams events from Kafka into the warehouse, exactly
// once. Each consumer of the group reads its assigned partitions from the
// offsets stored in DuckDB (not from Kafka's committed offsets), decodes and
// validates every message against the event contract, builds Arrow batches
// and hands each batch to the warehouse, which stores events, refused
// messages and the next offsets in one transaction. Kafka's committed
// offsets are updated afterwards, for lag tools only.
//
// Path of a message: partition reader (reader.go) → batcher (this file:
// decode, validate, append to Arrow builders) → writer (Store, then commit).
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/pulsekpi/pulse/event"
	"github.com/pulsekpi/pulse/warehouse"
)

// Store is where batches land. *warehouse.Warehouse implements it.
type Store interface {
	// Store lands a batch atomically and skips what is already stored.
	Store(ctx context.Context, b *warehouse.Batch) (warehouse.Result, error)
	// NextOffsets is where each partition resumes.
	NextOffsets() map[warehouse.TopicPartition]int64
	// RawTables is the layout batches must have.
	RawTables() []warehouse.RawTable
}

// Options configure New. Zero values get the defaults of pulse.example.yaml.
type Options struct {
	Brokers   []string
	Topics    []string
	GroupID   string
	Consumers int
	// StartFrom is where a partition without a stored offset starts:
	// "earliest" (default) or "latest".
	StartFrom       string
	FlushRows       int
	FlushBytes      int64
	FlushInterval   time.Duration
	MaxMessageBytes int
	// RefusedRawBytes is how much of a refused message is kept: 0 means
	// the default (64 KiB), a negative number keeps nothing.
	RefusedRawBytes int
	FetchMaxBytes   int
	FetchMaxWait    time.Duration
	QueueCapacity   int
	// Group membership timing. A member that dies unannounced holds its
	// partitions until SessionTimeout passes.
	SessionTimeout    time.Duration
	RebalanceTimeout  time.Duration
	HeartbeatInterval time.Duration
	// Dialer and Transport say how consumers and admin requests reach the
	// brokers (TLS, SASL; tests use a proxy); nil uses kafka-go's defaults.
	Dialer    *kafka.Dialer
	Transport *kafka.Transport
	Logger    *slog.Logger
	Metrics   *Metrics
}

func (o *Options) defaults() {
	if o.GroupID == "" {
		o.GroupID = "pulse"
	}
	if o.Consumers <= 0 {
		o.Consumers = 1
	}
	if o.StartFrom == "" {
		o.StartFrom = "earliest"
	}
	if o.FlushRows <= 0 {
		o.FlushRows = 122880
	}
	if o.FlushBytes <= 0 {
		o.FlushBytes = 64 << 20
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 500 * time.Millisecond
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = event.DefaultMaxBytes
	}
	if o.RefusedRawBytes < 0 {
		o.RefusedRawBytes = 0
	} else if o.RefusedRawBytes == 0 {
		o.RefusedRawBytes = 64 << 10
	}
	if o.FetchMaxBytes <= 0 {
		o.FetchMaxBytes = 16 << 20
	}
	if o.FetchMaxWait <= 0 {
		o.FetchMaxWait = 250 * time.Millisecond
	}
	if o.QueueCapacity <= 0 {
		o.QueueCapacity = 10000
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 10 * time.Second
	}
	if o.RebalanceTimeout <= 0 {
		o.RebalanceTimeout = 10 * time.Second
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
}

// Ingest runs the consumers of one process.
type Ingest struct {
	store  Store
	opts   Options
	log    *slog.Logger
	joined atomic.Int32
	// storeErr is set while storing a batch fails, nil once one succeeds.
	storeErr atomic.Pointer[storeFailure]
}

// New returns an Ingest that stores into store.
func New(store Store, opts Options) *Ingest {
	opts.defaults()
	return &Ingest{store: store, opts: opts, log: opts.Logger}
}

// storeFailure is a batch that cannot be stored: since when, the latest
// error.
type storeFailure struct {
	since time.Time
	err   string
}

// StoreError says why batches cannot be stored right now (the disk full,
// say), or "" while they can: the consumers keep retrying, nothing is
// skipped, and ingest resumes by itself once a store succeeds.
func (in *Ingest) StoreError() string {
	f := in.storeErr.Load()
	if f == nil {
		return ""
	}
	return fmt.Sprintf("storing batches fails since %s (retrying): %s", f.since.UTC().Format(time.RFC3339), f.err)
}

// Ready reports whether every consumer has joined the group once.
func (in *Ingest) Ready() bool { return int(in.joined.Load()) >= in.opts.Consumers }

// Run consumes until ctx is done, then stops reading, stores the batch in
// hand and returns. It returns an error only when it cannot go on.
func (in *Ingest) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for i := range in.opts.Consumers {
		c := &consumer{in: in, id: i, log: in.log.With("consumer", i)}
		g.Go(func() error { return c.run(ctx) })
	}
	return g.Wait()
}

// consumer is one member of the consumer group with its own batcher and
// writer.
type consumer struct {
	in  *Ingest
	id  int
	log *slog.Logger
	gen atomic.Pointer[kafka.Generation]
}

func (c *consumer) run(ctx context.Context) error {
	o := &c.in.opts
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                     o.GroupID,
		Brokers:                o.Brokers,
		Topics:                 o.Topics,
		Dialer:                 o.Dialer,
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 5 * time.Second,
		HeartbeatInterval:      o.HeartbeatInterval,
		SessionTimeout:         o.SessionTimeout,
		RebalanceTimeout:       o.RebalanceTimeout,
		JoinGroupBackoff:       min(time.Second, o.SessionTimeout/2),
		ErrorLogger:            kafka.LoggerFunc(func(f string, a ...any) { c.log.Debug("kafka group: " + fmt.Sprintf(f, a...)) }),
	})
	if err != nil {
		return fmt.Errorf("consumer %d: joining group %s: %w", c.id, o.GroupID, err)
	}
	msgs := make(chan message, o.QueueCapacity)
	batches := make(chan *pending, 1)
	pipeCtx, stopPipe := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPipe()
	var wg sync.WaitGroup
	wg.Add(2)
	var writeErr error
	go func() { defer wg.Done(); c.batcher(pipeCtx, msgs, batches) }()
	go func() { defer wg.Done(); writeErr = c.writer(ctx, batches) }()

	c.consume(ctx, group, msgs)
	// Stop consuming: closing the group ends the generation, which stops
	// the partition readers; then the batcher flushes what it holds and the
	// writer stores it.
	if err := group.Close(); err != nil {
		c.log.Debug("closing consumer group", "err", err)
	}
	stopPipe()
	wg.Wait()
	return writeErr
}

// consume follows the group's generations until ctx is done.
func (c *consumer) consume(ctx context.Context, group *kafka.ConsumerGroup, msgs chan<- message) {
	joinedOnce := false
	for {
		gen, err := group.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return
			}
			c.log.Warn("consumer group generation failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		c.gen.Store(gen)
		if !joinedOnce {
			joinedOnce = true
			c.in.joined.Add(1)
		}
		stored := c.in.store.NextOffsets()
		assigned := 0
		// Kafka's committed offsets may lag behind DuckDB's (a commit of the
		// previous generation fails once it has ended): bring them in step,
		// so that lag tools see what is really stored.
		resumed := map[warehouse.TopicPartition]int64{}
		for topic, parts := range gen.Assignments {
			for _, p := range parts {
				tp := warehouse.TopicPartition{Topic: topic, Partition: p.ID}
				start, ok := stored[tp]
				if ok {
					resumed[tp] = start
				} else {
					start = kafka.FirstOffset
					if c.in.opts.StartFrom == "latest" {
						start = kafka.LastOffset
					}
				}
				assigned++
				gen.Start(func(gctx context.Context) { c.readPartition(ctx, gctx, tp, start, msgs) })
			}
		}
		c.commit(gen, resumed)
		c.log.Info("joined consumer group", "generation", gen.ID, "partitions", assigned)
	}
}

// pending is a finished batch on its way to the writer.
type pending struct {
	batch *warehouse.Batch
	hwm   map[warehouse.TopicPartition]int64
	rows  int
	built time.Time
}

// batcher decodes messages into Arrow batches and flushes them by rows,
// bytes or age. It drops messages below what it has already read for a
// partition: after a rebalance the same consumer may be handed a partition
// again from the stored offset while its earlier messages are still in
// the batch in hand.
func (c *consumer) batcher(ctx context.Context, msgs <-chan message, out chan<- *pending) {
	defer close(out)
	o := &c.in.opts
	m := o.Metrics
	tables := c.in.store.RawTables()
	unknown := len(tables) - 1
	dec := event.NewDecoder(o.MaxMessageBytes)
	read := map[warehouse.TopicPartition]int64{}
	b := newBatch(tables, o.RefusedRawBytes)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var ev event.Event
	flush := func() {
		timer.Stop()
		if b.empty() {
			return
		}
		p := &pending{batch: b.finish(), hwm: b.hwm, rows: b.rows, built: time.Now()}
		b = newBatch(tables, o.RefusedRawBytes)
		out <- p // blocks while the writer is busy: backpressure
	}
	add := func(msg *message) {
		tp := warehouse.TopicPartition{Topic: msg.Topic, Partition: msg.Partition}
		if next, ok := read[tp]; ok && msg.Offset < next {
			m.messages.WithLabelValues(msg.Topic, "stale").Inc()
			return
		}
		read[tp] = msg.Offset + 1
		if b.empty() {
			timer.Reset(o.FlushInterval)
		}
		if err := dec.Decode(msg.Value, &ev); err != nil {
			r, _ := event.AsRefusal(err)
			b.addRefused(msg, r)
			m.refused.WithLabelValues(r.Code).Inc()
		} else if ev.Type < 0 {
			b.addEvent(msg, &ev, unknown)
		} else {
			b.addEvent(msg, &ev, ev.Type)
		}
		if b.rows >= o.FlushRows || b.bytes >= o.FlushBytes {
			flush()
		}
	}
	for {
		select {
		case msg := <-msgs:
			add(&msg)
		case <-timer.C:
			flush()
		case <-ctx.Done():
			// Take what the readers had already handed over, then flush.
		drain:
			for {
				select {
				case msg := <-msgs:
					add(&msg)
				default:
					break drain
				}
			}
			flush()
			return
		}
	}
}

// store stores one batch, retrying with backoff until it succeeds or
// the consumer stops.
func (c *consumer) store(ctx context.Context, p *pending) (warehouse.Result, error) {
	for attempt := 1; ; attempt++ {
		// Not ctx: a store under way at shutdown must finish, not be cut.
		res, err := c.in.store.Store(context.WithoutCancel(ctx), p.batch)
		if err == nil {
			c.in.storeErr.Store(nil)
			return res, nil
		}
		since := time.Now()
		if f := c.in.storeErr.Load(); f != nil {
			since = f.since
		}
		c.in.storeErr.Store(&storeFailure{since: since, err: err.Error()})
		if errors.Is(err, warehouse.ErrClosed) || ctx.Err() != nil {
			return res, fmt.Errorf("stopping with a batch of %d messages not stored (they will be read again from the stored offsets): %w", p.rows, err)
		}
		c.log.Error("storing batch failed; retrying", "attempt", attempt, "rows", p.rows, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(min(time.Duration(attempt)*200*time.Millisecond, 5*time.Second)):
		}
	}
}

// writer stores batches in order, retrying a failed store until it
// succeeds: a batch is never skipped, so offsets never run ahead of data.
// Once ctx is done (shutting down) a failing batch is given up: its
// messages are read again from the stored offsets at the next start.
func (c *consumer) writer(ctx context.Context, in <-chan *pending) error {
	m := c.in.opts.Metrics
	for p := range in {
		start := time.Now()
		res, err := c.store(ctx, p)
		releaseBatch(p.batch)
		if err != nil {
			for rest := range in {
				releaseBatch(rest.batch)
			}
			return fmt.Errorf("consumer %d: %w", c.id, err)
		}
		m.flushSeconds.Observe(time.Since(start).Seconds())
		m.batchRows.Observe(float64(p.rows))
		for tp, cnt := range res.PerPartition {
			m.messages.WithLabelValues(tp.Topic, "stored").Add(float64(cnt.Stored - cnt.Unknown))
			m.messages.WithLabelValues(tp.Topic, "unknown").Add(float64(cnt.Unknown))
			m.messages.WithLabelValues(tp.Topic, "refused").Add(float64(cnt.Refused))
			m.messages.WithLabelValues(tp.Topic, "duplicate").Add(float64(cnt.Duplicates))
			m.messages.WithLabelValues(tp.Topic, "stale").Add(float64(cnt.Stale))
		}
		for tp, end := range p.batch.Ends {
			if hwm, ok := p.hwm[tp]; ok {
				m.lag.WithLabelValues(tp.Topic, fmt.Sprint(tp.Partition)).Set(float64(max(hwm-end, 0)))
			}
		}
		if gen := c.gen.Load(); gen != nil {
			c.commit(gen, p.batch.Ends)
		}
		c.log.Debug("stored batch", "rows", p.rows, "stored", res.Total.Stored, "refused", res.Total.Refused,
			"duplicates", res.Total.Duplicates, "took", time.Since(start))
	}
	return nil
}

// commit copies stored offsets to Kafka's committed offsets. They are
// informational (lag tools); DuckDB holds the truth, so a failed commit, as
// with a generation that has ended, changes nothing.
func (c *consumer) commit(gen *kafka.Generation, offsets map[warehouse.TopicPartition]int64) {
	if len(offsets) == 0 {
		return
	}
	byTopic := map[string]map[int]int64{}
	for tp, next := range offsets {
		if byTopic[tp.Topic] == nil {
			byTopic[tp.Topic] = map[int]int64{}
		}
		byTopic[tp.Topic][tp.Partition] = next
	}
	if err := gen.CommitOffsets(byTopic); err != nil {
		c.log.Debug("committing offsets to Kafka", "err", err)
	}
}
