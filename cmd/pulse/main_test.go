package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/pulsekpi/pulse/broker"
	"github.com/pulsekpi/pulse/transform"
)

func runCmd(ctx context.Context, t *testing.T, environ []string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(ctx, args, environ, &out, &errb)
	return out.String() + errb.String(), err
}

func TestEveryCommandHasHelp(t *testing.T) {
	for name := range commands() {
		out, err := runCmd(context.Background(), t, nil, name, "--help")
		if err == nil || !strings.Contains(err.Error(), "help requested") {
			t.Errorf("%s --help: err %v", name, err)
		}
		if !strings.Contains(out, "pulse "+name+": ") || !strings.Contains(out, "Flags:") {
			t.Errorf("%s --help says:\n%s", name, out)
		}
	}
	out, err := runCmd(context.Background(), t, nil, "--help")
	if err != nil || !strings.Contains(out, "demo") {
		t.Errorf("pulse --help: %v\n%s", err, out)
	}
	if _, err := runCmd(context.Background(), t, nil, "frobnicate"); err == nil {
		t.Error("an unknown command must fail")
	}
}

// TestBadConfigNamesLineAndField: a bad file, variable or flag stops the
// command before it does anything, saying where and what.
func TestBadConfigNamesLineAndField(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pulse.yaml")
	os.WriteFile(file, []byte("addr: \":9999\"\ningest:\n  flush_rows: 10\n  flush_rowz: 5\n"), 0o644)
	cases := []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"run", "--config", file}, "pulse.yaml:4: ingest.flush_rowz: unknown setting"},
		{[]string{"PULSE_INGEST_CONSUMERS=zero"}, []string{"run"}, "PULSE_INGEST_CONSUMERS"},
		{nil, []string{"run", "--timezone", "Mars/Olympus"}, "timezone"},
		{[]string{"PULSE_KAFKA_SASL_MECHANISM=kerberos"}, []string{"run"}, "PULSE_KAFKA_SASL_MECHANISM"},
		{[]string{"PULSE_KAFKA_TLS=maybe"}, []string{"run"}, "PULSE_KAFKA_TLS: not true or false"},
		{[]string{"PULSE_KAFKA_SASL_MECHANISM=plain"}, []string{"run"}, "sasl_username"},
	}
	for _, c := range cases {
		_, err := runCmd(context.Background(), t, c.env, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: got %v, want an error containing %q", c.env, c.args, err, c.want)
		}
	}
}

