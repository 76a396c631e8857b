package alert_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pulsekpi/pulse/alert"
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

// ruleFS holds rule files that the tests fill by hand (the evaluator only
// reads alerts.<rule>; the transform runner is not needed to test the
// lifecycle).
var ruleFS = fstest.MapFS{
	"alerts/demo.sql":  {Data: []byte("SELECT 1")},
	"alerts/other.sql": {Data: []byte("SELECT 1")},
}

// setRows replaces alerts.<rule> with rows for the given subjects: value
// is the subject's number in the list.
func setRows(t *testing.T, w *warehouse.Warehouse, rule string, subjects ...string) {
	t.Helper()
	q := fmt.Sprintf(`CREATE OR REPLACE TABLE alerts.%s (subject_type VARCHAR, subject_id VARCHAR, subject_name VARCHAR,
		alert_window VARCHAR, employee_id VARCHAR, team_id VARCHAR, value DOUBLE, threshold DOUBLE,
		summary_en VARCHAR, summary_zh VARCHAR)`, rule)
	if _, err := w.DB().Exec(q); err != nil {
		t.Fatal(err)
	}
	for i, s := range subjects {
		if _, err := w.DB().Exec(fmt.Sprintf(`INSERT INTO alerts.%s VALUES ('employee', ?, 'Name '||?, '', ?, 't1', ?, 3, 'en '||?, 'zh '||?)`, rule),
			s, s, s, float64(i+1), s, s); err != nil {
			t.Fatal(err)
		}
	}
}

// recorder routes every change to channel c, resolutions too.
type recorder struct{ calls []string }

func (r *recorder) Route(a *alert.Alert, kind string) []alert.Target {
	r.calls = append(r.calls, kind+" "+a.Key)
	return []alert.Target{{Channel: "c", Manager: kind == alert.KindFiring}}
}

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

type step struct {
	run  int64
	at   time.Time
	rows []string
}

func evaluate(t *testing.T, ev *alert.Evaluator, run int64, at time.Time, built ...string) *alert.Evaluation {
	t.Helper()
	b := map[string]bool{}
	for _, r := range built {
		b[r] = true
	}
	res, err := ev.Evaluate(context.Background(), run, at, b)
	if err != nil {
		t.Fatalf("run %d: %v", run, err)
	}
	return res
}

