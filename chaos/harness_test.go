package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pulsekpi/pulse/broker"
	"github.com/pulsekpi/pulse/generate"
	"github.com/pulsekpi/pulse/internal/tcpproxy"
	"github.com/pulsekpi/pulse/transform"
)

var topics = []string{"crm.events", "finance.events", "ticket.events"}

const (
	partitions = 3
	token      = "chaos-admin-token"
	// maxTopicMessage is what the topics accept: more than Pulse's
	// ingest.max_message_bytes (1 MiB by default), so that an oversized
	// message reaches Pulse, as it does from a cluster configured so.
	maxTopicMessage = 8 << 20
)

// ---------------------------------------------------------------------
// The broker and the proxy in front of it.

// cluster is the embedded broker, listening on real, and the proxy that
// every connection of Pulse goes through: the broker names the proxy's
// address in its metadata, so Pulse dials the proxy even after bootstrap.
// The test's own clients (producer, high-water marks) dial real directly.
type cluster struct {
	b         *broker.Broker
	real      string
	px        *tcpproxy.Proxy
	transport *kafka.Transport // dials real whatever the metadata says
}

// advertised is a listener that reports another address than its own.
type advertised struct {
	net.Listener
	addr net.Addr
}

func (a advertised) Addr() net.Addr { return a.addr }

func startCluster(t *testing.T) *cluster {
	t.Helper()
	px, err := tcpproxy.Listen()
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{px: px}
	c.b, err = broker.Start(broker.Options{Topics: topics, Partitions: partitions, MinSessionTimeout: 100 * time.Millisecond,
		Listen: func(network, address string) (net.Listener, error) {
			ln, err := net.Listen(network, address)
			if err != nil {
				return nil, err
			}
			c.real = ln.Addr().String()
			return advertised{Listener: ln, addr: px.Addr()}, nil
		}})
	if err != nil {
		px.Close()
		t.Fatal(err)
	}
	t.Cleanup(c.b.Close)
	px.Start(c.real)
	t.Cleanup(px.Close)
	if got := c.b.Addrs(); len(got) != 1 || got[0] != px.Addr().String() {
		t.Fatalf("the broker advertises %v, not the proxy %s", got, px.Addr())
	}
	c.transport = &kafka.Transport{Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, c.real)
	}}
	// Let messages bigger than Pulse's limit into the topics.
	client := c.client()
	res := &kafka.AlterConfigsRequest{}
	for _, tp := range topics {
		res.Resources = append(res.Resources, kafka.AlterConfigRequestResource{ResourceType: kafka.ResourceTypeTopic,
			ResourceName: tp, Configs: []kafka.AlterConfigRequestConfig{{Name: "max.message.bytes", Value: fmt.Sprint(maxTopicMessage)}}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := client.AlterConfigs(ctx, res)
	if err != nil {
		t.Fatalf("raising the topics' max.message.bytes: %v", err)
	}
	for r, e := range out.Errors {
		if e != nil {
			t.Fatalf("raising max.message.bytes of %v: %v", r, e)
		}
	}
	return c
}

func (c *cluster) client() *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(c.real), Transport: c.transport, Timeout: 10 * time.Second}
}

// writer is a producer straight to the broker (not through the proxy).
func (c *cluster) writer(attempts int) *kafka.Writer {
	return &kafka.Writer{Addr: kafka.TCP(c.real), Transport: c.transport, Balancer: &kafka.Hash{},
		BatchSize: 1000, BatchBytes: 2 * maxTopicMessage, BatchTimeout: 5 * time.Millisecond,
		RequiredAcks: kafka.RequireAll, MaxAttempts: attempts}
}

// tp is a topic and partition.
type tp struct {
	Topic     string
	Partition int
}

func (p tp) String() string { return fmt.Sprintf("%s/%d", p.Topic, p.Partition) }

