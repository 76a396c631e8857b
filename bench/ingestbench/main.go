// Command ingestbench measures ingest as the ingest issue asks, in one run:
//
//	(a) consume-only throughput with ingest's own kafka-go settings,
//	(b) end-to-end throughput into a DuckDB file (decode, Arrow, store),
//	(c) a naive baseline: encoding/json into a map and one INSERT per row,
//
// all over the same generated events; then raw-table freshness (produce →
// visible) at a steady rate, and the pipeline process's RSS while it drains
// a large backlog. The broker runs in a child process (this binary with
// -role broker) so that its memory is not counted; the backlog drain runs in
// another child (-role pipeline) whose RSS is sampled from /proc.
//
//	GOMAXPROCS=2 go run -tags duckdb_arrow ./bench/ingestbench
package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulsekpi/pulse/broker"
	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/generate"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/warehouse"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

type flags struct {
	role        string
	port        int
	brokers     string
	data        string
	topics      string
	events      int
	backlog     int
	naive       int
	freshRate   int
	freshFor    time.Duration
	skipBacklog bool
	skipFresh   bool
	skipNaive   bool
	cpuProfile  string
	flushRows   int
	ckpt        string
	threads     int
	memLimit    string
	skipMain    bool
}

func run() error {
	var f flags
	flag.StringVar(&f.role, "role", "bench", "bench, broker (child) or pipeline (child)")
	flag.IntVar(&f.port, "port", 0, "broker port (child)")
	flag.StringVar(&f.brokers, "brokers", "", "brokers (pipeline child)")
	flag.StringVar(&f.data, "data", "", "data folder (pipeline child)")
	flag.StringVar(&f.topics, "topics", "", "topics (pipeline child)")
	flag.IntVar(&f.events, "events", 2_000_000, "events for (a), (b) and (c)")
	flag.IntVar(&f.backlog, "backlog", 5_000_000, "events in the backlog drained for the RSS measurement")
	flag.IntVar(&f.naive, "naive", 100_000, "events the naive baseline inserts (it is slow)")
	flag.IntVar(&f.freshRate, "fresh-rate", 10_000, "events/s for the freshness measurement")
	flag.DurationVar(&f.freshFor, "fresh-for", 30*time.Second, "how long to measure freshness")
	flag.BoolVar(&f.skipBacklog, "skip-backlog", false, "skip the backlog RSS measurement")
	flag.BoolVar(&f.skipFresh, "skip-fresh", false, "skip the freshness measurement")
	flag.BoolVar(&f.skipNaive, "skip-naive", false, "skip the naive baseline")
	flag.StringVar(&f.ckpt, "checkpoint-threshold", config.Default().Warehouse.CheckpointThreshold, "warehouse.checkpoint_threshold")
	flag.BoolVar(&f.skipMain, "skip-main", false, "skip (a), (b) and (c)")
	flag.IntVar(&f.threads, "threads", config.Default().Warehouse.Threads, "warehouse.threads (0: all cores)")
	flag.StringVar(&f.memLimit, "memory-limit", config.Default().Warehouse.MemoryLimit, "warehouse.memory_limit")
	flag.IntVar(&f.flushRows, "flush-rows", 0, "ingest.flush_rows for (b) (0: the default)")
	flag.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the end-to-end run (b) here")
	flag.Parse()
	switch f.role {
	case "broker":
		return childBroker(f.port)
	case "pipeline":
		return childPipeline(f)
	}
	return bench(f)
}

func childBroker(port int) error {
	b, err := broker.Start(broker.Options{Port: port, Partitions: 3})
	if err != nil {
		return err
	}
	fmt.Println(b.Addrs()[0])
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return b.Run(ctx)
}

func childPipeline(f flags) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: f.data, Threads: f.threads, MemoryLimit: f.memLimit, CheckpointThreshold: f.ckpt})
	if err != nil {
		return err
	}
	err = ingest.New(w, ingest.Options{Brokers: []string{f.brokers}, Topics: strings.Split(f.topics, ","), GroupID: "backlog"}).Run(ctx)
	// Where the memory is, for the report.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "pipeline at exit: Go heap in use %d MB, Go sys %d MB", ms.HeapInuse>>20, ms.Sys>>20)
	if rows, qerr := w.DB().Query(`SELECT tag, memory_usage_bytes >> 20 FROM duckdb_memory() WHERE memory_usage_bytes > 1 << 20 ORDER BY 2 DESC`); qerr == nil {
		for rows.Next() {
			var tag string
			var mb int64
			rows.Scan(&tag, &mb)
			fmt.Fprintf(os.Stderr, ", DuckDB %s %d MB", tag, mb)
		}
		rows.Close()
	}
	fmt.Fprintln(os.Stderr)
	return errors.Join(err, w.Close())
}

