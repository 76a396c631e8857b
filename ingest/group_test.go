package ingest_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/pulsekpi/pulse/broker"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/internal/tcpproxy"
	"github.com/pulsekpi/pulse/kafkaconn"
	"github.com/pulsekpi/pulse/warehouse"
)

func logins(from, n int) []kafka.Message {
	msgs := make([]kafka.Message, n)
	for i := range n {
		id := from + i
		msgs[i] = kafka.Message{Topic: topics[id%3], Key: []byte(fmt.Sprintf("E%d", id%101)),
			Value: ev(fmt.Sprintf("login-%d", id), "user.login", "2026-10-14T09:30:00Z", `{"employee_id":"E1"}`)}
	}
	return msgs
}

// checkExactlyOnce asserts every produced login is stored once and the
// stored offsets equal the brokers' high-water marks.
func checkExactlyOnce(t *testing.T, w *warehouse.Warehouse, addrs []string, total int, transport *kafka.Transport) {
	t.Helper()
	db := w.DB()
	if n := count(t, db, `SELECT count(*) FROM raw.user_login`); n != int64(total) {
		t.Errorf("stored %d events, want %d", n, total)
	}
	if n := count(t, db, `SELECT count(DISTINCT event_id) FROM raw.user_login`); n != int64(total) {
		t.Errorf("%d distinct events, want %d", n, total)
	}
	hwms, err := ingest.HighWaterMarks(context.Background(), addrs, topics, transport)
	if err != nil {
		t.Fatal(err)
	}
	next := w.NextOffsets()
	for tp, hwm := range hwms {
		if next[tp] != hwm {
			t.Errorf("%s: stored offset %d, high-water mark %d", tp, next[tp], hwm)
		}
	}
}

// TestConsumerJoinsAndLeaves: a second consumer joins the group mid-stream
// (taking over some partitions) and later leaves (handing them back). No
// event is lost or stored twice.
func TestConsumerJoinsAndLeaves(t *testing.T) {
	b := startBroker(t)
	w := openWarehouse(t, t.TempDir())
	defer w.Close()
	const step = 20_000
	produce(t, b.Addrs(), logins(0, step)...)
	stopA := runIngest(t, w, b.Addrs(), func(o *ingest.Options) { o.FlushRows = 2000 })
	waitFor(t, 30*time.Second, "first consumer storing", func() (bool, string) {
		h := handled(t, w.DB())
		return h > 0, fmt.Sprint(h)
	})

	regB := prometheus.NewRegistry()
	second := ingest.New(w, func() ingest.Options {
		o := testOptions(b.Addrs())
		o.FlushRows, o.Metrics = 2000, ingest.NewMetrics(regB)
		return o
	}())
	ctxB, cancelB := context.WithCancel(context.Background())
	doneB := make(chan error, 1)
	go func() { doneB <- second.Run(ctxB) }()
	waitFor(t, 30*time.Second, "second consumer joined", func() (bool, string) { return second.Ready(), "" })
	// Both consumers share the partitions now; the next step is split.
	produce(t, b.Addrs(), logins(step, step)...)
	waitHandled(t, w.DB(), 2*step)
	if n := storedBy(t, regB); n == 0 {
		t.Error("the second consumer stored nothing: it never took partitions over")
	}
	cancelB()
	if err := <-doneB; err != nil {
		t.Fatalf("second consumer: %v", err)
	}
	// The first takes every partition back.
	produce(t, b.Addrs(), logins(2*step, step)...)
	waitHandled(t, w.DB(), 3*step)
	stopA()
	checkExactlyOnce(t, w, b.Addrs(), 3*step, nil)
}

// storedBy sums what one ingest instance's metrics say it stored.
func storedBy(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "pulse_ingest_messages_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == "stored" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

func newProxy(t *testing.T, target string) *tcpproxy.Proxy {
	p, err := tcpproxy.Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.Start(target)
	return p
}

// TestBrokerConnectionCut: every connection to the broker is cut and new
// ones refused for a few seconds mid-stream; ingest resumes by itself and
// nothing is lost or doubled.
func TestBrokerConnectionCut(t *testing.T) {
	b := startBroker(t)
	px := newProxy(t, b.Addrs()[0])
	w := openWarehouse(t, t.TempDir())
	defer w.Close()
	dialer := &kafka.Dialer{Timeout: 2 * time.Second, DialFunc: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, px.Addr().String())
	}}
	const step = 20_000
	produce(t, b.Addrs(), logins(0, step)...)
	stop := runIngest(t, w, []string{px.Addr().String()}, func(o *ingest.Options) { o.Dialer = dialer; o.FlushRows = 2000 })
	waitFor(t, 30*time.Second, "ingest storing", func() (bool, string) {
		h := handled(t, w.DB())
		return h > 0, fmt.Sprint(h)
	})
	px.SetCut(true)
	produce(t, b.Addrs(), logins(step, step)...)
	time.Sleep(3 * time.Second)
	cutAt := handled(t, w.DB())
	px.SetCut(false)
	produce(t, b.Addrs(), logins(2*step, step)...)
	waitHandled(t, w.DB(), 3*step)
	stop()
	if cutAt >= 3*step {
		t.Errorf("ingest handled everything (%d) while the connection was cut", cutAt)
	}
	checkExactlyOnce(t, w, b.Addrs(), 3*step, nil)
}

