package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/warehouse"
)

// TestMain doubles as the pipeline process of the crash test: with
// PULSE_CRASH_CHILD set, the test binary runs ingest until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("PULSE_CRASH_CHILD"); dir != "" {
		if err := crashChild(dir, os.Getenv("PULSE_CRASH_BROKER")); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func crashChild(dir, addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: dir, Logger: testLogger()})
	if err != nil {
		return err
	}
	opts := testOptions([]string{addr})
	// Small batches so that kills land mid-batch, mid-flush and between.
	opts.FlushRows = 5000
	err = ingest.New(w, opts).Run(ctx)
	return errors.Join(err, w.Close())
}

// TestCrashSafety kills the pipeline process with SIGKILL at random moments
// while 200,000+ events stream in, restarting it each time. At the end
// every produced event is stored exactly once, every bad one refused once,
// and the stored offsets equal the high-water marks.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs in the full suite")
	}
	const total, kills = 210_000, 12
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	b := startBroker(t)
	dir := t.TempDir()

	// The stream: valid events of several types, some bad ones, and some
	// producer retries (the same event_id again, later).
	var msgs []kafka.Message
	valid, bad := 0, 0
	for i := range total {
		key := []byte(fmt.Sprintf("C%d", i%997))
		var v []byte
		switch {
		case i%500 == 499:
			v = []byte(fmt.Sprintf(`{"event_id":"bad-%d","event_type":"user.login"}`, i))
			bad++
		case i%1000 == 7 && i > 1000:
			v = ev(fmt.Sprintf("ev-%d", i-1001), "user.login", "2026-10-14T09:30:00Z", `{"employee_id":"E1"}`) // a retry
		default:
			v = ev(fmt.Sprintf("ev-%d", i), "user.login", "2026-10-14T09:30:00Z", `{"employee_id":"E1"}`)
			valid++
		}
		msgs = append(msgs, kafka.Message{Topic: topics[i%3], Key: key, Value: v})
	}
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; i < len(msgs); i += 30_000 {
			produce(t, b.Addrs(), msgs[i:min(i+30_000, len(msgs))]...)
		}
	}()

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "PULSE_CRASH_CHILD="+dir, "PULSE_CRASH_BROKER="+b.Addrs()[0])
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	for k := range kills {
		cmd := start()
		time.Sleep(time.Duration(300+rng.IntN(1700)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		t.Logf("kill %d done", k+1)
	}
	<-produced
	cmd := start()
	hwms, err := ingest.HighWaterMarks(context.Background(), b.Addrs(), topics, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, h := range hwms {
		want += h
	}
	if want != total {
		t.Fatalf("broker holds %d messages, produced %d", want, total)
	}
	// Read-only peeks at the file are not possible while the child holds
	// it, so let the child finish, stop it gracefully and then look.
	waitChild(t, cmd, dir, b.Addrs(), want)
	w := openWarehouse(t, dir)
	defer w.Close()
	db := w.DB()
	if n := count(t, db, `SELECT count(*) FROM raw.user_login`); n != int64(valid) {
		t.Errorf("stored %d events, want %d", n, valid)
	}
	if n := count(t, db, `SELECT count(*) - count(DISTINCT event_id) FROM raw.user_login`); n != 0 {
		t.Errorf("%d events stored twice", n)
	}
	if n := count(t, db, `SELECT count(*) FROM ops.refused_events`); n != int64(bad) {
		t.Errorf("refused %d, want %d", n, bad)
	}
	if n := count(t, db, `SELECT count(*) - count(DISTINCT (kafka_topic, kafka_partition, kafka_offset)) FROM ops.refused_events`); n != 0 {
		t.Errorf("%d refusals stored twice", n)
	}
	for tp, next := range w.NextOffsets() {
		if hwm := hwms[tp]; next != hwm {
			t.Errorf("%s: stored offset %d, high-water mark %d", tp, next, hwm)
		}
	}
	if len(w.NextOffsets()) != len(hwms) {
		t.Errorf("offsets stored for %d partitions, broker has %d", len(w.NextOffsets()), len(hwms))
	}
}

// waitChild waits until the child has stored up to the high-water marks,
// judged by its Kafka commits, then stops it with SIGTERM.
func waitChild(t *testing.T, cmd *exec.Cmd, dir string, addrs []string, want int64) {
	t.Helper()
	client := &kafka.Client{Addr: kafka.TCP(addrs...)}
	deadline := time.Now().Add(90 * time.Second)
	var committed int64
	for {
		if time.Now().After(deadline) {
			t.Errorf("pipeline committed %d of %d messages in 90s", committed, want)
			break
		}
		res, err := client.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: "test"})
		if err == nil {
			committed = 0
			for _, parts := range res.Topics {
				for _, p := range parts {
					if p.CommittedOffset > 0 {
						committed += p.CommittedOffset
					}
				}
			}
			if committed >= want {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pipeline did not stop cleanly: %v", err)
	}
}