// states lists key#episode=state for every alert row.
func states(t *testing.T, w *warehouse.Warehouse) string {
	t.Helper()
	rows, err := w.DB().Query(`SELECT alert_key || '#' || episode || '=' || state FROM ops.alerts ORDER BY alert_key, episode`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// queued lists kind key#episode for every queued notification.
func queued(t *testing.T, w *warehouse.Warehouse) string {
	t.Helper()
	rows, err := w.DB().Query(`SELECT kind || ' ' || alert_key || '#' || episode || ' ' || channel || CASE WHEN manager THEN '+m' ELSE '' END
		FROM ops.alert_notifications ORDER BY notification_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

func TestLifecycleFiresOnceResolvesAndReopens(t *testing.T) {
	w := openWarehouse(t)
	r := &recorder{}
	ev, err := alert.New(w.DB(), alert.Options{Models: ruleFS, Rules: map[string]alert.Rule{}, Router: r})
	if err != nil {
		t.Fatal(err)
	}
	setRows(t, w, "other")
	steps := []struct {
		rows       []string
		wantStates string
		wantQueued string
		fired, res int
	}{
		{[]string{"a", "b"}, "demo/employee:a#1=firing demo/employee:b#1=firing",
			"firing demo/employee:a#1 c+m, firing demo/employee:b#1 c+m", 2, 0},
		// evaluated again and again: nothing new is queued
		{[]string{"a", "b"}, "demo/employee:a#1=firing demo/employee:b#1=firing", "", 0, 0},
		{[]string{"b", "a"}, "demo/employee:a#1=firing demo/employee:b#1=firing", "", 0, 0},
		// a clears: resolved, with a resolution notice
		{[]string{"b"}, "demo/employee:a#1=resolved demo/employee:b#1=firing", "resolved demo/employee:a#1 c", 0, 1},
		{[]string{"b"}, "demo/employee:a#1=resolved demo/employee:b#1=firing", "", 0, 0},
		// a again: a new episode of the same key
		{[]string{"a", "b"}, "demo/employee:a#1=resolved demo/employee:a#2=firing demo/employee:b#1=firing", "firing demo/employee:a#2 c+m", 1, 0},
		{nil, "demo/employee:a#1=resolved demo/employee:a#2=resolved demo/employee:b#1=resolved",
			"resolved demo/employee:a#2 c, resolved demo/employee:b#1 c", 0, 2},
	}
	before := ""
	for i, s := range steps {
		setRows(t, w, "demo", s.rows...)
		res := evaluate(t, ev, int64(i+1), t0.Add(time.Duration(i)*time.Minute), "demo", "other")
		if got := states(t, w); got != s.wantStates {
			t.Errorf("step %d: states\n got %s\nwant %s", i, got, s.wantStates)
		}
		all := queued(t, w)
		got := strings.TrimPrefix(strings.TrimPrefix(all, before), ", ")
		if got != s.wantQueued {
			t.Errorf("step %d: queued\n got %q\nwant %q", i, got, s.wantQueued)
		}
		before = all
		if res.Fired != s.fired || res.Resolved != s.res || res.Rules != 2 {
			t.Errorf("step %d: evaluation %+v, want fired %d resolved %d rules 2", i, res, s.fired, s.res)
		}
	}
	// first seen, fired, last seen and resolved times of b's episode
	a, err := alert.Get(context.Background(), w.DB(), "demo/employee:b", 1, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !a.FirstSeen.Equal(t0) || !a.FiredAt.Equal(t0) || !a.LastSeen.Equal(t0.Add(5*time.Minute)) || !a.ResolvedAt.Equal(t0.Add(6*time.Minute)) {
		t.Errorf("times of b: first %v fired %v last %v resolved %v", a.FirstSeen, a.FiredAt, a.LastSeen, a.ResolvedAt)
	}
	if a.SummaryEN != "en b" || a.SummaryZH != "zh b" || a.Summary != "en b" || *a.Threshold != 3 || a.TeamID != "t1" {
		t.Errorf("b: %+v", a)
	}
}

func TestLifecycleHoldsPendingAlerts(t *testing.T) {
	w := openWarehouse(t)
	ev, err := alert.New(w.DB(), alert.Options{Models: ruleFS, Router: &recorder{},
		Rules: map[string]alert.Rule{"demo": {Enabled: true, Severity: alert.SeverityCritical, For: 10 * time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	setRows(t, w, "other")
	setRows(t, w, "demo", "a", "b")
	evaluate(t, ev, 1, t0, "demo", "other")
	if got, want := states(t, w), "demo/employee:a#1=pending demo/employee:b#1=pending"; got != want {
		t.Fatalf("states %s, want %s", got, want)
	}
	// b clears while pending: forgotten, never notified
	setRows(t, w, "demo", "a")
	evaluate(t, ev, 2, t0.Add(9*time.Minute), "demo", "other")
	if got, want := states(t, w), "demo/employee:a#1=pending"; got != want {
		t.Fatalf("states %s, want %s", got, want)
	}
	if q := queued(t, w); q != "" {
		t.Fatalf("queued while pending: %s", q)
	}
	evaluate(t, ev, 3, t0.Add(10*time.Minute), "demo", "other")
	if got, want := states(t, w), "demo/employee:a#1=firing"; got != want {
		t.Fatalf("states %s, want %s", got, want)
	}
	if q, want := queued(t, w), "firing demo/employee:a#1 c+m"; q != want {
		t.Fatalf("queued %q, want %q", q, want)
	}
	a, err := alert.Get(context.Background(), w.DB(), "demo/employee:a", 1, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !a.FirstSeen.Equal(t0) || !a.FiredAt.Equal(t0.Add(10*time.Minute)) || a.Severity != "critical" {
		t.Errorf("a: first seen %v fired %v severity %s", a.FirstSeen, a.FiredAt, a.Severity)
	}
}

func TestLifecycleSurvivesRestartAndSkipsUnbuiltRules(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := alert.New(w.DB(), alert.Options{Models: ruleFS, Rules: map[string]alert.Rule{}, Router: &recorder{}})
	if err != nil {
		t.Fatal(err)
	}
	setRows(t, w, "demo", "a")
	setRows(t, w, "other", "x")
	evaluate(t, ev, 1, t0, "demo", "other")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w, err = warehouse.Open(ctx, warehouse.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r := &recorder{}
	ev, err = alert.New(w.DB(), alert.Options{Models: ruleFS, Rules: map[string]alert.Rule{}, Router: r})
	if err != nil {
		t.Fatal(err)
	}
	// the same run again is refused: its notifications were queued
	if _, err := ev.Evaluate(ctx, 1, t0, map[string]bool{"demo": true}); !errors.Is(err, alert.ErrEvaluated) {
		t.Fatalf("evaluating run 1 again: %v, want ErrEvaluated", err)
	}
	// after the restart the firing alerts are still firing, and not queued again
	evaluate(t, ev, 2, t0.Add(time.Minute), "demo", "other")
	if len(r.calls) != 0 {
		t.Fatalf("routed again after a restart: %v", r.calls)
	}
	// other's model failed in run 3: its alert keeps its state though the
	// table (the old one) is empty now
	setRows(t, w, "other")
	res := evaluate(t, ev, 3, t0.Add(2*time.Minute), "demo")
	if got, want := states(t, w), "demo/employee:a#1=firing other/employee:x#1=firing"; got != want {
		t.Fatalf("states %s, want %s", got, want)
	}
	if res.Skipped != 1 || res.Rules != 1 {
		t.Fatalf("evaluation %+v: want 1 rule evaluated and 1 skipped", res)
	}
	// a disabled rule resolves its alerts
	ev, err = alert.New(w.DB(), alert.Options{Models: ruleFS, Router: r,
		Rules: map[string]alert.Rule{"demo": {Severity: alert.SeverityInfo}}})
	if err != nil {
		t.Fatal(err)
	}
	setRows(t, w, "other", "x")
	evaluate(t, ev, 4, t0.Add(3*time.Minute), "demo", "other")
	if got, want := states(t, w), "demo/employee:a#1=resolved other/employee:x#1=firing"; got != want {
		t.Fatalf("states %s, want %s", got, want)
	}
	if got := queued(t, w); !strings.HasSuffix(got, "resolved demo/employee:a#1 c") || strings.Count(got, "firing") != 2 {
		t.Fatalf("queued %q", got)
	}
}

func TestEvaluationReportsBadRulesAndWaitsForIngest(t *testing.T) {
	w := openWarehouse(t)
	ctx := context.Background()
	lag := int64(500_000)
	ev, err := alert.New(w.DB(), alert.Options{Models: ruleFS, Rules: map[string]alert.Rule{},
		Lag: func(context.Context) (int64, error) { return lag, nil }})
	if err != nil {
		t.Fatal(err)
	}
	setRows(t, w, "demo", "a")
	res, err := ev.Evaluate(ctx, 1, t0, map[string]bool{"demo": true, "other": true})
	if err != nil || !strings.Contains(res.SkippedAll, "lag 500000") || states(t, w) != "" {
		t.Fatalf("while lagging: %+v, %v, states %q", res, err, states(t, w))
	}
	lag = 0
	// other lacks the contract's columns
	if _, err := w.DB().Exec(`CREATE OR REPLACE TABLE alerts.other AS SELECT 'employee' AS subject_type, 'x' AS subject_id`); err != nil {
		t.Fatal(err)
	}
	res, err = ev.Evaluate(ctx, 2, t0, map[string]bool{"demo": true, "other": true})
	if err == nil || !strings.Contains(err.Error(), "rule other (sql/alerts/other.sql): missing column subject_name") {
		t.Fatalf("err %v", err)
	}
	if res.Rules != 1 || res.Firing != 1 {
		t.Fatalf("evaluation %+v: want demo evaluated with 1 firing", res)
	}
	var problem string
	if err := w.DB().QueryRow(`SELECT error FROM ops.alert_evaluations WHERE run_id = 2`).Scan(&problem); err != nil || !strings.Contains(problem, "missing column") {
		t.Fatalf("recorded problem %q, %v", problem, err)
	}
}

func TestCheckRulesRefusesUnknownRulesAndSettings(t *testing.T) {
	if _, err := alert.CheckRules(ruleFS, map[string]alert.Rule{"nosuch": alert.DefaultRule()}); err == nil ||
		!strings.Contains(err.Error(), "no file sql/alerts/nosuch.sql") {
		t.Errorf("unknown rule: %v", err)
	}
	if _, err := alert.CheckRules(ruleFS, map[string]alert.Rule{"demo": {Severity: "loud"}}); err == nil ||
		!strings.Contains(err.Error(), "alerts.rules.demo.severity") {
		t.Errorf("bad severity: %v", err)
	}
	fsys := fstest.MapFS{"alerts/demo.sql": {Data: []byte("-- demo\nSELECT 1\nWHERE x > pulse_alert_param('demo', 'min')")}}
	_, err := alert.CheckRules(fsys, nil)
	if err == nil || !strings.Contains(err.Error(), "sql/alerts/demo.sql:3: pulse_alert_param: alerts.rules.demo.params.min is not configured") {
		t.Errorf("unconfigured parameter: %v", err)
	}
	rules, err := alert.CheckRules(fsys, map[string]alert.Rule{"demo": {Severity: "info", Params: map[string]float64{"min": 2}}})
	if err != nil || rules["demo"].Params["min"] != 2 {
		t.Errorf("configured: %v %+v", err, rules)
	}
}