// TestStatus reports stored offsets against the broker's high-water marks,
// and says so when the warehouse is ahead of the broker (a recreated topic).
func TestStatus(t *testing.T) {
	b := startBroker(t)
	w := openWarehouse(t, t.TempDir())
	defer w.Close()
	produce(t, b.Addrs(), logins(0, 30)...)
	stop := runIngest(t, w, b.Addrs(), nil)
	waitHandled(t, w.DB(), 30)
	stop()
	produce(t, b.Addrs(), logins(30, 6)...) // not consumed: lag
	st, err := ingest.New(w, testOptions(b.Addrs())).Status(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	var lag, stored int64
	for _, p := range st.Partitions {
		if p.Lag == nil || p.HighWaterMark == nil || p.Problem != "" {
			t.Fatalf("partition %s/%d: %+v", p.Topic, p.Partition, p)
		}
		lag += *p.Lag
		stored += p.StoredEvents
	}
	if len(st.Partitions) != 9 || lag != 6 || stored != 30 {
		t.Errorf("%d partitions, lag %d, stored %d; want 9, 6, 30", len(st.Partitions), lag, stored)
	}
	// The same warehouse against a new, empty broker.
	fresh := startBroker(t)
	st, err = ingest.New(w, testOptions(fresh.Addrs())).Status(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	problems := 0
	for _, p := range st.Partitions {
		if strings.Contains(p.Problem, "recreated") {
			problems++
		}
	}
	if problems == 0 {
		t.Errorf("no partition flagged as ahead of the broker: %+v", st.Partitions)
	}
}

// TestSASL: ingest authenticates to a broker that requires SASL, with each
// mechanism Pulse speaks; a wrong password gets nothing.
func TestSASL(t *testing.T) {
	users := []broker.SASLUser{
		{Mechanism: "PLAIN", User: "plain-user", Password: "p1"},
		{Mechanism: "SCRAM-SHA-256", User: "scram256", Password: "p2"},
		{Mechanism: "SCRAM-SHA-512", User: "scram512", Password: "p3"},
	}
	b, err := broker.Start(broker.Options{Topics: topics, MinSessionTimeout: 100 * time.Millisecond, SASLUsers: users})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	admin := kafkaconn.Options{SASLMechanism: "plain", SASLUsername: "plain-user", SASLPassword: "p1"}
	transport, err := admin.Transport()
	if err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Addrs()...), Transport: transport, Balancer: &kafka.Hash{}, BatchTimeout: 5 * time.Millisecond}
	if err := w.WriteMessages(context.Background(), logins(0, 60)...); err != nil {
		t.Fatalf("producing with SASL: %v", err)
	}
	w.Close()

	bad := kafkaconn.Options{SASLMechanism: "scram-sha-256", SASLUsername: "scram256", SASLPassword: "wrong"}
	badTransport, _ := bad.Transport()
	if _, err := ingest.HighWaterMarks(context.Background(), b.Addrs(), topics, badTransport); err == nil {
		t.Error("a wrong password was let in")
	}
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		t.Run(mech, func(t *testing.T) {
			u := users[map[string]int{"plain": 0, "scram-sha-256": 1, "scram-sha-512": 2}[mech]]
			conn := kafkaconn.Options{SASLMechanism: mech, SASLUsername: u.User, SASLPassword: u.Password}
			dialer, err := conn.Dialer()
			if err != nil {
				t.Fatal(err)
			}
			tr, _ := conn.Transport()
			w := openWarehouse(t, t.TempDir())
			defer w.Close()
			stop := runIngest(t, w, b.Addrs(), func(o *ingest.Options) {
				o.Dialer, o.Transport, o.GroupID = dialer, tr, "sasl-"+mech
			})
			waitHandled(t, w.DB(), 60)
			stop()
			checkExactlyOnce(t, w, b.Addrs(), 60, tr)
		})
	}
}