// TestGenerateLoadRun drives the binary's commands end to end against the
// embedded broker: generate to files, load them (with a malformed line),
// run the pipeline, and read the result over HTTP and from DuckDB.
func TestGenerateLoadRun(t *testing.T) {
	b, err := broker.Start(broker.Options{Topics: []string{"crm.events", "finance.events", "ticket.events"}, MinSessionTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	dir := t.TempDir()
	out, err := runCmd(ctx, t, nil, "generate", "--out", filepath.Join(dir, "events"), "--days", "20", "--employees", "10", "--now", "2026-10-15T00:00:00+08:00")
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, out)
	}
	var generated int
	if _, err := fmt.Sscanf(out, "history: %d events", &generated); err != nil || generated == 0 {
		t.Fatalf("generate said %q", out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "events", "*.jsonl"))
	if len(files) < 2 {
		t.Fatalf("generate wrote %v", files)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"event_id\": 1}\nnot json at all\n"), 0o644)
	brokers := strings.Join(b.Addrs(), ",")
	out, err = runCmd(ctx, t, nil, append([]string{"load", "--brokers", brokers}, append(files, bad)...)...)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	if !strings.Contains(out, fmt.Sprintf("%d events published", generated+2)) {
		t.Fatalf("load said %q", out)
	}

	// Alerts go to a local webhook receiver.
	var hookMu sync.Mutex
	var hooked []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ ID, Kind, Rule string }
		json.NewDecoder(r.Body).Decode(&m)
		hookMu.Lock()
		hooked = append(hooked, m.ID)
		hookMu.Unlock()
	}))
	defer hook.Close()
	cfgFile := filepath.Join(dir, "pulse.yaml")
	os.WriteFile(cfgFile, []byte("alerts:\n  channels:\n    hook: {kind: webhook, url: \""+hook.URL+"\"}\n  routes:\n    - {channels: [hook]}\n"), 0o644)

	data := filepath.Join(dir, "data")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	env := []string{"PULSE_ADMIN_TOKEN=tok", "PULSE_INGEST_FLUSH_INTERVAL=50ms"}
	addr := freeAddr(t)
	go func() {
		_, err := runCmd(runCtx, t, env, "run", "--config", cfgFile, "--brokers", brokers, "--data", data, "--addr", addr, "--log-level", "warn")
		done <- err
	}()
	want := int64(generated + 2)
	deadline := time.Now().Add(60 * time.Second)
	var handled int64
	for handled < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		handled = statusHandled(addr)
	}
	// A transform run asked for over HTTP sees every stored event.
	run := postTransformRun(t, addr)
	// Its alerts (the history ended weeks before the wall clock, so at
	// least everyone's login gap) reach the receiver.
	firing := alertKeys(t, addr)
	checkDashboardTile(t, addr, run.ID)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		hookMu.Lock()
		n := len(hooked)
		hookMu.Unlock()
		if n >= len(firing) {
			break
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	db, err := sql.Open("duckdb", filepath.Join(data, "pulse.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored, refused int
	db.QueryRow(`SELECT count(*) FROM raw.events`).Scan(&stored)
	db.QueryRow(`SELECT count(*) FROM ops.refused_events`).Scan(&refused)
	if stored != generated || refused != 2 {
		t.Errorf("stored %d (want %d), refused %d (want 2)", stored, generated, refused)
	}
	if run.Status != "ok" {
		t.Errorf("transform run %d: %s (%s)", run.ID, run.Status, run.Error)
	}
	var seen, running, runs int
	db.QueryRow(`SELECT count(*) FROM raw.events WHERE ingested_at <= (SELECT cut FROM ops.transform_runs WHERE run_id = ?)`, run.ID).Scan(&seen)
	db.QueryRow(`SELECT count(*) FILTER (status = 'running'), count(*) FROM ops.transform_runs`).Scan(&running, &runs)
	if seen != generated || running != 0 || runs < 2 {
		t.Errorf("transform run %d saw %d events (want %d); %d runs recorded (the scheduler's and ours), %d left running", run.ID, seen, generated, runs, running)
	}
	var gaps, sent, unsent int
	db.QueryRow(`SELECT count(*) FROM ops.alerts WHERE rule = 'login_gap' AND state = 'firing'`).Scan(&gaps)
	db.QueryRow(`SELECT count(*) FILTER (status = 'sent'), count(*) FILTER (status <> 'sent') FROM ops.alert_notifications`).Scan(&sent, &unsent)
	hookMu.Lock()
	defer hookMu.Unlock()
	unique := map[string]bool{}
	for _, id := range hooked {
		unique[id] = true
	}
	if gaps == 0 || len(firing) == 0 || sent != len(hooked) || unsent != 0 || len(unique) != len(hooked) || len(hooked) < len(firing) {
		t.Errorf("alerts: %d firing (%d login gaps); notifications %d sent, %d not; the receiver got %d (%d distinct)",
			len(firing), gaps, sent, unsent, len(hooked), len(unique))
	}
	for _, k := range firing {
		if !unique[k+"#1/firing"] {
			t.Errorf("the receiver never got %s", k)
		}
	}
}

// alertKeys are the keys of the firing alerts, from GET /api/alerts.
func alertKeys(t *testing.T, addr string) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/alerts?state=firing", nil)
	req.Header.Set("Authorization", "Bearer tok")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v struct{ Alerts []struct{ Key string } }
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/alerts: %s, %v", res.Status, err)
	}
	var keys []string
	for _, a := range v.Alerts {
		keys = append(keys, a.Key)
	}
	return keys
}

// postTransformRun asks the server for a transform run and returns it.
func postTransformRun(t *testing.T, addr string) transform.Run {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/transforms/run", nil)
	req.Header.Set("Authorization", "Bearer tok")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var run transform.Run
	if err := json.NewDecoder(res.Body).Decode(&run); err != nil || res.StatusCode != http.StatusOK || run.ID == 0 {
		t.Fatalf("POST /api/transforms/run: %s, %+v, %v", res.Status, run, err)
	}
	return run
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// statusHandled sums what GET /api/ingest/status says was stored and
// refused, 0 while the server is not up.
func statusHandled(addr string) int64 {
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/ingest/status", nil)
	req.Header.Set("Authorization", "Bearer tok")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	var st struct {
		Partitions []struct {
			Stored  int64 `json:"events_stored"`
			Refused int64 `json:"events_refused"`
		} `json:"partitions"`
	}
	if json.NewDecoder(res.Body).Decode(&st) != nil {
		return 0
	}
	var n int64
	for _, p := range st.Partitions {
		n += p.Stored + p.Refused
	}
	return n
}
