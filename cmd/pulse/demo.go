package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/broker"
	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/generate"
)

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo")
	sf := addSettingFlags(fs, "data", "addr", "timezone", "log-level")
	brokerPort := fs.Int("broker-port", 9092, "port of the embedded broker (another free port is used if it is taken)")
	gf := addGeneratorFlags(fs, config.Default().Generator)
	dataFlag := fs.Lookup("data")
	dataFlag.Usage = "keep the demo's data (DuckDB file and broker log) in this folder, to carry on after a restart (default: a new temporary folder)"
	dataFlag.DefValue = ""
	cfg, err := sf.parse(args, e.environ)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	if !sf.given("data", e.environ) {
		// A demo starts from scratch unless told where to keep its data.
		if cfg.Data, err = os.MkdirTemp("", "pulse-demo-"); err != nil {
			return err
		}
	}
	brokerOpts := broker.Options{Port: *brokerPort, Topics: cfg.Topics.All(), Logger: log.With("component", "broker")}
	// The broker's log lives beside the database so that a demo restarted
	// on the same folder finds the offsets DuckDB remembers.
	brokerOpts.DataDir = filepath.Join(cfg.Data, "broker")
	b, err := broker.Start(brokerOpts)
	if err != nil {
		brokerOpts.Port = 0
		if b, err = broker.Start(brokerOpts); err != nil {
			return err
		}
	}
	defer b.Close()
	cfg.Brokers = b.Addrs()
	cfg.Kafka = config.Default().Kafka // the embedded broker speaks plain TCP
	if cfg.AdminToken == "" {
		cfg.AdminToken = randomToken()
	}
	p, err := newPipeline(ctx, cfg, log)
	if err != nil {
		return err
	}
	genOpts, err := gf.options(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, `Pulse demo
  web:       http://%s
  API token: %s   (curl -H 'Authorization: Bearer %s' http://%s/api/ingest/status)
  broker:    %v   (Kafka protocol; topics %v)
  database:  %s   (open it with the duckdb CLI after stopping the demo)
Generating %d days of history for %d employees, then %.0f events/s live. Ctrl-C stops.
`, displayAddr(p.srv.Addr()), cfg.AdminToken, cfg.AdminToken, displayAddr(p.srv.Addr()), b.Addrs(), cfg.Topics.All(),
		p.wh.Path(), genOpts.Days, genOpts.Employees, *gf.rate)

	go demoSignIns(ctx, e, p)

	genCtx, stopGen := context.WithCancel(ctx)
	genDone := make(chan error, 1)
	go func() {
		genDone <- demoGenerate(genCtx, e, generate.New(genOpts), generate.NewKafkaSink(cfg.Brokers, nil), *gf.rate, len(p.wh.NextOffsets()) > 0)
	}()
	err = p.run(ctx)
	stopGen()
	genErr := <-genDone
	return errors.Join(err, genErr)
}

func demoGenerate(ctx context.Context, e *env, g *generate.Generator, sink *generate.KafkaSink, rate float64, resumed bool) error {
	defer sink.Close()
	if !resumed {
		start := time.Now()
		n, err := g.History(ctx, sink)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("generating history: %w", err)
		}
		fmt.Fprintf(e.stdout, "history: %d events published in %s; going live\n", n, time.Since(start).Round(time.Millisecond))
	}
	if rate <= 0 {
		return nil
	}
	if _, err := g.Live(ctx, sink, rate); err != nil && ctx.Err() == nil {
		return fmt.Errorf("generating live events: %w", err)
	}
	return nil
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// displayAddr turns ":8080" into "localhost:8080" for people to click.
func displayAddr(addr string) string {
	if len(addr) > 0 && addr[0] == ':' {
		return "localhost" + addr
	}
	if len(addr) > 5 && addr[:5] == "[::]:" {
		return "localhost:" + addr[5:]
	}
	return addr
}

// demoSignIns creates a user of each role once the history's employees
// are in the warehouse (so that the manager and the employee are real
// people of the generated company) and prints their sign-ins.
func demoSignIns(ctx context.Context, e *env, p *pipeline) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for tries := 0; tries < 600; tries++ {
		var n int
		err := p.wh.DB().QueryRowContext(ctx, `SELECT count(*) FROM staging.employees`).Scan(&n)
		if err == nil && n > 0 {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	creds, err := auth.DemoUsers(ctx, p.users, p.wh.DB())
	if err != nil {
		p.log.Error("creating the demo users", "err", err)
		return
	}
	var b strings.Builder
	b.WriteString("Demo sign-ins (POST /api/session {\"login\": …, \"password\": …}):\n")
	for _, c := range creds {
		fmt.Fprintf(&b, "  %-10s %-14s password %s\n", string(c.Role), c.Login, c.Password)
	}
	fmt.Fprint(e.stdout, b.String())
}
