package transform_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

func openWarehouse(t *testing.T) *warehouse.Warehouse {
	t.Helper()
	w, err := warehouse.Open(context.Background(), warehouse.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// models builds an fs.FS of model files: path -> SQL.
func models(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for p, body := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(body)}
	}
	fsys["staging/README.md"] = &fstest.MapFile{Data: []byte("not a model")}
	return fsys
}

var eventSeq atomic.Int64

// login is a user.login event; client "" leaves the field out.
func login(employee, client string) []byte {
	id := eventSeq.Add(1)
	data := fmt.Sprintf(`{"employee_id":%q}`, employee)
	if client != "" {
		data = fmt.Sprintf(`{"employee_id":%q,"client":%q}`, employee, client)
	}
	return []byte(fmt.Sprintf(`{"event_id":"login-%d","event_type":"user.login","occurred_at":"2026-10-01T09:00:00Z","data":%s}`, id, data))
}

func load(t *testing.T, w *warehouse.Warehouse, events ...[]byte) {
	t.Helper()
	res, err := ingest.Load(context.Background(), w, "crm.events", events)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.Stored != int64(len(events)) {
		t.Fatalf("stored %d of %d events (%+v)", res.Total.Stored, len(events), res.Total)
	}
}

func queryInt(t *testing.T, w *warehouse.Warehouse, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := w.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func queryString(t *testing.T, w *warehouse.Warehouse, q string, args ...any) string {
	t.Helper()
	var s string
	if err := w.DB().QueryRow(q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

func modelRun(t *testing.T, run *transform.Run, name string) transform.ModelRun {
	t.Helper()
	for _, m := range run.Models {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("run %d has no model %s", run.ID, name)
	return transform.ModelRun{}
}

func runNow(t *testing.T, tr *transform.Transformer, req transform.RunRequest) *transform.Run {
	t.Helper()
	run, err := tr.RunNow(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestDependenciesAreDerivedAndRespected(t *testing.T) {
	w := openWarehouse(t)
	load(t, w, login("e1", ""), login("e1", ""), login("e2", ""))
	tr, err := transform.New(w.DB(), transform.Options{Concurrency: 4, Models: models(map[string]string{
		"staging/logins.sql": `-- One row per login.
-- grain: one row per event_id
-- @materialized view
SELECT event_id, employee_id FROM raw.user_login WHERE ingested_at <= pulse_cut();`,
		// A CTE, a join, a subquery in FROM and one in WHERE.
		"staging/per_employee.sql": `-- Logins per employee.
WITH l AS (SELECT * FROM staging.logins)
SELECT l.employee_id, count(*) AS n
FROM l JOIN (SELECT DISTINCT employee_id FROM staging.employee_ids) AS e USING (employee_id)
WHERE l.employee_id IN (SELECT employee_id FROM raw.user_login)
GROUP BY ALL`,
		"staging/employee_ids.sql": `SELECT DISTINCT employee_id FROM raw.user_login`,
		// UNION, a scalar subquery, a table macro and a table function.
		"marts/summary.sql": `-- @materialized table
SELECT 'n' AS k, (SELECT sum(n) FROM staging.per_employee) AS v
UNION ALL SELECT 'kpis', count(*) FROM pulse_scorecard_kpis()
UNION ALL SELECT 'range', count(*) FROM range(3)
UNION ALL SELECT 'ids', count(*) FROM marts.ids_copy`,
		"marts/ids_copy.sql":     `SELECT * FROM staging.employee_ids`,
		"alerts/independent.sql": `SELECT 1 AS one`,
	})})
	if err != nil {
		t.Fatal(err)
	}
	deps := map[string]string{}
	for _, m := range tr.Models() {
		deps[m.Name] = strings.Join(m.Deps, ",")
	}
	want := map[string]string{
		"staging.logins":       "",
		"staging.employee_ids": "",
		"staging.per_employee": "staging.employee_ids,staging.logins",
		"marts.ids_copy":       "staging.employee_ids",
		"marts.summary":        "marts.ids_copy,staging.per_employee",
		"alerts.independent":   "",
	}
	for name, d := range want {
		if got, ok := deps[name]; !ok || got != d {
			t.Errorf("%s: deps %q, want %q", name, got, d)
		}
	}
	if len(deps) != len(want) {
		t.Errorf("models %v, want %d", deps, len(want))
	}
	for _, m := range tr.Models() {
		if m.Name == "staging.logins" && (m.Description != "One row per login.\ngrain: one row per event_id" || m.Materialized != "view" || m.File != "sql/staging/logins.sql") {
			t.Errorf("staging.logins: %+v", m)
		}
	}

	run := runNow(t, tr, transform.RunRequest{})
	// (Error may say that periods could not be closed: these models have
	// no staging.periods.)
	if run.Status != "ok" || !run.Full {
		t.Fatalf("run: %+v", run)
	}
	// Every model started after each of its dependencies finished.
	for _, m := range tr.Models() {
		mr := modelRun(t, run, m.Name)
		for _, d := range m.Deps {
			dr := modelRun(t, run, d)
			end := dr.StartedAt.Add(time.Duration(dr.DurationMS * float64(time.Millisecond)))
			if mr.StartedAt.Before(end) {
				t.Errorf("%s started at %v, before %s finished at %v", m.Name, mr.StartedAt, d, end)
			}
		}
	}
	if got := queryInt(t, w, `SELECT v FROM marts.summary WHERE k = 'n'`); got != 3 {
		t.Errorf("marts.summary n = %d, want 3", got)
	}
	if got := queryInt(t, w, `SELECT v FROM marts.summary WHERE k = 'kpis'`); got != 9 {
		t.Errorf("marts.summary kpis = %d, want 9 (the default scorecards)", got)
	}
	if got := *modelRun(t, run, "staging.per_employee").Rows; got != 2 {
		t.Errorf("staging.per_employee rows = %d, want 2", got)
	}
	if r := modelRun(t, run, "staging.logins"); r.Rows != nil || r.Status != "ok" {
		t.Errorf("view staging.logins: %+v", r)
	}
	if got := queryString(t, w, `SELECT table_type FROM information_schema.tables WHERE table_schema = 'staging' AND table_name = 'logins'`); got != "VIEW" {
		t.Errorf("staging.logins is a %s", got)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM ops.transform_run_models WHERE run_id = ? AND status = 'ok'`, run.ID); n != 6 {
		t.Errorf("%d models recorded ok, want 6", n)
	}
}

func TestLoadErrors(t *testing.T) {
	w := openWarehouse(t)
	cases := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{"cycle", map[string]string{
			"marts/a.sql": "SELECT * FROM marts.b",
			"marts/b.sql": "SELECT * FROM marts.a",
		}, []string{"cycle", "sql/marts/a.sql", "sql/marts/b.sql"}},
		{"cycle through scope", map[string]string{
			"staging/a.sql": "-- @materialized incremental\n-- @key k\n-- @scope staging.b\nSELECT 1 AS k",
			"staging/b.sql": "SELECT * FROM staging.a",
		}, []string{"cycle", "sql/staging/a.sql", "sql/staging/b.sql"}},
		{"missing model", map[string]string{
			"marts/a.sql": "SELECT * FROM staging.b",
		}, []string{"sql/marts/a.sql: refers to staging.b, which no model defines"}},
		{"missing raw table", map[string]string{
			"staging/a.sql": "SELECT * FROM raw.no_such_events",
		}, []string{"sql/staging/a.sql", "raw.no_such_events"}},
		{"unknown directive", map[string]string{
			"marts/x.sql": "-- Description.\n-- @materialized table\n-- @frobnicate yes\nSELECT 1",
		}, []string{"sql/marts/x.sql:3:", "@frobnicate"}},
		{"bad materialization", map[string]string{
			"marts/x.sql": "-- @materialized ephemeral\nSELECT 1",
		}, []string{"sql/marts/x.sql:1:", "ephemeral"}},
		{"bad test arguments", map[string]string{
			"marts/x.sql": "-- d\n\n-- @test not_null(a, b)\nSELECT 1 AS a, 2 AS b",
		}, []string{"sql/marts/x.sql:3:", "not_null"}},
		{"unknown test", map[string]string{
			"marts/x.sql": "-- @test positive(a)\nSELECT 1 AS a",
		}, []string{"sql/marts/x.sql:1:", "positive"}},
		{"bad accepted value", map[string]string{
			"marts/x.sql": "-- @test accepted_values(a, web)\nSELECT 1 AS a",
		}, []string{"sql/marts/x.sql:1:", "web"}},
		{"relationships to no model", map[string]string{
			"marts/x.sql": "-- @test relationships(a, staging.nothing.a)\nSELECT 1 AS a",
		}, []string{"sql/marts/x.sql:1:", "staging.nothing"}},
		{"unparsable test condition", map[string]string{
			"marts/x.sql": "-- @test expression(a = = 1)\nSELECT 1 AS a",
		}, []string{"sql/marts/x.sql:1:", "expression"}},
		{"incremental without scope", map[string]string{
			"marts/x.sql": "-- @materialized incremental\n-- @key a\nSELECT 1 AS a",
		}, []string{"sql/marts/x.sql", "@scope"}},
		{"scope not a model", map[string]string{
			"marts/x.sql": "-- @materialized incremental\n-- @key a\n-- @scope staging.dirty\nSELECT 1 AS a",
		}, []string{"sql/marts/x.sql", "staging.dirty"}},
		{"key on a table", map[string]string{
			"marts/x.sql": "-- @key a\nSELECT 1 AS a",
		}, []string{"sql/marts/x.sql", "incremental"}},
		{"parse error", map[string]string{
			"marts/ok.sql":  "SELECT 1",
			"marts/bad.sql": "-- Broken.\nSELECT a,\nFROM WHERE",
		}, []string{"sql/marts/bad.sql:", "syntax error"}},
		{"two statements", map[string]string{
			"marts/x.sql": "SELECT 1; SELECT 2;",
		}, []string{"sql/marts/x.sql", "one SELECT"}},
		{"not a select", map[string]string{
			"marts/x.sql": "CREATE TABLE marts.y AS SELECT 1",
		}, []string{"sql/marts/x.sql", "SELECT"}},
		{"model outside the layers", map[string]string{
			"reports/x.sql": "SELECT 1",
		}, []string{"sql/reports/x.sql"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := transform.New(w.DB(), transform.Options{Models: models(c.files)})
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
	// The parse error points at the line DuckDB complains about.
	_, err := transform.New(w.DB(), transform.Options{Models: models(map[string]string{
		"marts/bad.sql": "-- Broken.\n-- @materialized table\nSELECT 1\nFROM FROM",
	})})
	if err == nil || !strings.Contains(err.Error(), "sql/marts/bad.sql:4:") {
		t.Errorf("parse error %v: want sql/marts/bad.sql:4:", err)
	}
	// Params are validated.
	bad := transform.DefaultParams()
	bad.Timezone = "Mars/Olympus"
	if _, err := transform.New(w.DB(), transform.Options{Params: bad, Models: models(map[string]string{"marts/x.sql": "SELECT 1"})}); err == nil || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Errorf("bad time zone: %v", err)
	}
}

func TestFailedModelKeepsItsTableAndSkipsDependents(t *testing.T) {
	w := openWarehouse(t)
	reg := prometheus.NewRegistry()
	tr, err := transform.New(w.DB(), transform.Options{Metrics: transform.NewMetrics(reg), Models: models(map[string]string{
		"staging/clients.sql":    "SELECT event_id, employee_id, CAST(client AS INTEGER) AS client_no FROM raw.user_login",
		"marts/per_employee.sql": "SELECT employee_id, count(*) AS n FROM staging.clients GROUP BY ALL",
		"alerts/deep.sql":        "SELECT * FROM marts.per_employee",
		"staging/logins.sql":     "SELECT count(*) AS n FROM raw.user_login",
	})})
	if err != nil {
		t.Fatal(err)
	}
	load(t, w, login("e1", ""), login("e2", ""))
	first := runNow(t, tr, transform.RunRequest{})
	if first.Status != "ok" {
		t.Fatalf("first run: %+v", first)
	}
	load(t, w, login("e3", "web")) // 'web' is no integer
	run := runNow(t, tr, transform.RunRequest{})
	if run.Status != "failed" || run.Full {
		t.Fatalf("second run: status %s full %v, want failed incremental", run.Status, run.Full)
	}
	if m := modelRun(t, run, "staging.clients"); m.Status != "failed" || !strings.Contains(m.Error, "web") {
		t.Errorf("staging.clients: %+v", m)
	}
	for _, name := range []string{"marts.per_employee", "alerts.deep"} {
		if m := modelRun(t, run, name); m.Status != "skipped" || m.Error != "skipped: upstream staging.clients failed" {
			t.Errorf("%s: %+v", name, m)
		}
	}
	if m := modelRun(t, run, "staging.logins"); m.Status != "ok" {
		t.Errorf("independent staging.logins: %+v", m)
	}
	if n := queryInt(t, w, "SELECT n FROM staging.logins"); n != 3 {
		t.Errorf("staging.logins sees %d logins, want 3", n)
	}
	// The failed model's table keeps what the first run built.
	if n := queryInt(t, w, "SELECT count(*) FROM staging.clients"); n != 2 {
		t.Errorf("staging.clients has %d rows after its failure, want the 2 of the first run", n)
	}
	if !strings.Contains(run.Error, "staging.clients") {
		t.Errorf("run error %q does not name the failed model", run.Error)
	}
	var status, errText string
	var full bool
	var ok, failed, skipped int
	if err := w.DB().QueryRow(`SELECT status, full_rebuild, models_ok, models_failed, models_skipped, error
		FROM ops.transform_runs WHERE run_id = ?`, run.ID).Scan(&status, &full, &ok, &failed, &skipped, &errText); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || full || ok != 1 || failed != 1 || skipped != 2 || !strings.Contains(errText, "staging.clients") {
		t.Errorf("ops.transform_runs: %s full=%v ok=%d failed=%d skipped=%d %q", status, full, ok, failed, skipped, errText)
	}
	if got := queryString(t, w, `SELECT error FROM ops.transform_run_models WHERE run_id = ? AND model = 'alerts.deep'`, run.ID); got != "skipped: upstream staging.clients failed" {
		t.Errorf("recorded skip reason %q", got)
	}
	if got := queryString(t, w, `SELECT status FROM ops.transform_run_models WHERE run_id = ? AND model = 'staging.clients'`, run.ID); got != "failed" {
		t.Errorf("recorded status of staging.clients %q", got)
	}
	last, err := tr.LastRun(context.Background())
	if err != nil || last == nil || last.ID != run.ID || last.Status != "failed" || len(last.Models) != 4 ||
		last.Models[len(last.Models)-1].Status == "" || modelRun(t, last, "alerts.deep").Status != "skipped" {
		t.Errorf("LastRun: %+v, %v", last, err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pulse_transform_runs_total Transform runs, by status (ok, failed) and mode (full, incremental).
# TYPE pulse_transform_runs_total counter
pulse_transform_runs_total{mode="full",status="ok"} 1
pulse_transform_runs_total{mode="incremental",status="failed"} 1
`), "pulse_transform_runs_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "pulse_transform_runs_total", "pulse_transform_run_seconds", "pulse_transform_model_seconds", "pulse_data_test_failures"); err != nil || n < 4 {
		t.Errorf("metrics gathered: %d, %v", n, err)
	}
}

// incrementalModels: staging.dirty lists the employees with logins new to
// the run; marts.logins counts logins per employee, rebuilt for those only.
// staging.fragile fails while the clock is past 2030.
var incrementalModels = map[string]string{
	"staging/dirty.sql": `-- Employees with logins new to this run.
SELECT DISTINCT employee_id FROM raw.user_login
WHERE ingested_at > pulse_prev_cut() AND ingested_at <= pulse_cut()`,
	"marts/logins.sql": `-- Logins per employee.
-- @materialized incremental
-- @key employee_id
-- @scope staging.dirty
-- @test unique(employee_id)
SELECT employee_id, count(*) AS n, pulse_run_id() AS run_id
FROM raw.user_login
WHERE ingested_at <= pulse_cut()
  AND (pulse_full() OR employee_id IN (SELECT employee_id FROM staging.dirty))
GROUP BY employee_id`,
	"staging/fragile.sql": `SELECT CASE WHEN pulse_now() > TIMESTAMPTZ '2030-01-01 00:00:00+00' THEN error('the clock is past 2030') ELSE 1 END AS ok`,
}

func TestIncrementalRuns(t *testing.T) {
	w := openWarehouse(t)
	var now atomic.Pointer[time.Time]
	setNow := func(s string) {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		now.Store(&tm)
	}
	setNow("2026-10-01T12:00:00Z")
	opts := transform.Options{Models: models(incrementalModels), Now: func() time.Time { return *now.Load() }}
	tr, err := transform.New(w.DB(), opts)
	if err != nil {
		t.Fatal(err)
	}
	perEmployee := func() map[string][2]int64 {
		t.Helper()
		rows, err := w.DB().Query(`SELECT employee_id, n, run_id FROM marts.logins`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string][2]int64{}
		for rows.Next() {
			var e string
			var n, id int64
			if err := rows.Scan(&e, &n, &id); err != nil {
				t.Fatal(err)
			}
			out[e] = [2]int64{n, id}
		}
		return out
	}
	load(t, w, login("e1", ""), login("e1", ""), login("e2", ""))
	r1 := runNow(t, tr, transform.RunRequest{})
	if !r1.Full || r1.Status != "ok" || r1.Cut == nil || r1.PrevCut != nil {
		t.Fatalf("first run: %+v", r1)
	}
	if got := fmt.Sprint(perEmployee()); got != fmt.Sprintf("map[e1:[2 %d] e2:[1 %d]]", r1.ID, r1.ID) {
		t.Fatalf("after the first run: %s", got)
	}
	if got := queryString(t, w, `SELECT strftime(pulse_now(), '%Y-%m-%d %H:%M:%S')`); got != "2026-10-01 12:00:00" {
		t.Errorf("pulse_now() = %s", got)
	}

	load(t, w, login("e2", ""), login("e3", ""))
	r2 := runNow(t, tr, transform.RunRequest{})
	if r2.Full || r2.Status != "ok" || r2.PrevCut == nil || !r2.PrevCut.Equal(*r1.Cut) || !r2.Cut.After(*r1.Cut) {
		t.Fatalf("second run: full=%v status=%s prev_cut=%v cut=%v (first cut %v)", r2.Full, r2.Status, r2.PrevCut, r2.Cut, r1.Cut)
	}
	// e1 untouched (row of run 1), e2 replaced, e3 inserted.
	want := fmt.Sprintf("map[e1:[2 %d] e2:[2 %d] e3:[1 %d]]", r1.ID, r2.ID, r2.ID)
	if got := fmt.Sprint(perEmployee()); got != want {
		t.Fatalf("after the incremental run: %s, want %s", got, want)
	}
	if m := modelRun(t, r2, "marts.logins"); *m.RowsChanged != 2 || *m.Rows != 3 {
		t.Errorf("marts.logins: changed %d rows %d, want 2 and 3", *m.RowsChanged, *m.Rows)
	}
	// Nothing new: the incremental run replaces nothing.
	r3 := runNow(t, tr, transform.RunRequest{})
	if r3.Full || *modelRun(t, r3, "marts.logins").RowsChanged != 0 || fmt.Sprint(perEmployee()) != want {
		t.Errorf("idle run: full=%v %s", r3.Full, fmt.Sprint(perEmployee()))
	}

	// A failed run makes the next one full.
	setNow("2031-01-01T00:00:00Z")
	load(t, w, login("e1", ""))
	r4 := runNow(t, tr, transform.RunRequest{})
	if r4.Status != "failed" || modelRun(t, r4, "staging.fragile").Status != "failed" {
		t.Fatalf("run with the clock past 2030: %+v", r4)
	}
	setNow("2026-10-02T00:00:00Z")
	r5 := runNow(t, tr, transform.RunRequest{})
	if !r5.Full || r5.Status != "ok" {
		t.Fatalf("run after a failed run: full=%v status=%s", r5.Full, r5.Status)
	}
	want = fmt.Sprintf("map[e1:[3 %d] e2:[2 %d] e3:[1 %d]]", r5.ID, r5.ID, r5.ID)
	if got := fmt.Sprint(perEmployee()); got != want {
		t.Errorf("after the full run: %s, want %s", got, want)
	}
	if r := runNow(t, tr, transform.RunRequest{}); r.Full {
		t.Error("the run after a successful full run is full again")
	}
	if r := runNow(t, tr, transform.RunRequest{Full: true}); !r.Full {
		t.Error("RunRequest{Full: true} ran incrementally")
	}

	// Changed models or parameters rebuild everything.
	changed := models(incrementalModels)
	changed["alerts/new.sql"] = &fstest.MapFile{Data: []byte("SELECT 1 AS x")}
	tr2, err := transform.New(w.DB(), transform.Options{Models: changed, Now: opts.Now})
	if err != nil {
		t.Fatal(err)
	}
	if r := runNow(t, tr2, transform.RunRequest{}); !r.Full || r.Status != "ok" {
		t.Errorf("run after a model change: full=%v status=%s", r.Full, r.Status)
	}
	if r := runNow(t, tr2, transform.RunRequest{}); r.Full {
		t.Error("second run of the changed models is full")
	}
	p := transform.DefaultParams()
	p.Timezone = "Asia/Shanghai"
	tr3, err := transform.New(w.DB(), transform.Options{Models: changed, Now: opts.Now, Params: p})
	if err != nil {
		t.Fatal(err)
	}
	if r := runNow(t, tr3, transform.RunRequest{}); !r.Full {
		t.Error("run after a parameter change is not full")
	}
	if got := queryString(t, w, "SELECT pulse_tz()"); got != "Asia/Shanghai" {
		t.Errorf("pulse_tz() = %s", got)
	}
}

func TestDataTests(t *testing.T) {
	w := openWarehouse(t)
	tr, err := transform.New(w.DB(), transform.Options{Models: models(map[string]string{
		"staging/parents.sql": `SELECT * FROM (VALUES ('a'), ('b')) AS v(id)`,
		"marts/facts.sql": `-- Facts with known problems.
-- @test unique(id)
-- @test unique(id, kind)
-- @test not_null(kind)
-- @test accepted_values(kind, 'x', 'y')
-- @test relationships(parent, staging.parents.id)
-- @test range(score, 0, 10)
-- @test range_where(score, 0, 5, kind = 'x')
-- @test expression(score >= 0 OR kind IS NULL)
-- @test expression(no_such_column > 0)
SELECT * FROM (VALUES
    (1, 'x', 'a', 3),
    (1, 'y', 'b', 11),
    (2, 'z', 'c', -1),
    (3, NULL, NULL, 7),
    (4, 'x', 'a', 6)
) AS v(id, kind, parent, score)`,
	})})
	if err != nil {
		t.Fatal(err)
	}
	run := runNow(t, tr, transform.RunRequest{})
	if run.Status != "ok" {
		t.Fatalf("failing data tests failed the run: %+v", run)
	}
	want := map[string]struct {
		status   string
		failures int64
	}{
		"unique(id)":                                {"fail", 1},
		"unique(id, kind)":                          {"pass", 0},
		"not_null(kind)":                            {"fail", 1},
		"accepted_values(kind, 'x', 'y')":           {"fail", 1},
		"relationships(parent, staging.parents.id)": {"fail", 1},
		"range(score, 0, 10)":                       {"fail", 2},
		"range_where(score, 0, 5, kind = 'x')":      {"fail", 1},
		"expression(score >= 0 OR kind IS NULL)":    {"fail", 1},
		"expression(no_such_column > 0)":            {"error", 0},
	}
	if len(run.Tests) != len(want) {
		t.Errorf("%d tests ran, want %d: %+v", len(run.Tests), len(want), run.Tests)
	}
	for _, r := range run.Tests {
		w, ok := want[r.Test]
		if !ok || r.Model != "marts.facts" || r.Status != w.status || r.Failures != w.failures || r.Query == "" {
			t.Errorf("test %s: %+v, want %+v", r.Test, r, w)
		}
		if r.Status == "error" && !strings.Contains(r.Error, "no_such_column") {
			t.Errorf("test %s: error %q", r.Test, r.Error)
		}
	}
	if n := queryInt(t, w, `SELECT tests_failed FROM ops.transform_runs WHERE run_id = ?`, run.ID); n != 8 {
		t.Errorf("tests_failed = %d, want 8", n)
	}
	if n := queryInt(t, w, `SELECT failures FROM ops.data_tests WHERE run_id = ? AND test = 'range(score, 0, 10)' AND status = 'fail'`, run.ID); n != 2 {
		t.Errorf("recorded failures of range = %d", n)
	}
	// The recorded query finds the offending rows' count again.
	q := queryString(t, w, `SELECT query FROM ops.data_tests WHERE run_id = ? AND test = 'not_null(kind)'`, run.ID)
	if n := queryInt(t, w, q); n != 1 {
		t.Errorf("%s = %d", q, n)
	}
}

func TestRunsNeverOverlap(t *testing.T) {
	w := openWarehouse(t)
	tr, err := transform.New(w.DB(), transform.Options{Models: models(map[string]string{
		"staging/slow.sql": `SELECT count(*) AS n FROM range(30000000) AS r(i) WHERE i % 7 = 3`,
		"marts/after.sql":  `SELECT * FROM staging.slow`,
	})})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	runs := make([]*transform.Run, 3)
	for i := range runs {
		wg.Go(func() {
			r, err := tr.RunNow(context.Background(), transform.RunRequest{})
			if err != nil {
				t.Error(err)
			}
			runs[i] = r
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	ids := map[int64]bool{}
	for i, a := range runs {
		if a.Status != "ok" {
			t.Errorf("run %d: %s %s", a.ID, a.Status, a.Error)
		}
		ids[a.ID] = true
		for _, b := range runs[i+1:] {
			if a.StartedAt.Before(b.FinishedAt) && b.StartedAt.Before(a.FinishedAt) {
				t.Errorf("runs %d [%v, %v] and %d [%v, %v] overlap", a.ID, a.StartedAt, a.FinishedAt, b.ID, b.StartedAt, b.FinishedAt)
			}
		}
	}
	if len(ids) != len(runs) {
		t.Errorf("run ids %v", ids)
	}
	// The recorded times agree.
	if n := queryInt(t, w, `SELECT count(*) FROM ops.transform_runs a JOIN ops.transform_runs b
		ON a.run_id < b.run_id AND a.started_at < b.finished_at AND b.started_at < a.finished_at`); n != 0 {
		t.Errorf("%d overlapping pairs recorded", n)
	}
	// A caller that gives up while waiting gets its context's error.
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		close(started)
		tr.RunNow(context.Background(), transform.RunRequest{})
	}()
	<-started
	time.Sleep(20 * time.Millisecond)
	cancel()
	if _, err := tr.RunNow(ctx, transform.RunRequest{}); err != context.Canceled {
		// The first run may have been so quick that the second got the
		// token before noticing ctx; it then fails on ctx inside.
		t.Logf("RunNow with a cancelled context: %v", err)
	}
	<-done
}

func TestSchedulerRunsOnNewEventsAndStopsCleanly(t *testing.T) {
	w := openWarehouse(t)
	var clock atomic.Int64
	clock.Store(time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC).UnixMicro())
	tr, err := transform.New(w.DB(), transform.Options{
		Models: models(map[string]string{
			"staging/logins.sql": `SELECT count(*) AS n, max(ingested_at) AS last FROM raw.user_login WHERE ingested_at <= pulse_cut()`,
			"marts/slow.sql":     `SELECT count(*) AS n FROM range(20000000) AS r(i), staging.logins WHERE i % 7 = 3`,
		}),
		Now:      func() time.Time { return time.UnixMicro(clock.Load()) },
		Interval: 20 * time.Millisecond,
		MaxIdle:  time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- tr.Run(ctx) }()

	runs := func() int64 {
		return queryInt(t, w, `SELECT count(*) FROM ops.transform_runs WHERE status <> 'running'`)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("the first run", func() bool { return runs() == 1 })
	// No new events, not idle for long: no run.
	time.Sleep(300 * time.Millisecond)
	if n := runs(); n != 1 {
		t.Fatalf("%d runs without new events", n)
	}
	load(t, w, login("e1", ""), login("e2", ""))
	waitFor("a run after new events", func() bool { return runs() == 2 })
	if n := queryInt(t, w, `SELECT n FROM staging.logins`); n != 2 {
		t.Errorf("staging.logins after the scheduled run: %d", n)
	}
	last, err := tr.LastRun(ctx)
	if err != nil || last.Full || last.Status != "ok" || last.Cut == nil {
		t.Fatalf("scheduled run: %+v %v", last, err)
	}
	// The clock moves past MaxIdle: running periods are refreshed.
	clock.Add(time.Hour.Microseconds())
	waitFor("a run after MaxIdle", func() bool { return runs() == 3 })

	// Stop while a run is in hand: it finishes and is recorded.
	load(t, w, login("e3", ""))
	waitFor("a run in progress", func() bool {
		return queryInt(t, w, `SELECT count(*) FROM ops.transform_runs WHERE status = 'running'`) == 1
	})
	cancel()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if n := queryInt(t, w, `SELECT count(*) FROM ops.transform_runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs left running after stop", n)
	}
	if got := queryString(t, w, `SELECT status FROM ops.transform_runs ORDER BY run_id DESC LIMIT 1`); got != "ok" {
		t.Errorf("the run in hand at stop ended %s", got)
	}
	if n := queryInt(t, w, `SELECT n FROM staging.logins`); n != 3 {
		t.Errorf("staging.logins after the last run: %d", n)
	}
	total := runs()
	time.Sleep(100 * time.Millisecond)
	if runs() != total {
		t.Error("runs after Run returned")
	}
}

func TestStopWaitsForTheRunInProgress(t *testing.T) {
	w := openWarehouse(t)
	tr, err := transform.New(w.DB(), transform.Options{Models: models(map[string]string{
		"staging/slow.sql": `SELECT count(*) AS n FROM range(30000000) AS r(i) WHERE i % 7 = 3`,
	})})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *transform.Run, 1)
	go func() {
		r, err := tr.RunNow(context.Background(), transform.RunRequest{})
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	deadline := time.Now().Add(10 * time.Second)
	for queryInt(t, w, `SELECT count(*) FROM ops.transform_runs WHERE status = 'running'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no run started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := tr.Stop(); err != nil {
		t.Fatal(err)
	}
	// Stop returned: the run is over and recorded.
	if got := queryString(t, w, `SELECT status FROM ops.transform_runs WHERE run_id = 1`); got != "ok" {
		t.Errorf("run in progress at Stop ended %s", got)
	}
	if r := <-done; r == nil || r.Status != "ok" {
		t.Errorf("run: %+v", r)
	}
	if _, err := tr.RunNow(context.Background(), transform.RunRequest{}); err != transform.ErrStopped {
		t.Errorf("RunNow after Stop: %v", err)
	}
}

// TestSchedulerStopsCleanlyDuringALongRun: SIGTERM during a run longer than
// the scheduler's own stop timeout made pulse run exit 1 ("gocron: timed out
// waiting for jobs to finish", soak run 6, a 5-minute run). The run in hand
// must finish and be recorded, and Run must return nil.
func TestSchedulerStopsCleanlyDuringALongRun(t *testing.T) {
	w := openWarehouse(t)
	tr, err := transform.New(w.DB(), transform.Options{Interval: 100 * time.Millisecond, Models: models(map[string]string{
		"staging/slow.sql": `SELECT count(*) AS n FROM range(400000000) AS r(i) WHERE i % 7 = 3`,
	})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for queryInt(t, w, `SELECT count(*) FROM ops.transform_runs WHERE status = 'running'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no run started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v after a run longer than the scheduler's stop timeout", err)
	}
	took := time.Since(stop)
	t.Logf("Run returned %v after the stop, once the run in hand ended", took.Round(time.Millisecond))
	if took < time.Second {
		t.Fatalf("the run ended %v after the stop: too short to pass the scheduler's 1 s stop timeout, so this test proves nothing", took)
	}
	if got := queryString(t, w, `SELECT status FROM ops.transform_runs ORDER BY run_id DESC LIMIT 1`); got != "ok" {
		t.Errorf("run in progress at the stop ended %s", got)
	}
}

// runThenLeaveRunning runs once, then records a next run as running that
// never ends: what a process killed under a run leaves, and what a run
// whose end could not be written leaves.
func runThenLeaveRunning(t *testing.T) (*warehouse.Warehouse, fstest.MapFS, *transform.Transformer, *transform.Run) {
	t.Helper()
	w := openWarehouse(t)
	fsys := models(map[string]string{"staging/logins.sql": `SELECT count(*) AS n FROM raw.user_login WHERE ingested_at <= pulse_cut()`})
	load(t, w, login("E1", ""))
	tr, err := transform.New(w.DB(), transform.Options{Models: fsys})
	if err != nil {
		t.Fatal(err)
	}
	first, err := tr.RunNow(context.Background(), transform.RunRequest{})
	if err != nil || first.Status != "ok" {
		t.Fatalf("first run: %v %+v", err, first)
	}
	if _, err := w.DB().Exec(`INSERT INTO ops.transform_runs (run_id, started_at, status, full_rebuild, as_of, cut, prev_cut, models_hash, params_hash)
		SELECT run_id + 1, now(), 'running', false, now(), cut, cut, models_hash, params_hash FROM ops.transform_runs WHERE run_id = ?`, first.ID); err != nil {
		t.Fatal(err)
	}
	return w, fsys, tr, first
}

// TestInterruptedRunIsClosedAtStart: a process killed during a run leaves
// the run recorded as running (the chaos suite's SIGKILL mid-transform
// found runs "running" for ever). The next process's transformer records
// it as failed, interrupted, and its first run rebuilds every model.
func TestInterruptedRunIsClosedAtStart(t *testing.T) {
	w, fsys, _, first := runThenLeaveRunning(t)
	// The process restarts.
	tr, err := transform.New(w.DB(), transform.Options{Models: fsys})
	if err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM ops.transform_runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs still recorded as running after a restart", n)
	}
	if n := queryInt(t, w, fmt.Sprintf(`SELECT count(*) FROM ops.transform_runs WHERE run_id = %d AND status = 'failed'
		AND finished_at IS NOT NULL AND error LIKE 'interrupted%%'`, first.ID+1)); n != 1 {
		t.Errorf("the interrupted run is not recorded as failed, interrupted")
	}
	next, err := tr.RunNow(context.Background(), transform.RunRequest{})
	if err != nil || next.Status != "ok" || !next.Full || next.ID != first.ID+2 {
		t.Errorf("the run after the interrupted one: %v, status %s, full %v, id %d (want ok, a full rebuild, id %d)",
			err, next.Status, next.Full, next.ID, first.ID+2)
	}
}

// TestUnrecordedEndIsClosedByTheNextRun: a run whose end could not be
// written (the chaos suite's disk-full round: the final UPDATE refused)
// stays recorded as running in the same process; the next run closes it.
func TestUnrecordedEndIsClosedByTheNextRun(t *testing.T) {
	w, _, tr, first := runThenLeaveRunning(t)
	next, err := tr.RunNow(context.Background(), transform.RunRequest{}) // the same process
	if err != nil || next.Status != "ok" || next.ID != first.ID+2 {
		t.Fatalf("the next run: %v, %+v", err, next)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM ops.transform_runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs still recorded as running after the next run", n)
	}
	if n := queryInt(t, w, fmt.Sprintf(`SELECT count(*) FROM ops.transform_runs WHERE run_id = %d AND status = 'failed'
		AND finished_at IS NOT NULL AND error LIKE 'its end could not be recorded%%'`, first.ID+1)); n != 1 {
		t.Errorf("the run whose end was not recorded is not closed as failed")
	}
}
