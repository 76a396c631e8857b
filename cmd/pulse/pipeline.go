package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/drill"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/query"
	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
	"github.com/pulsekpi/pulse/web"
)

// pipeline is ingest, the warehouse, the transforms and the HTTP server of
// one process.
type pipeline struct {
	wh    *warehouse.Warehouse
	in    *ingest.Ingest
	tr    *transform.Transformer
	al    *alerting
	users *auth.Store
	srv   *server.Server
	debug *server.Debug // nil unless server.debug_addr is set
	log   *slog.Logger
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
		TrimInterval:        cfg.Warehouse.TrimInterval,
		Logger:              log.With("component", "warehouse"),
	})
	if err != nil {
		return nil, err
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pulse_warehouse_id_index_bytes",
		Help: "Memory held by the index of stored event ids used for deduplication (about 4 bytes per stored event)."},
		func() float64 { return float64(wh.IDIndexBytes()) }), newDuckDBMemory(wh), newCMemory(wh))
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
	al, err := newAlerting(cfg, wh, ingestLag(in, wh), log, reg)
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	dash, err := loadDashboards(ctx, cfg, wh.DB(), log.With("component", "dashboards"))
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	tr, err := transform.New(wh.DB(), transform.Options{
		Params:      transformParams(cfg),
		Interval:    cfg.Transform.Interval,
		MaxIdle:     cfg.Transform.MaxIdle,
		Concurrency: cfg.Transform.Concurrency,
		CloseGrace:  cfg.KPIs.CloseGrace,
		Lag:         ingestLag(in, wh),
		Macros:      al.eval.Macros(),
		AfterRun:    dash.composeAfterRun(al.afterRun),
		Logger:      log.With("component", "transform"),
		Metrics:     transform.NewMetrics(reg),
	})
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	qr, err := query.New(wh.DB(), query.Options{MaxRows: cfg.Query.MaxRows, Timeout: cfg.Query.Timeout,
		MaxConcurrent: cfg.Query.MaxConcurrent, Logger: log.With("component", "query")})
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	dr, err := drill.New(wh.DB(), drill.Options{})
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	users := auth.NewStore(wh.DB(), auth.StoreOptions{})
	ui, err := web.New(web.Options{Auth: users, Dashboards: dash, Logger: log.With("component", "web")})
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	if ui.ChartsMissing() {
		log.Warn("charts are missing from this build: run make assets and rebuild")
	}
	srv := server.New(server.Options{
		Addr:       cfg.Addr,
		AdminToken: cfg.AdminToken,
		Warehouse:  wh,
		Ingest:     in,
		Marts:      tr,
		Transforms: tr,
		Alerts:     al.store,
		Query:      qr,
		Drill:      dr,
		Auth:       users,
		Gatherer:   reg,
		Logger:     log.With("component", "server"),
		Web:        ui,

		Ops:         wh.DB(),
		HistoryKeep: cfg.Query.HistoryKeep,
		Backup:      wh,
		BackupDir:   cfg.Backup.Dir,
		Hardening: server.Hardening{TrustedProxies: cfg.Server.TrustedProxies, MaxBody: int64(cfg.Server.MaxBody),
			QueryRatePerMinute: cfg.Query.RatePerMinute, QueryBurst: cfg.Query.Burst},

		Dashboards: dash,
		Tiles: server.TileOptions{DB: wh.DB(), MaxRows: cfg.Dashboards.MaxRows, Timeout: cfg.Dashboards.Timeout,
			MaxConcurrent:     cfg.Dashboards.MaxConcurrent,
			LeaderboardCircle: cfg.Dashboards.LeaderboardCircle, Location: cfg.Location(),
			Metrics: server.NewTileMetrics(reg)},
	})
	dash.invalidate = srv.InvalidateTiles // before any run: runs start with p.run
	if err := srv.Listen(); err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	var debug *server.Debug
	if cfg.Server.DebugAddr != "" {
		if debug, err = server.NewDebug(cfg.Server.DebugAddr, log.With("component", "debug")); err != nil {
			return nil, errors.Join(err, wh.Close())
		}
	}
	return &pipeline{wh: wh, in: in, tr: tr, al: al, users: users, srv: srv, debug: debug, log: log}, nil
}

// ingestLag is the consumers' total lag, for period close: the messages
// the brokers hold that the warehouse has not stored. A broker that does
// not answer is an error, which period close takes as "not caught up".
func ingestLag(in *ingest.Ingest, wh *warehouse.Warehouse) func(ctx context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		st, err := in.Status(ctx, wh)
		if err != nil {
			return 0, err
		}
		if st.BrokerError != "" {
			return 0, errors.New(st.BrokerError)
		}
		var lag int64
		for _, p := range st.Partitions {
			if p.Lag == nil {
				return 0, fmt.Errorf("no high-water mark for %s/%d", p.Topic, p.Partition)
			}
			lag += *p.Lag
		}
		return lag, nil
	}
}

// run runs until ctx is done and shuts down in order: stop consuming and
// store the batch in hand, stop the transforms (finishing the run in
// hand and its alert evaluation), stop delivering alerts (finishing the
// pass in hand), stop the server, then close DuckDB.
func (p *pipeline) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	ingestDone := make(chan struct{})
	transformsDone := make(chan struct{})
	g.Go(func() error {
		defer close(ingestDone)
		if err := p.in.Run(gctx); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		return nil
	})
	g.Go(func() error { return p.wh.Run(gctx) })
	g.Go(func() error {
		// Transforms outlive ingest: the last batch stored is the last
		// one they may pick up.
		defer close(transformsDone)
		tctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-ingestDone
			cancel()
		}()
		if err := p.tr.Run(tctx); err != nil {
			return fmt.Errorf("transforms: %w", err)
		}
		return nil
	})
	notifyDone := make(chan struct{})
	g.Go(func() error {
		// Delivery outlives the transforms: the last evaluation's
		// notifications get one pass.
		defer close(notifyDone)
		nctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-transformsDone
			cancel()
		}()
		if err := p.al.notify.Run(nctx); err != nil {
			return fmt.Errorf("alert delivery: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		// The server outlives ingest, transforms and delivery so that
		// health and metrics answer while the last batch is stored,
		// transformed and notified.
		sctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-notifyDone
			cancel()
		}()
		if p.debug != nil {
			go func() { // profiles are a help, not a duty: their failure stops nothing
				if err := p.debug.Run(sctx); err != nil {
					p.log.Warn("runtime profiles stopped", "err", err)
				}
			}()
		}
		return p.srv.Run(sctx)
	})
	err := g.Wait()
	// A run asked for over HTTP may still be going: wait for it.
	if serr := p.tr.Stop(); serr != nil {
		err = errors.Join(err, fmt.Errorf("stopping transforms: %w", serr))
	}
	p.log.Info("stopped consuming and transforming; closing the warehouse")
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
