package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/internal/testkit"
	"github.com/pulsekpi/pulse/query"
	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

// opsEnv is a real warehouse with events (some refused), one transform
// run, and a user of each role with an API token.
type opsEnv struct {
	w      *warehouse.Warehouse
	db     *sql.DB
	users  *auth.Store
	tr     *transform.Transformer
	tokens map[string]string
}

// badRaw is a refused message: not JSON, with bytes that are not UTF-8
// and longer than an excerpt.
var badRaw = append(append([]byte("not json \xff\xfe "), bytes.Repeat([]byte("é"), 2000)...), '\xc3')

func newOpsEnv(t *testing.T) *opsEnv {
	t.Helper()
	ctx := context.Background()
	w := testkit.Warehouse(t)
	ev := testkit.Event
	testkit.Load(t, w, "crm.events",
		ev("u1", "employee.upserted", "2026-09-01T00:00:00Z", `{"employee_id":"m1","name":"M","role":"manager","team_id":"t0","manager_id":"boss","active":true}`),
		ev("u2", "employee.upserted", "2026-09-01T00:00:00Z", `{"employee_id":"e1","name":"E","role":"sales","team_id":"t1","manager_id":"m1","active":true}`),
		ev("v1", "followup.logged", "2026-10-03T10:00:00Z", `{"followup_id":"f1","customer_id":"c1","employee_id":"e1","channel":"visit"}`),
		badRaw,
	)
	if _, err := ingest.Load(ctx, w, "finance.events", [][]byte{[]byte(`{"event_id":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	tr := testkit.Transform(t, w, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC))
	users, tokens := testkit.Users(t, w,
		auth.User{Login: "emp1", Role: auth.RoleEmployee, EmployeeID: "e1"},
		auth.User{Login: "mgr1", Role: auth.RoleManager, EmployeeID: "m1"},
		auth.User{Login: "ana", Role: auth.RoleAnalyst},
		auth.User{Login: "ana2", Role: auth.RoleAnalyst},
		auth.User{Login: "exec", Role: auth.RoleExecutive},
	)
	tokens["admin"] = "admintok"
	e := &opsEnv{w: w, db: w.DB(), users: users, tr: tr, tokens: tokens}
	return e
}

func (e *opsEnv) server(t *testing.T, qo query.Options, o server.Options) *server.Server {
	t.Helper()
	qr, err := query.New(e.db, qo)
	if err != nil {
		t.Fatal(err)
	}
	o.AdminToken, o.Warehouse, o.Marts, o.Transforms, o.Query, o.Auth, o.Ops = "admintok", fakeWarehouse{}, e.tr, e.tr, qr, e.users, e.db
	return server.New(o)
}

// call sends a request as who (a login, "admin" or "" for nobody).
func (e *opsEnv) call(s *server.Server, who, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if tok := e.tokens[who]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func decodeBody[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	return v
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Every POST /api/query goes into the caller's history, whatever became
// of it, trimmed to the newest HistoryKeep; only its owner sees it.
func TestQueryHistory(t *testing.T) {
	e := newOpsEnv(t)
	s := e.server(t, query.Options{Timeout: 300 * time.Millisecond}, server.Options{HistoryKeep: 4})
	slow := `SELECT count(*) FROM range(10000000000) a, range(10) b`
	for _, c := range []struct {
		sql  string
		code int
	}{
		{`SELECT 'trimmed' AS first`, 200},
		{`SELECT employee_id FROM staging.employees ORDER BY 1`, 200},
		{`SELECT * FROM read_text('/etc/passwd')`, 400},
		{`SELECT * FROM no_such_table`, 400},
		{slow, 504},
	} {
		body, _ := json.Marshal(map[string]string{"sql": c.sql, "format": "csv"})
		if rec := e.call(s, "ana", "POST", "/api/query", string(body)); rec.Code != c.code {
			t.Fatalf("%s: %d %s, want %d", c.sql, rec.Code, rec.Body, c.code)
		}
	}
	rec := e.call(s, "ana", "GET", "/api/query/history", "")
	if rec.Code != 200 {
		t.Fatalf("history: %d %s", rec.Code, rec.Body)
	}
	raw := decodeBody[struct {
		History []map[string]any `json:"history"`
	}](t, rec)
	if got := keysOf(raw.History[0]); !slices.Equal(got, []string{"duration_ms", "error", "format", "id", "rows", "sql", "started_at", "status", "truncated"}) {
		t.Errorf("history entry keys %v", got)
	}
	h := decodeBody[struct {
		History []server.HistoryEntry `json:"history"`
	}](t, rec).History
	var statuses []string
	for _, x := range h {
		statuses = append(statuses, x.Status)
	}
	if !slices.Equal(statuses, []string{"timeout", "error", "refused", "ok"}) {
		t.Fatalf("statuses newest first %v, want timeout, error, refused, ok (the first query trimmed)", statuses)
	}
	ok, refused, bad, timedOut := h[3], h[2], h[1], h[0]
	if ok.Rows == nil || *ok.Rows != 2 || ok.Error != nil || ok.Format != "csv" || !strings.Contains(ok.SQL, "staging.employees") {
		t.Errorf("ok entry %+v", ok)
	}
	if refused.Rows != nil || refused.Error == nil || !strings.Contains(*refused.Error, "read_text") {
		t.Errorf("refused entry %+v: want the reason", refused)
	}
	if bad.Error == nil || !strings.Contains(*bad.Error, "no_such_table") {
		t.Errorf("error entry %+v", bad)
	}
	if timedOut.SQL != slow || timedOut.DurationMS < 250 || timedOut.Error == nil {
		t.Errorf("timeout entry %+v", timedOut)
	}
	if !(h[0].ID > h[1].ID && h[1].ID > h[2].ID) || h[3].StartedAt.After(h[0].StartedAt) {
		t.Errorf("not newest first: %+v", h)
	}
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM ops.query_history WHERE user_login = 'ana'`).Scan(&n); err != nil || n != 4 {
		t.Errorf("ana's rows in ops.query_history: %d %v, want 4", n, err)
	}

	// ?limit= keeps the newest.
	if h := decodeBody[struct {
		History []server.HistoryEntry `json:"history"`
	}](t, e.call(s, "ana", "GET", "/api/query/history?limit=1", "")).History; len(h) != 1 || h[0].Status != "timeout" {
		t.Errorf("limit=1: %+v", h)
	}
	if rec := e.call(s, "ana", "GET", "/api/query/history?limit=x", ""); rec.Code != 400 {
		t.Errorf("limit=x: %d", rec.Code)
	}
	// Another analyst sees none of it.
	if rec := e.call(s, "ana2", "GET", "/api/query/history", ""); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"history":[]}` {
		t.Errorf("ana2 history: %d %s", rec.Code, rec.Body)
	}
	for _, who := range []string{"emp1", "mgr1", "exec"} {
		if rec := e.call(s, who, "GET", "/api/query/history", ""); rec.Code != 403 {
			t.Errorf("%s history: %d, want 403", who, rec.Code)
		}
	}
	if rec := e.call(s, "admin", "GET", "/api/query/history", ""); rec.Code != 200 {
		t.Errorf("admin history: %d", rec.Code)
	}
}

// Saved queries: checked like queries, one per name and owner, visible
// and deletable by their owner only.
func TestSavedQueries(t *testing.T) {
	e := newOpsEnv(t)
	s := e.server(t, query.Options{}, server.Options{})
	type saved struct {
		Queries []server.SavedQuery `json:"queries"`
	}
	rec := e.call(s, "ana", "POST", "/api/queries", `{"name":" Employees ","sql":"SELECT * FROM staging.employees"}`)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if got := keysOf(decodeBody[map[string]any](t, rec)); !slices.Equal(got, []string{"created_at", "id", "name", "sql", "updated_at"}) {
		t.Errorf("saved query keys %v", got)
	}
	first := decodeBody[server.SavedQuery](t, rec)
	if first.Name != "Employees" || first.ID == 0 {
		t.Errorf("created %+v", first)
	}
	// The same name again replaces the SQL.
	rec = e.call(s, "ana", "POST", "/api/queries", `{"name":"Employees","sql":"SELECT employee_id FROM staging.employees"}`)
	again := decodeBody[server.SavedQuery](t, rec)
	if rec.Code != 200 || again.ID != first.ID || again.SQL != "SELECT employee_id FROM staging.employees" || again.UpdatedAt.Before(first.UpdatedAt) {
		t.Errorf("replace: %d %+v", rec.Code, again)
	}
	// Another analyst may use the same name.
	if rec := e.call(s, "ana2", "POST", "/api/queries", `{"name":"Employees","sql":"SELECT 1"}`); rec.Code != 201 {
		t.Errorf("ana2 create: %d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct{ body, why string }{
		{`{"name":"x","sql":"SELECT * FROM read_text('/etc/passwd')"}`, "read_text"},
		{`{"name":"x","sql":"DELETE FROM staging.employees"}`, "DELETE"},
		{`{"name":"x","sql":"SELECT 1; SELECT 2"}`, "statements"},
		{`{"name":"x","sql":"SELECT * FROM nowhere"}`, "nowhere"},
		{`{"name":"","sql":"SELECT 1"}`, "name"},
		{`{"name":"x","sql":" "}`, "sql"},
		{`{"name":"x","sql":"SELECT 1","extra":1}`, "unknown field"},
	} {
		rec := e.call(s, "ana", "POST", "/api/queries", c.body)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.why) {
			t.Errorf("%s: %d %s, want 400 naming %q", c.body, rec.Code, rec.Body, c.why)
		}
	}
	list := decodeBody[saved](t, e.call(s, "ana", "GET", "/api/queries", "")).Queries
	if len(list) != 1 || list[0].ID != first.ID || list[0].SQL != again.SQL {
		t.Fatalf("ana's list %+v", list)
	}
	other := decodeBody[saved](t, e.call(s, "ana2", "GET", "/api/queries", "")).Queries
	if len(other) != 1 || other[0].SQL != "SELECT 1" {
		t.Fatalf("ana2's list %+v", other)
	}
	// Someone else's is not there for them; a bad id neither.
	path := fmt.Sprintf("/api/queries/%d", first.ID)
	for _, c := range []struct{ who, path string }{{"ana2", path}, {"ana", "/api/queries/999999"}, {"ana", "/api/queries/abc"}} {
		if rec := e.call(s, c.who, "DELETE", c.path, ""); rec.Code != 404 {
			t.Errorf("%s DELETE %s: %d, want 404", c.who, c.path, rec.Code)
		}
	}
	if rec := e.call(s, "ana", "DELETE", path, ""); rec.Code != 204 {
		t.Errorf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := e.call(s, "ana", "DELETE", path, ""); rec.Code != 404 {
		t.Errorf("delete twice: %d", rec.Code)
	}
	if list := decodeBody[saved](t, e.call(s, "ana", "GET", "/api/queries", "")).Queries; len(list) != 0 {
		t.Errorf("after delete %+v", list)
	}
	if other := decodeBody[saved](t, e.call(s, "ana2", "GET", "/api/queries", "")).Queries; len(other) != 1 {
		t.Errorf("ana2's query went with ana's: %+v", other)
	}
	for _, who := range []string{"emp1", "mgr1", "exec"} {
		for _, m := range []struct{ method, path, body string }{
			{"GET", "/api/queries", ""}, {"POST", "/api/queries", `{"name":"x","sql":"SELECT 1"}`},
			{"DELETE", fmt.Sprintf("/api/queries/%d", other[0].ID), ""},
		} {
			if rec := e.call(s, who, m.method, m.path, m.body); rec.Code != 403 {
				t.Errorf("%s %s %s: %d, want 403", who, m.method, m.path, rec.Code)
			}
		}
	}
}

// The transform runs and refused events the operations pages show, in
// the contract's shapes, to staff only.
func TestOpsEndpoints(t *testing.T) {
	e := newOpsEnv(t)
	s := e.server(t, query.Options{}, server.Options{})
	for _, who := range []string{"emp1", "mgr1", ""} {
		for _, p := range []string{"/api/transforms/runs", "/api/transforms/runs/1", "/api/ingest/refused"} {
			want := 403
			if who == "" {
				want = 401
			}
			if rec := e.call(s, who, "GET", p, ""); rec.Code != want {
				t.Errorf("%q GET %s: %d, want %d", who, p, rec.Code, want)
			}
		}
	}
	// A second run, full (so is the first: nothing was built yet).
	if _, err := e.tr.RunNow(context.Background(), transform.RunRequest{Full: true}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"exec", "ana", "admin"} {
		rec := e.call(s, who, "GET", "/api/transforms/runs", "")
		if rec.Code != 200 {
			t.Fatalf("%s runs: %d %s", who, rec.Code, rec.Body)
		}
	}
	raw := decodeBody[struct {
		Runs []map[string]any `json:"runs"`
	}](t, e.call(s, "exec", "GET", "/api/transforms/runs", "")).Runs
	if len(raw) != 2 {
		t.Fatalf("runs %v", raw)
	}
	if got := keysOf(raw[0]); !slices.Equal(got, []string{"duration_ms", "finished_at", "full_rebuild", "models_failed",
		"models_ok", "run_id", "started_at", "status", "tests_failed", "tests_passed"}) {
		t.Errorf("run keys %v", got)
	}
	runs := decodeBody[struct {
		Runs []server.RunSummary `json:"runs"`
	}](t, e.call(s, "exec", "GET", "/api/transforms/runs", "")).Runs
	newest := runs[0]
	if !newest.FullRebuild || newest.RunID <= runs[1].RunID || newest.Status != "ok" ||
		newest.ModelsOK == 0 || newest.ModelsFailed != 0 || newest.TestsPassed == 0 || newest.TestsFailed != 0 ||
		newest.DurationMS == nil || newest.FinishedAt == nil || *newest.DurationMS < 0 {
		t.Errorf("runs newest first: %+v", runs)
	}
	if one := decodeBody[struct {
		Runs []server.RunSummary `json:"runs"`
	}](t, e.call(s, "exec", "GET", "/api/transforms/runs?limit=1", "")).Runs; len(one) != 1 || one[0].RunID != newest.RunID {
		t.Errorf("limit=1: %+v", one)
	}

	rec := e.call(s, "ana", "GET", fmt.Sprintf("/api/transforms/runs/%d", newest.RunID), "")
	if rec.Code != 200 {
		t.Fatalf("run: %d %s", rec.Code, rec.Body)
	}
	d := decodeBody[server.RunDetail](t, rec)
	if d.RunSummary.RunID != newest.RunID || int64(len(d.Models)) != d.ModelsOK || int64(len(d.Tests)) != d.TestsPassed {
		t.Errorf("detail: %d models (ok %d), %d tests (passed %d)", len(d.Models), d.ModelsOK, len(d.Tests), d.TestsPassed)
	}
	detailKeys := keysOf(decodeBody[map[string]any](t, rec))
	for _, k := range []string{"run_id", "status", "tests_passed", "models", "tests"} {
		if !slices.Contains(detailKeys, k) {
			t.Errorf("detail lacks %s: %v", k, detailKeys)
		}
	}
	if len(d.Models) > 0 {
		m := d.Models[0]
		if m.Model == "" || m.Layer == "" || m.Status != "ok" || m.StartedAt == nil {
			t.Errorf("model %+v", m)
		}
	}
	if len(d.Tests) > 0 && (d.Tests[0].Status != "pass" || d.Tests[0].Query == "") {
		t.Errorf("test %+v", d.Tests[0])
	}
	for _, p := range []string{"/api/transforms/runs/424242", "/api/transforms/runs/x"} {
		if rec := e.call(s, "ana", "GET", p, ""); rec.Code != 404 {
			t.Errorf("%s: %d, want 404", p, rec.Code)
		}
	}

	// Refused events, with a UTF-8-safe excerpt of at most 2 KiB.
	rec = e.call(s, "exec", "GET", "/api/ingest/refused", "")
	if rec.Code != 200 {
		t.Fatalf("refused: %d %s", rec.Code, rec.Body)
	}
	rr := decodeBody[struct {
		Refused []map[string]any `json:"refused"`
	}](t, rec).Refused
	if len(rr) != 2 {
		t.Fatalf("refused %v", rr)
	}
	for _, k := range []string{"kafka_topic", "kafka_partition", "kafka_offset", "reason_code", "reason", "raw_excerpt", "refused_at"} {
		if _, ok := rr[0][k]; !ok {
			t.Errorf("refused event lacks %s: %v", k, keysOf(rr[0]))
		}
	}
	refused := decodeBody[struct {
		Refused []server.RefusedEvent `json:"refused"`
	}](t, e.call(s, "exec", "GET", "/api/ingest/refused?topic=crm.events", "")).Refused
	if len(refused) != 1 {
		t.Fatalf("crm refused %+v", refused)
	}
	r := refused[0]
	if r.Topic != "crm.events" || r.ReasonCode == "" || r.Reason == "" || r.RawSize != int64(len(badRaw)) || r.RefusedAt.IsZero() {
		t.Errorf("refused event %+v", r)
	}
	if !utf8.ValidString(r.RawExcerpt) || len(r.RawExcerpt) > 2048 || len(r.RawExcerpt) < 2000 ||
		!strings.HasPrefix(r.RawExcerpt, "not json \uFFFD\uFFFD éé") {
		t.Errorf("excerpt: valid %v, %d bytes, starts %q", utf8.ValidString(r.RawExcerpt), len(r.RawExcerpt), r.RawExcerpt[:min(20, len(r.RawExcerpt))])
	}
	if fin := decodeBody[struct {
		Refused []server.RefusedEvent `json:"refused"`
	}](t, e.call(s, "exec", "GET", "/api/ingest/refused?topic=finance.events&limit=5", "")).Refused; len(fin) != 1 || fin[0].RawExcerpt != `{"event_id":"x"}` {
		t.Errorf("finance refused %+v", fin)
	}
	if rec := e.call(s, "exec", "GET", "/api/ingest/refused?limit=0", ""); rec.Code != 400 {
		t.Errorf("limit=0: %d", rec.Code)
	}
}