// hwms are the broker's high-water marks of every partition, read by the
// test's own client (not Pulse's code).
func (c *cluster) hwms(t *testing.T) map[tp]int64 {
	t.Helper()
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, topic := range topics {
		for p := range partitions {
			req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(p))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.client().ListOffsets(ctx, req)
	if err != nil {
		t.Fatalf("listing the broker's offsets: %v", err)
	}
	out := map[tp]int64{}
	for topic, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				t.Fatalf("listing offsets of %s/%d: %v", topic, p.Partition, p.Error)
			}
			out[tp{topic, p.Partition}] = p.LastOffset
		}
	}
	if len(out) != len(topics)*partitions {
		t.Fatalf("the broker listed %d partitions, want %d", len(out), len(topics)*partitions)
	}
	return out
}

func sum[K comparable](m map[K]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// ---------------------------------------------------------------------
// The Pulse process.

// pulse runs `pulse run` against the proxy, one process at a time, each
// start appending to one log file.
type pulse struct {
	t       *testing.T
	dataDir string
	addr    string
	brokers string
	logPath string
	config  string      // --config file, if any
	kills   []time.Time // when each SIGKILL was sent

	cmd    *exec.Cmd
	done   chan struct{}
	err    error // of Wait, once done is closed
	starts int
}

func newPulse(t *testing.T, dir, brokers string) *pulse {
	p := &pulse{t: t, dataDir: filepath.Join(dir, "data"), addr: freeAddr(t), brokers: brokers, logPath: filepath.Join(dir, "pulse.log")}
	t.Cleanup(func() {
		if p.running() {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("pulse's log (last 60 lines of %s):\n%s", p.logPath, tail(p.logPath, 60))
		}
	})
	return p
}

func (p *pulse) dbPath() string { return filepath.Join(p.dataDir, "pulse.duckdb") }

func (p *pulse) start() {
	p.t.Helper()
	if p.running() {
		p.t.Fatal("pulse is already running")
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.starts++
	fmt.Fprintf(logf, "=== start %d at %s\n", p.starts, time.Now().Format(time.RFC3339Nano))
	args := []string{"run", "--brokers", p.brokers, "--data", p.dataDir, "--addr", p.addr, "--log-level", "info"}
	if p.config != "" {
		args = append(args, "--config", p.config)
	}
	cmd := exec.Command(pulseBin, args...)
	cmd.Env = append(withoutPulseVars(os.Environ()),
		"PULSE_ADMIN_TOKEN="+token,
		"PULSE_INGEST_FLUSH_INTERVAL=50ms",
		// A killed member holds its partitions until its session ends.
		"PULSE_INGEST_SESSION_TIMEOUT=1s",
		"PULSE_INGEST_FLUSH_ROWS=5000", // several batches a second: kills land mid-batch and mid-commit
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		p.t.Fatalf("starting pulse: %v", err)
	}
	p.cmd, p.done, p.err = cmd, make(chan struct{}), nil
	done := p.done
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.err = err
		close(done)
	}()
}

func (p *pulse) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// checkAlive fails the test if the process has ended on its own.
func (p *pulse) checkAlive(when string) {
	p.t.Helper()
	if !p.running() {
		p.t.Fatalf("%s: pulse (start %d) has exited by itself: %v", when, p.starts, p.err)
	}
}

func (p *pulse) kill() {
	p.t.Helper()
	p.checkAlive("before SIGKILL")
	p.kills = append(p.kills, time.Now())
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatalf("SIGKILL: %v", err)
	}
	<-p.done
}

// term sends SIGTERM and returns how long the process took to exit, or
// why it was not a clean exit (status 0) within wait.
func (p *pulse) term(wait time.Duration) (time.Duration, error) {
	p.t.Helper()
	p.checkAlive("before SIGTERM")
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case <-p.done:
		took := time.Since(start)
		if p.err != nil {
			return took, fmt.Errorf("pulse exited after SIGTERM with %v", p.err)
		}
		return took, nil
	case <-time.After(wait):
		p.cmd.Process.Kill()
		<-p.done
		return wait, fmt.Errorf("pulse still running %s after SIGTERM; killed", wait)
	}
}

