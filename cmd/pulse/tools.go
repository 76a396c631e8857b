package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pulsekpi/pulse/broker"
	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/generate"
)

func runBroker(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "broker")
	port := fs.Int("port", 9092, "TCP port to listen on")
	partitions := fs.Int("partitions", 3, "partitions per topic (topics are also created on demand)")
	dataDir := fs.String("data", "", "persist the broker's log in this folder (default: in memory)")
	retention := fs.Duration("retention", 0, "delete messages older than this, as Kafka's log.retention.ms (default: keep all, in memory)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *retention < 0 {
		return errors.New("--retention must not be negative")
	}
	log := newLogger(*logLevel)
	def := config.Default()
	b, err := broker.Start(broker.Options{Port: *port, Topics: def.Topics.All(), Partitions: *partitions, DataDir: *dataDir,
		Retention: *retention, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "embedded Kafka-protocol broker listening on %v (Ctrl-C stops it)\n", b.Addrs())
	return b.Run(ctx)
}

// generatorFlags are the generator's knobs, shared by generate and demo.
type generatorFlags struct {
	seed      *int64
	days      *int
	employees *int
	rate      *float64
	badRate   *float64
	now       *string
}

func addGeneratorFlags(fs interface {
	Int64(string, int64, string) *int64
	Int(string, int, string) *int
	Float64(string, float64, string) *float64
	String(string, string, string) *string
}, def config.Generator) *generatorFlags {
	return &generatorFlags{
		seed:      fs.Int64("seed", def.Seed, "random seed: the same seed gives the same events"),
		days:      fs.Int("days", def.Days, "days of history to back-fill"),
		employees: fs.Int("employees", def.Employees, "company size"),
		rate:      fs.Float64("rate", def.Rate, "live events per second after the history"),
		badRate:   fs.Float64("bad-rate", def.BadRate, "fraction of deliberately malformed events (0..1)"),
		now:       fs.String("now", "", "the present as RFC 3339 (default: now, to the hour); fix it for reproducible history"),
	}
}

func (g *generatorFlags) options(cfg config.Config) (generate.Options, error) {
	now := time.Now().Truncate(time.Hour)
	if *g.now != "" {
		t, err := time.Parse(time.RFC3339, *g.now)
		if err != nil {
			return generate.Options{}, fmt.Errorf("--now: not an RFC 3339 time: %q", *g.now)
		}
		now = t
	}
	if *g.badRate < 0 || *g.badRate > 1 {
		return generate.Options{}, errors.New("--bad-rate must be between 0 and 1")
	}
	return generate.Options{
		Seed: *g.seed, Now: now, Days: *g.days, Employees: *g.employees, BadRate: *g.badRate,
		Location: cfg.Location(),
		Topics:   generate.Topics{CRM: cfg.Topics.CRM, Finance: cfg.Topics.Finance, Ticket: cfg.Topics.Ticket},
	}, nil
}

func runGenerate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "generate")
	sf := addSettingFlags(fs, "brokers", "timezone", "log-level")
	gf := addGeneratorFlags(fs, config.Default().Generator)
	out := fs.String("out", "", "write JSON-lines files (one per topic) to this folder instead of Kafka")
	live := fs.Bool("live", false, "after the history, go on live at --rate events per second until interrupted")
	cfg, err := sf.parse(args, e.environ)
	if err != nil {
		return err
	}
	opts, err := gf.options(cfg)
	if err != nil {
		return err
	}
	var sink generate.Sink
	var closeSink func() error
	if *out != "" {
		fsink, err := generate.NewFileSink(*out)
		if err != nil {
			return err
		}
		sink, closeSink = fsink, fsink.Close
	} else {
		ksink, err := kafkaSink(cfg)
		if err != nil {
			return err
		}
		sink, closeSink = ksink, ksink.Close
	}
	g := generate.New(opts)
	start := time.Now()
	n, err := g.History(ctx, sink)
	fmt.Fprintf(e.stdout, "history: %d events in %s\n", n, time.Since(start).Round(time.Millisecond))
	if err == nil && *live {
		fmt.Fprintf(e.stdout, "live: %.0f events/s until interrupted\n", *gf.rate)
		var m int
		m, err = g.Live(ctx, sink, *gf.rate)
		fmt.Fprintf(e.stdout, "live: %d events\n", m)
	}
	return errors.Join(err, closeSink())
}

func runLoad(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "load")
	sf := addSettingFlags(fs, "brokers", "log-level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("load: name at least one JSON-lines file")
	}
	cfg, err := sf.load(e.environ)
	if err != nil {
		return err
	}
	topics := generate.Topics{CRM: cfg.Topics.CRM, Finance: cfg.Topics.Finance, Ticket: cfg.Topics.Ticket}
	sink, err := kafkaSink(cfg)
	if err != nil {
		return err
	}
	total := 0
	for _, path := range fs.Args() {
		var chunk []generate.Message
		line := 0
		flush := func() error {
			if len(chunk) == 0 {
				return nil
			}
			err := sink.Send(ctx, chunk)
			total += len(chunk)
			chunk = chunk[:0]
			return err
		}
		unroutable := 0
		err := generate.ReadFile(path, func(value []byte) error {
			line++
			topic, key, err := generate.Route(value, topics)
			if err != nil {
				// Published all the same: ingest refuses it with its reason and
				// keeps it in ops.refused_events, as it would from any producer.
				unroutable++
				fmt.Fprintf(e.stderr, "%s: event %d: %v (published to %s for ingest to refuse)\n", path, line, err, topics.CRM)
				topic, key = topics.CRM, nil
			}
			chunk = append(chunk, generate.Message{Topic: topic, Key: key, Value: append([]byte(nil), value...)})
			if len(chunk) >= 1000 {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return errors.Join(err, sink.Close())
		}
		fmt.Fprintf(e.stdout, "%s: %d events published (%d malformed)\n", path, line, unroutable)
	}
	fmt.Fprintf(e.stdout, "%d events published\n", total)
	return sink.Close()
}
