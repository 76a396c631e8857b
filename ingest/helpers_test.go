package ingest_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pulsekpi/pulse/broker"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/warehouse"
)

var topics = []string{"crm.events", "finance.events", "ticket.events"}

func testLogger() *slog.Logger {
	if os.Getenv("PULSE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startBroker(t testing.TB) *broker.Broker {
	t.Helper()
	b, err := broker.Start(broker.Options{Topics: topics, Partitions: 3, MinSessionTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func openWarehouse(t testing.TB, dir string) *warehouse.Warehouse {
	t.Helper()
	w, err := warehouse.Open(context.Background(), warehouse.Options{Dir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// produce writes messages with kafka-go, as any producer would.
func produce(t testing.TB, addrs []string, msgs ...kafka.Message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(addrs...), Balancer: &kafka.Hash{}, BatchSize: 1000,
		BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for len(msgs) > 0 {
		n := min(len(msgs), 5000)
		if err := w.WriteMessages(ctx, msgs[:n]...); err != nil {
			t.Errorf("producing: %v", err) // Errorf: produce may run in a goroutine
			return
		}
		msgs = msgs[n:]
	}
}

// runIngest starts ingest in the background and returns a stop function
// that waits for it to finish.
func runIngest(t testing.TB, w *warehouse.Warehouse, addrs []string, mod func(*ingest.Options)) (stop func()) {
	t.Helper()
	opts := testOptions(addrs)
	if mod != nil {
		mod(&opts)
	}
	in := ingest.New(w, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ingest: %v", err)
		}
	}
}

func count(t testing.TB, db *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s (last: %s)", timeout, what, last)
}

// handled is the number of messages ingest has accounted for: stored,
// refused or skipped as duplicates.
func handled(t testing.TB, db *sql.DB) int64 {
	return count(t, db, `SELECT coalesce(sum(stored_events + refused_events + duplicate_events), 0) FROM ops.kafka_offsets`)
}

func waitHandled(t testing.TB, db *sql.DB, n int64) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("%d messages handled", n), func() (bool, string) {
		h := handled(t, db)
		return h >= n, fmt.Sprint(h)
	})
}

func ev(id, typ, occurred string, data string) []byte {
	return []byte(fmt.Sprintf(`{"event_id":%q,"event_type":%q,"occurred_at":%q,"data":%s}`, id, typ, occurred, data))
}

func testOptions(addrs []string) ingest.Options {
	return ingest.Options{Brokers: addrs, Topics: topics, GroupID: "test", FlushInterval: 50 * time.Millisecond,
		SessionTimeout: time.Second, RebalanceTimeout: time.Second,
		HeartbeatInterval: 100 * time.Millisecond, Logger: testLogger()}
}
