package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/warehouse"
)

// pipeline is ingest, the warehouse and the HTTP server of one process.
type pipeline struct {
	wh  *warehouse.Warehouse
	in  *ingest.Ingest
	srv *server.Server
	log *slog.Logger
}

func newPipeline(ctx context.Context, cfg config.Config, log *slog.Logger) (*pipeline, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	wh, err := warehouse.Open(ctx, warehouse.Options{
		Dir:                 cfg.Data,
		File:                cfg.Warehouse.File,
		Threads:             cfg.Warehouse.Threads,
		MemoryLimit:         cfg.Warehouse.MemoryLimit,
		CheckpointThreshold: cfg.Warehouse.CheckpointThreshold,
		IdleCheckpoint:      cfg.Warehouse.IdleCheckpoint,
		Logger:              log.With("component", "warehouse"),
	})
	if err != nil {
		return nil, err
	}
	conn := kafkaConn(cfg)
	dialer, err := conn.Dialer()
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	transport, err := conn.Transport()
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	refusedRaw := int(cfg.Ingest.RefusedRawBytes)
	if refusedRaw == 0 {
		refusedRaw = -1 // the setting's 0 means keep none; ingest's 0 means its default
	}
	in := ingest.New(wh, ingest.Options{
		Brokers:         cfg.Brokers,
		Topics:          cfg.Topics.All(),
		GroupID:         cfg.Ingest.GroupID,
		Consumers:       cfg.Ingest.Consumers,
		StartFrom:       cfg.Ingest.StartFrom,
		FlushRows:       cfg.Ingest.FlushRows,
		FlushBytes:      int64(cfg.Ingest.FlushBytes),
		FlushInterval:   cfg.Ingest.FlushInterval,
		MaxMessageBytes: int(cfg.Ingest.MaxMessageBytes),
		RefusedRawBytes: refusedRaw,
		FetchMaxBytes:   int(cfg.Ingest.FetchMaxBytes),
		FetchMaxWait:    cfg.Ingest.FetchMaxWait,
		QueueCapacity:   cfg.Ingest.QueueCapacity,
		SessionTimeout:  cfg.Ingest.SessionTimeout,
		// Kafka's rule of thumb: heartbeat at a third of the session or less.
		HeartbeatInterval: cfg.Ingest.SessionTimeout / 10,
		RebalanceTimeout:  cfg.Ingest.SessionTimeout,
		Dialer:            dialer,
		Transport:         transport,
		Logger:            log.With("component", "ingest"),
		Metrics:           ingest.NewMetrics(reg),
	})
	srv := server.New(server.Options{
		Addr:       cfg.Addr,
		AdminToken: cfg.AdminToken,
		Warehouse:  wh,
		Ingest:     in,
		Gatherer:   reg,
		Logger:     log.With("component", "server"),
	})
	if err := srv.Listen(); err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	return &pipeline{wh: wh, in: in, srv: srv, log: log}, nil
}

// run runs until ctx is done and shuts down in order: stop consuming and
// store the batch in hand, stop the server, then close DuckDB.
func (p *pipeline) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	ingestDone := make(chan struct{})
	g.Go(func() error {
		defer close(ingestDone)
		if err := p.in.Run(gctx); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		return nil
	})
	g.Go(func() error { return p.wh.Run(gctx) })
	g.Go(func() error {
		// The server outlives ingest so that health and metrics answer
		// while the last batch is stored.
		sctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-ingestDone:
			case <-gctx.Done():
				<-ingestDone
			}
			cancel()
		}()
		return p.srv.Run(sctx)
	})
	err := g.Wait()
	p.log.Info("stopped consuming; closing the warehouse")
	if cerr := p.wh.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("closing warehouse: %w", cerr))
	}
	return err
}

func runRun(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "run")
	sf := addSettingFlags(fs, "brokers", "data", "addr", "timezone", "log-level")
	cfg, err := sf.parse(args, e.environ)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	p, err := newPipeline(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("pulse running", "addr", p.srv.Addr(), "brokers", cfg.Brokers, "database", p.wh.Path())
	if cfg.AdminToken == "" {
		log.Warn("PULSE_ADMIN_TOKEN is not set: /api/ endpoints will refuse every request")
	}
	return p.run(ctx)
}