// result is one line of the report.
type result struct {
	name   string
	events int
	took   time.Duration
}

func (r result) rate() float64 { return float64(r.events) / r.took.Seconds() }

func bench(f flags) error {
	tmp, err := os.MkdirTemp("", "ingestbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	brokerCmd := exec.Command(self, "-role", "broker")
	out, err := brokerCmd.StdoutPipe()
	if err != nil {
		return err
	}
	brokerCmd.Stderr = os.Stderr
	if err := brokerCmd.Start(); err != nil {
		return err
	}
	defer func() { brokerCmd.Process.Signal(syscall.SIGTERM); brokerCmd.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("broker did not start: %w", err)
	}
	addr = strings.TrimSpace(addr)
	fmt.Printf("# ingest benchmark, %s, GOMAXPROCS=%d, %d CPUs, %s\n", time.Now().Format("2006-01-02"), runtime.GOMAXPROCS(0), runtime.NumCPU(), cpuModel())
	fmt.Printf("broker: kfake in a child process at %s; warehouse.threads=%d, memory_limit=%q\n\n", addr, f.threads, f.memLimit)

	if !f.skipMain {
		if err := throughput(f, addr, tmp); err != nil {
			return err
		}
	}
	if !f.skipFresh {
		if err := freshness(addr, f, filepath.Join(tmp, "fresh")); err != nil {
			return fmt.Errorf("freshness: %w", err)
		}
	}
	if !f.skipBacklog {
		if err := backlogRSS(self, addr, f, filepath.Join(tmp, "backlog")); err != nil {
			return fmt.Errorf("backlog: %w", err)
		}
	}
	return nil
}

// throughput runs (a), (b) and (c) on the same events.
func throughput(f flags, addr, tmp string) error {
	main := []string{"b.crm", "b.finance", "b.ticket"}
	start := time.Now()
	if err := produceGenerated(addr, main, f.events, 1); err != nil {
		return err
	}
	fmt.Printf("produced %d generated events in %s\n", f.events, time.Since(start).Round(time.Millisecond))

	a, err := consumeOnly(addr, main, f.events)
	if err != nil {
		return fmt.Errorf("consume-only: %w", err)
	}
	fmt.Printf("(a) consume-only:  %9.0f events/s (%d in %s)\n", a.rate(), a.events, a.took.Round(time.Millisecond))
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	b, err := endToEnd(addr, main, f.events, f.flushRows, f.threads, f.memLimit, f.ckpt, filepath.Join(tmp, "e2e"))
	if f.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return fmt.Errorf("end-to-end: %w", err)
	}
	fmt.Printf("(b) end-to-end:    %9.0f events/s (%d in %s)\n", b.rate(), b.events, b.took.Round(time.Millisecond))
	fmt.Printf("ratio: end-to-end / consume-only = %.2f\n", b.rate()/a.rate())
	if !f.skipNaive {
		c, err := naive(addr, main, f.naive, filepath.Join(tmp, "naive"))
		if err != nil {
			return fmt.Errorf("naive: %w", err)
		}
		fmt.Printf("(c) naive rows:    %9.0f events/s (%d in %s)\n", c.rate(), c.events, c.took.Round(time.Millisecond))
		fmt.Printf("ratio: end-to-end / naive = %.1f\n\n", b.rate()/c.rate())
	}
	return nil
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			_, v, _ := strings.Cut(line, ":")
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// produceGenerated writes n generated events with franz-go (the fastest
// producer at hand; producing is not what is measured).
func produceGenerated(addr string, topics []string, n int, seed int64) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation(),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(100_000), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	route := map[string]string{"crm.events": topics[0], "finance.events": topics[1], "ticket.events": topics[2]}
	g := generate.New(generate.Options{Seed: seed, Now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
	var firstErr atomic.Value
	ctx := context.Background()
	err = g.Stream(n, func(m generate.Message) error {
		if e := firstErr.Load(); e != nil {
			return e.(error)
		}
		cl.Produce(ctx, &kgo.Record{Topic: route[m.Topic], Key: m.Key, Value: m.Value}, func(_ *kgo.Record, err error) {
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		})
		return nil
	})
	if err != nil {
		return err
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	if e := firstErr.Load(); e != nil {
		return e.(error)
	}
	return nil
}

// consumeOnly reads n messages through a kafka-go consumer group with the
// reader settings ingest uses, doing nothing with them.
func consumeOnly(addr string, topics []string, n int) (result, error) {
	opts := ingest.Options{Brokers: []string{addr}, Topics: topics}
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{ID: "consume-only", Brokers: []string{addr}, Topics: topics,
		HeartbeatInterval: time.Second, SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second})
	if err != nil {
		return result{}, err
	}
	defer group.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	gen, err := group.Next(ctx)
	if err != nil {
		return result{}, err
	}
	var count atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	msgs := make(chan kafka.Message, 10000)
	for topic, parts := range gen.Assignments {
		for _, p := range parts {
			cfg := ingest.ReaderConfig(opts, warehouse.TopicPartition{Topic: topic, Partition: p.ID})
			gen.Start(func(gctx context.Context) {
				r := kafka.NewReader(cfg)
				defer r.Close()
				r.SetOffset(kafka.FirstOffset)
				for {
					m, err := r.FetchMessage(gctx)
					if err != nil {
						return
					}
					select {
					case msgs <- m:
					case <-gctx.Done():
						return
					}
				}
			})
		}
	}
	// One goroutine takes the messages, as ingest's batcher does.
	go func() {
		for m := range msgs {
			_ = m
			if count.Add(1) == int64(n) {
				once.Do(func() { close(done) })
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		return result{}, fmt.Errorf("read %d of %d", count.Load(), n)
	}
	return result{"consume-only", n, time.Since(start)}, nil
}

func endToEnd(addr string, topics []string, n, flushRows, threads int, memLimit, ckpt, dir string) (result, error) {
	ctx, cancel := context.WithCancel(context.Background())
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: dir, CheckpointThreshold: ckpt, Threads: threads, MemoryLimit: memLimit})
	if err != nil {
		cancel()
		return result{}, err
	}
	in := ingest.New(w, ingest.Options{Brokers: []string{addr}, Topics: topics, GroupID: "e2e", FlushRows: flushRows})
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	took, err := waitStored(w, n, 10*time.Minute)
	cancel()
	err = errors.Join(err, <-done, w.Close())
	return result{"end-to-end", n, took}, err
}

// waitStored waits until the warehouse's offsets cover n messages and
// returns the time since it was called.
func waitStored(w *warehouse.Warehouse, n int, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < limit {
		var sum int64
		for _, o := range w.NextOffsets() {
			sum += o
		}
		if sum >= int64(n) {
			return time.Since(start), nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("not stored within %s", limit)
}

// naive is what one would write first: read a message, unmarshal it into a
// map, insert one row with a prepared statement, commit per row.
func naive(addr string, topics []string, n int, dir string) (result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	db, err := sql.Open("duckdb", filepath.Join(dir, "naive.duckdb"))
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE events (event_id VARCHAR, event_type VARCHAR, occurred_at TIMESTAMPTZ,
		recorded_at TIMESTAMPTZ, data JSON, topic VARCHAR, partition INTEGER, "offset" BIGINT)`); err != nil {
		return result{}, err
	}
	stmt, err := db.Prepare(`INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return result{}, err
	}
	defer stmt.Close()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, GroupTopics: topics, GroupID: "naive",
		StartOffset: kafka.FirstOffset, MaxBytes: 16 << 20, QueueCapacity: 10000, CommitInterval: time.Second})
	defer r.Close()
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < n; i++ {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return result{}, err
		}
		var ev map[string]any
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			continue
		}
		occurred, _ := time.Parse(time.RFC3339, fmt.Sprint(ev["occurred_at"]))
		recorded := occurred
		if s, ok := ev["recorded_at"].(string); ok {
			recorded, _ = time.Parse(time.RFC3339, s)
		}
		data, _ := json.Marshal(ev["data"])
		if _, err := stmt.Exec(ev["event_id"], ev["event_type"], occurred, recorded, string(data), m.Topic, m.Partition, m.Offset); err != nil {
			return result{}, err
		}
	}
	return result{"naive", n, time.Since(start)}, nil
}