// waitReady waits for /readyz (DuckDB open, consumers joined).
func (p *pulse) waitReady(timeout time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		p.checkAlive("waiting for /readyz")
		res, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return time.Since(start)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("pulse (start %d) not ready after %s", p.starts, timeout)
	return 0
}

// status is GET /api/ingest/status.
type status struct {
	Partitions []struct {
		Topic        string `json:"topic"`
		Partition    int    `json:"partition"`
		StoredOffset int64  `json:"stored_offset"`
		HWM          *int64 `json:"high_water_mark"`
		Lag          *int64 `json:"lag"`
		Problem      string `json:"problem"`
	} `json:"partitions"`
	BrokerError string `json:"broker_error"`
	StoreError  string `json:"store_error"`
}

func (s status) stored() map[tp]int64 {
	out := map[tp]int64{}
	for _, p := range s.Partitions {
		out[tp{p.Topic, p.Partition}] = p.StoredOffset
	}
	return out
}

func (p *pulse) status() (status, error) {
	var st status
	err := p.call(context.Background(), http.MethodGet, "/api/ingest/status", &st)
	return st, err
}

// transformRun is POST /api/transforms/run.
func (p *pulse) transformRun(ctx context.Context, full bool) (transform.Run, error) {
	var run transform.Run
	path := "/api/transforms/run"
	if full {
		path += "?full=true"
	}
	err := p.call(ctx, http.MethodPost, path, &run)
	return run, err
}

func (p *pulse) call(ctx context.Context, method, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+p.addr+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, body)
	}
	return json.Unmarshal(body, out)
}

// waitStored waits until the warehouse has stored every partition up to
// want (as GET /api/ingest/status reads ops.kafka_offsets), and returns
// how long that took.
func (p *pulse) waitStored(want map[tp]int64, timeout time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	var last map[tp]int64
	for time.Since(start) < timeout {
		p.checkAlive("waiting for ingest to catch up")
		st, err := p.status()
		if err == nil {
			last = st.stored()
			behind := false
			for k, w := range want {
				if last[k] < w {
					behind = true
				}
			}
			if !behind {
				return time.Since(start)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("ingest did not reach %d messages (%v) in %s; stored %d (%v)", sum(want), want, timeout, sum(last), last)
	return 0
}

// ---------------------------------------------------------------------
// The producer.

// producer keeps producing generated events straight to the broker at a
// steady rate, and remembers the event_id of every event the broker
// acknowledged.
type producer struct {
	c    *cluster
	rate int
	stop chan struct{}
	done chan struct{}

	mu        sync.Mutex
	ids       []string
	err       error
	exhausted bool
}

func startProducer(c *cluster, events iter.Seq[generate.Message], rate int) *producer {
	p := &producer{c: c, rate: rate, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run(events)
	return p
}

func (p *producer) run(events iter.Seq[generate.Message]) {
	defer close(p.done)
	next, stopIter := iter.Pull(events)
	defer stopIter()
	w := p.c.writer(10)
	defer w.Close()
	const tick = 50 * time.Millisecond
	per := max(1, p.rate*int(tick)/int(time.Second))
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-ticker.C:
		}
		msgs := make([]kafka.Message, 0, per)
		ids := make([]string, 0, per)
		for range per {
			m, ok := next()
			if !ok {
				break
			}
			var env struct {
				ID string `json:"event_id"`
			}
			if err := json.Unmarshal(m.Value, &env); err != nil || env.ID == "" {
				p.fail(fmt.Errorf("the generator made an event without event_id: %q", m.Value))
				return
			}
			msgs = append(msgs, kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value})
			ids = append(ids, env.ID)
		}
		if len(msgs) == 0 {
			p.mu.Lock()
			p.exhausted = true
			p.mu.Unlock()
			return
		}
		// The broker is reached directly, never cut: a failure here is the
		// harness's, and the batch's fate is unknown, so it stops the test.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := w.WriteMessages(ctx, msgs...)
		cancel()
		if err != nil {
			p.fail(fmt.Errorf("producing %d events: %w", len(msgs), err))
			return
		}
		p.mu.Lock()
		p.ids = append(p.ids, ids...)
		p.mu.Unlock()
	}
}

func (p *producer) fail(err error) {
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
}

func (p *producer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ids)
}

