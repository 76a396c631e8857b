package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
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
		if err := crashChild(dir, os.Getenv("PULSE_CRASH_BROKER"), os.Getenv("PULSE_CRASH_GROUP")); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func crashChild(dir, addr, group string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: dir, Logger: testLogger()})
	if err != nil {
		return err
	}
	opts := testOptions([]string{addr})
	opts.GroupID = group
	// Small batches so that kills land mid-batch, mid-flush and between.
	opts.FlushRows = 5000
	// Tell the test how far the warehouse has got: it cannot open the
	// file while this process holds it.
	go func() {
		for ctx.Err() == nil {
			var sum int64
			for _, o := range w.NextOffsets() {
				sum += o
			}
			tmp := filepath.Join(dir, "progress.tmp")
			if os.WriteFile(tmp, []byte(strconv.FormatInt(sum, 10)), 0o644) == nil {
				os.Rename(tmp, filepath.Join(dir, "progress"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
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
	const total, kills = 210_000, 20
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
	// Produced as a stream: a burst before each run, so that every run
	// finds work and is killed while it stores.
	burst := len(msgs)/(kills+1) + 1
	next := 0
	produceBurst := func() {
		end := min(next+burst, len(msgs))
		produce(t, b.Addrs(), msgs[next:end]...)
		next = end
	}

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		// Every run joins the same group, as a restarted process does: it
		// waits for the killed member's session (1 s here) to expire.
		cmd.Env = append(os.Environ(), "PULSE_CRASH_CHILD="+dir, "PULSE_CRASH_BROKER="+b.Addrs()[0], "PULSE_CRASH_GROUP=crash")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() }) // no orphans if the test fails
		return cmd
	}
	progress := func() int64 {
		b, _ := os.ReadFile(filepath.Join(dir, "progress"))
		n, _ := strconv.ParseInt(string(b), 10, 64)
		return n
	}
	for k := range kills {
		produceBurst()
		before := progress()
		cmd := start()
		// Kill while it works: once it has stored something (or after a
		// while, should the stream be done), at a random moment of the next
		// batches: mid-batch, mid-flush, mid-commit.
		deadline := time.Now().Add(5 * time.Second)
		for progress() <= before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		t.Logf("kill %d at %d messages stored", k+1, progress())
	}
	produceBurst()
	if next != len(msgs) {
		t.Fatalf("produced %d of %d", next, len(msgs))
	}
	// The last run goes to the end; its first progress report (written once
	// it is up, signal handler and all) replaces the killed runs' ones.
	os.Remove(filepath.Join(dir, "progress"))
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
	waitChild(t, cmd, dir, want)
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

// waitChild waits until the child reports that its warehouse has stored
// up to the high-water marks, then stops it with SIGTERM.
func waitChild(t *testing.T, cmd *exec.Cmd, dir string, want int64) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var stored int64
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "progress"))
		stored, _ = strconv.ParseInt(string(b), 10, 64)
		if stored >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("pipeline stored %d of %d messages in 90s", stored, want)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pipeline did not stop cleanly: %v", err)
	}
}

// failingStore fails every Store while failing is set, as a full disk or a
// broken database would.
type failingStore struct {
	*warehouse.Warehouse
	failing atomic.Bool
	calls   atomic.Int64
}

func (f *failingStore) Store(ctx context.Context, b *warehouse.Batch) (warehouse.Result, error) {
	f.calls.Add(1)
	if f.failing.Load() {
		return warehouse.Result{}, errors.New("IO Error: no space left on device")
	}
	return f.Warehouse.Store(ctx, b)
}

// TestStoreFailures: while the warehouse refuses to store, ingest retries
// and moves no offset; it recovers when the warehouse does, and a shutdown
// during the failure returns promptly with an error, losing nothing.
func TestStoreFailures(t *testing.T) {
	b := startBroker(t)
	dir := t.TempDir()
	w := openWarehouse(t, dir)
	fs := &failingStore{Warehouse: w}
	fs.failing.Store(true)
	produce(t, b.Addrs(), logins(0, 500)...)
	in := ingest.New(fs, testOptions(b.Addrs()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	waitFor(t, 30*time.Second, "retries", func() (bool, string) { return fs.calls.Load() >= 3, fmt.Sprint(fs.calls.Load()) })
	if n := handled(t, w.DB()); n != 0 {
		t.Fatalf("offsets moved while storing failed: %d handled", n)
	}
	fs.failing.Store(false) // the disk has room again
	waitHandled(t, w.DB(), 500)
	fs.failing.Store(true)
	produce(t, b.Addrs(), logins(500, 500)...)
	calls := fs.calls.Load()
	waitFor(t, 30*time.Second, "failing again", func() (bool, string) { return fs.calls.Load() > calls+1, "" })
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not stored") {
			t.Errorf("Run returned %v, want an error saying a batch was not stored", err)
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("shutdown took %s", time.Since(start))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel while the store was failing")
	}
	// A restart with a healthy warehouse stores the rest, once.
	stop := runIngest(t, w, b.Addrs(), nil)
	waitHandled(t, w.DB(), 1000)
	stop()
	if n := count(t, w.DB(), `SELECT count(*) FROM raw.user_login`); n != 1000 {
		t.Errorf("stored %d, want 1000", n)
	}
	w.Close()
}