// freshness produces at a steady rate and measures, for a sample of the
// events, the time from handing the event to the producer to the moment the
// warehouse has committed it (NextOffsets moves past it).
func freshness(addr string, f flags, dir string) error {
	rate, dur := f.freshRate, f.freshFor
	topics := []string{"f.crm", "f.finance", "f.ticket"}
	route := map[string]string{"crm.events": topics[0], "finance.events": topics[1], "ticket.events": topics[2]}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: dir, Threads: f.threads, MemoryLimit: f.memLimit, CheckpointThreshold: f.ckpt})
	if err != nil {
		return err
	}
	in := ingest.New(w, ingest.Options{Brokers: []string{addr}, Topics: topics, GroupID: "fresh", Logger: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	for !in.Ready() {
		time.Sleep(10 * time.Millisecond)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer cl.Close()

	type sample struct {
		tp      warehouse.TopicPartition
		offset  int64
		sent    time.Time
		visible time.Time
	}
	var mu sync.Mutex
	var samples []*sample
	g := generate.New(generate.Options{Seed: 99, Now: time.Now()})
	events := g.Events(rate*int(dur.Seconds()) + rate)
	next, stopIter := iter.Pull(events)
	defer stopIter()
	// markVisible stamps the samples the warehouse has committed and
	// returns how many are still pending.
	markVisible := func() int {
		now := time.Now()
		offsets := w.NextOffsets()
		pending := 0
		mu.Lock()
		defer mu.Unlock()
		for _, s := range samples {
			if s.visible.IsZero() {
				if offsets[s.tp] > s.offset {
					s.visible = now
				} else {
					pending++
				}
			}
		}
		return pending
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	begin := time.Now()
	end := begin.Add(dur)
	i := 0
	for time.Now().Before(end) {
		<-tick.C
		due := int(time.Since(begin).Seconds() * float64(rate))
		for i < due {
			m, ok := next()
			if !ok {
				break
			}
			i++
			sent := time.Now()
			sampled := i%10 == 0
			cl.Produce(ctx, &kgo.Record{Topic: route[m.Topic], Key: m.Key, Value: m.Value}, func(r *kgo.Record, err error) {
				if err != nil || !sampled {
					return
				}
				mu.Lock()
				samples = append(samples, &sample{tp: warehouse.TopicPartition{Topic: r.Topic, Partition: int(r.Partition)}, offset: r.Offset, sent: sent})
				mu.Unlock()
			})
		}
		markVisible() // as we go, every tick: ~10 ms resolution
	}
	// Let the last ones land.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if markVisible() == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	err = errors.Join(<-done, w.Close())
	var lat []float64
	for _, s := range samples {
		if !s.visible.IsZero() {
			lat = append(lat, s.visible.Sub(s.sent).Seconds()*1000)
		}
	}
	sort.Float64s(lat)
	if len(lat) == 0 {
		return errors.Join(err, errors.New("no samples"))
	}
	pct := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("freshness at %d events/s for %s (%d events, %d samples): p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms\n\n",
		rate, dur, i, len(lat), pct(0.50), pct(0.95), pct(0.99), lat[len(lat)-1])
	return err
}

// backlogRSS fills a backlog, then starts the pipeline in a child process and
// samples its RSS while it drains.
func backlogRSS(self, addr string, f flags, dir string) error {
	n := f.backlog
	topics := []string{"bl.crm", "bl.finance", "bl.ticket"}
	start := time.Now()
	if err := produceGenerated(addr, topics, n, 7); err != nil {
		return err
	}
	fmt.Printf("backlog: produced %d events in %s\n", n, time.Since(start).Round(time.Millisecond))
	cmd := exec.Command(self, "-role", "pipeline", "-brokers", addr, "-data", dir, "-topics", strings.Join(topics, ","),
		"-threads", strconv.Itoa(f.threads), "-memory-limit", f.memLimit, "-checkpoint-threshold", f.ckpt)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	cmd.Stderr = os.Stderr
	start = time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	client := &kafka.Client{Addr: kafka.TCP(addr)}
	type point struct {
		t       time.Duration
		drained int64
		rssMB   float64
	}
	var points []point
	peak := 0.0
	for time.Since(start) < 15*time.Minute {
		rss := rssMB(cmd.Process.Pid)
		peak = max(peak, rss)
		var drained int64
		if res, err := client.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: "backlog"}); err == nil {
			for _, parts := range res.Topics {
				for _, p := range parts {
					drained += max(p.CommittedOffset, 0)
				}
			}
		}
		points = append(points, point{time.Since(start), drained, rss})
		if drained >= int64(n) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	took := time.Since(start)
	hwm := readStatus(cmd.Process.Pid, "VmHWM")
	cmd.Process.Signal(syscall.SIGTERM)
	werr := cmd.Wait()
	fmt.Printf("backlog drain: %d events in %s (%.0f events/s), peak RSS sampled %.0f MB, VmHWM %.0f MB\n",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), peak, hwm)
	fmt.Println("RSS while draining (drained events → RSS):")
	next := 0.0
	for _, p := range points {
		if float64(p.drained) >= next*float64(n) || p == points[len(points)-1] {
			fmt.Printf("  %6.1f s  %9d  %6.0f MB\n", p.t.Seconds(), p.drained, p.rssMB)
			next += 0.1
		}
	}
	return werr
}

func rssMB(pid int) float64 { return readStatus(pid, "VmRSS") }

// readStatus reads a kB figure from /proc/<pid>/status, in MB.
func readStatus(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}