// finish stops producing and returns the ids produced.
func (p *producer) finish(t *testing.T) []string {
	t.Helper()
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		t.Fatalf("producer: %v", p.err)
	}
	if p.exhausted {
		t.Logf("the producer used up its %d generated events before the rounds ended", len(p.ids))
	}
	return p.ids
}

// ---------------------------------------------------------------------
// Poison.

// poison is one message that must be refused with code (or, with code
// "", kept as an unknown type under id).
type poison struct {
	topic, key string
	value      []byte
	code       string
	id         string // the event_id of an unknown-type event
}

// poisonSet is one of each kind of poison, keyed by round.
func poisonSet(round int) []poison {
	k := func(kind string) string { return fmt.Sprintf("poison-%d-%s", round, kind) }
	at := `"occurred_at":"2026-10-14T09:30:00+08:00"`
	big := make([]byte, 2<<20) // 2 MiB of padding inside an otherwise valid event
	for i := range big {
		big[i] = 'x'
	}
	ps := []poison{
		{key: k("malformed"), value: []byte(`{"event_id":"` + k("malformed") + `","event_type":"user.login",` + at + `,"data":{"employee_id":"E1"`), code: "invalid_json"},
		{key: k("not-object"), value: []byte(`["user.login","E1"]`), code: "not_object"},
		{key: k("too-large"), value: []byte(`{"event_id":"` + k("too-large") + `","event_type":"user.login",` + at + `,"data":{"employee_id":"E1","pad":"` + string(big) + `"}}`), code: "too_large"},
		{key: k("envelope-type"), value: []byte(`{"event_id":12345,"event_type":"user.login",` + at + `,"data":{"employee_id":"E1"}}`), code: "wrong_type"},
		{key: k("field-type"), value: []byte(`{"event_id":"` + k("field-type") + `","event_type":"contract.signed",` + at + `,"data":{"contract_id":"K1","customer_id":"C1","owner_id":"E1","amount":true}}`), code: "wrong_type"},
		{key: k("missing"), value: []byte(`{"event_id":"` + k("missing") + `","event_type":"followup.logged",` + at + `,"data":{"followup_id":"F1","customer_id":"C1","channel":"phone"}}`), code: "missing_field"},
		{key: k("bad-time"), value: []byte(`{"event_id":"` + k("bad-time") + `","event_type":"user.login","occurred_at":"14/10/2026 09:30","data":{"employee_id":"E1"}}`), code: "bad_timestamp"},
		{key: k("unknown"), value: []byte(`{"event_id":"` + k("unknown") + `","event_type":"chaos.unknown_type",` + at + `,"data":{"anything":[1,2,3]}}`), id: k("unknown")},
	}
	for i := range ps {
		ps[i].topic = topics[(round+i)%len(topics)]
	}
	return ps
}

func kafkaMsg(p poison) kafka.Message {
	return kafka.Message{Topic: p.topic, Key: []byte(p.key), Value: p.value}
}

// ---------------------------------------------------------------------
// Small helpers.

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// withoutPulseVars drops PULSE_* variables so that a developer's settings
// do not reach the process under test.
func withoutPulseVars(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PULSE_") {
			out = append(out, kv)
		}
	}
	return out
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// isConnErr says whether err is the HTTP call's connection failing (the
// process died under it), not an answer.
func isConnErr(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(fmt.Sprint(err), "connection reset") || strings.Contains(fmt.Sprint(err), "EOF")
}
