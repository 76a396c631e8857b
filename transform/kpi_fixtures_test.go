package transform_test

// Hand-computed KPI fixtures: every YAML file in testdata/kpis holds events
// (in ingest batches) and the KPI values a person computed from
// shared/spec/metrics.md and docs/metrics-notes.md, with the arithmetic in
// comments. Each fixture is checked twice: after loading every batch and
// running one full rebuild, and after loading the batches one by one with an
// incremental run after each (incremental must equal full).

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

// kpiFixture is one file of testdata/kpis.
type kpiFixture struct {
	Name          string         `yaml:"name"`
	Timezone      string         `yaml:"timezone"`
	Now           string         `yaml:"now"`
	Holidays      []string       `yaml:"holidays"`
	MakeupDays    []string       `yaml:"makeup_days"`
	SLAMinutes    map[string]int `yaml:"sla_minutes"`
	ProfileFields []string       `yaml:"profile_fields"`
	Batches       []fixtureBatch `yaml:"batches"`
	Expect        []yaml.Node    `yaml:"expect"`
	ExpectSQL     []yaml.Node    `yaml:"expect_sql"`

	file   string
	now    time.Time
	expect []kpiExpectation
	sqls   []sqlExpectation
}

type fixtureBatch struct {
	Topic  string           `yaml:"topic"`
	Events []map[string]any `yaml:"events"`
}

// kpiExpectation is one value of a long-form KPI mart.
type kpiExpectation struct {
	Grain      string   `yaml:"grain"`
	Period     string   `yaml:"period"`
	EmployeeID string   `yaml:"employee_id"`
	TeamID     string   `yaml:"team_id"`
	Company    bool     `yaml:"company"`
	KPI        string   `yaml:"kpi"`
	Value      *float64 `yaml:"value"` // nil: SQL NULL
	line       int
}

// sqlExpectation is a statement returning one row of one value.
type sqlExpectation struct {
	SQL   string   `yaml:"sql"`
	Value *float64 `yaml:"value"`
	line  int
}

func (e kpiExpectation) subject() string {
	switch {
	case e.EmployeeID != "":
		return "employee " + e.EmployeeID
	case e.TeamID != "":
		return "team " + e.TeamID
	default:
		return "company"
	}
}

func (e kpiExpectation) String() string {
	return fmt.Sprintf("line %d: %s %s %s %s", e.line, e.Grain, e.Period, e.subject(), e.KPI)
}

func fmtValue(v *float64) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(*v)
}

// hasValueKey reports whether a mapping node has a "value" key, so that a
// forgotten value is not read as NULL.
func hasValueKey(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "value" {
			return true
		}
	}
	return false
}

func loadKPIFixture(t *testing.T, path string) *kpiFixture {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fx kpiFixture
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&fx); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	fx.file = filepath.Base(path)
	if fx.Timezone == "" {
		fx.Timezone = "UTC"
	}
	if fx.now, err = time.Parse(time.RFC3339, fx.Now); err != nil {
		t.Fatalf("%s: now: %v", path, err)
	}
	grains := map[string]bool{"day": true, "week": true, "month": true, "quarter": true}
	for i := range fx.Expect {
		n := &fx.Expect[i]
		var e kpiExpectation
		if err := n.Decode(&e); err != nil {
			t.Fatalf("%s line %d: %v", path, n.Line, err)
		}
		e.line = n.Line
		subjects := 0
		for _, s := range []bool{e.EmployeeID != "", e.TeamID != "", e.Company} {
			if s {
				subjects++
			}
		}
		switch {
		case !hasValueKey(n):
			t.Fatalf("%s line %d: no value (write value: null for NULL)", path, n.Line)
		case subjects != 1:
			t.Fatalf("%s line %d: name exactly one of employee_id, team_id, company", path, n.Line)
		case !grains[e.Grain]:
			t.Fatalf("%s line %d: grain %q", path, n.Line, e.Grain)
		case e.KPI == "":
			t.Fatalf("%s line %d: no kpi", path, n.Line)
		}
		if _, err := time.Parse(time.DateOnly, e.Period); err != nil {
			t.Fatalf("%s line %d: period: %v", path, n.Line, err)
		}
		fx.expect = append(fx.expect, e)
	}
	for i := range fx.ExpectSQL {
		n := &fx.ExpectSQL[i]
		var e sqlExpectation
		if err := n.Decode(&e); err != nil {
			t.Fatalf("%s line %d: %v", path, n.Line, err)
		}
		if !hasValueKey(n) || e.SQL == "" {
			t.Fatalf("%s line %d: an expect_sql entry needs sql and value", path, n.Line)
		}
		e.line = n.Line
		fx.sqls = append(fx.sqls, e)
	}
	if len(fx.expect)+len(fx.sqls) == 0 {
		t.Fatalf("%s: no expectations", path)
	}
	return &fx
}

func (fx *kpiFixture) params() transform.Params {
	p := transform.DefaultParams()
	p.Timezone = fx.Timezone
	p.Holidays = fx.Holidays
	p.MakeupDays = fx.MakeupDays
	for pr, m := range fx.SLAMinutes {
		p.SLAMinutes[pr] = m
	}
	if len(fx.ProfileFields) > 0 {
		p.ProfileFields = fx.ProfileFields
	}
	return p
}

// batchValues marshals a batch's events and says how many of them are new
// (not seen in this or an earlier batch); seen is updated.
func batchValues(t *testing.T, fx *kpiFixture, i int, seen map[string]bool) (topic string, values [][]byte, stored int) {
	t.Helper()
	b := fx.Batches[i]
	topic = b.Topic
	if topic == "" {
		topic = "crm.events"
	}
	for j, ev := range b.Events {
		v, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("%s batch %d event %d: %v", fx.file, i+1, j+1, err)
		}
		values = append(values, v)
		id, _ := ev["event_id"].(string)
		if id == "" {
			t.Fatalf("%s batch %d event %d: no event_id", fx.file, i+1, j+1)
		}
		if !seen[id] {
			seen[id] = true
			stored++
		}
	}
	return topic, values, stored
}

func loadBatch(ctx context.Context, t *testing.T, w *warehouse.Warehouse, fx *kpiFixture, i int, seen map[string]bool) {
	t.Helper()
	topic, values, stored := batchValues(t, fx, i, seen)
	res, err := ingest.Load(ctx, w, topic, values)
	if err != nil {
		t.Fatalf("%s: loading batch %d: %v", fx.file, i+1, err)
	}
	if res.Total.Refused != 0 || res.Total.Stored != int64(stored) || res.Total.Duplicates != int64(len(values)-stored) {
		var reasons []string
		rows, qerr := w.DB().QueryContext(ctx, "SELECT reason FROM ops.refused_events ORDER BY kafka_offset")
		if qerr == nil {
			for rows.Next() {
				var r string
				rows.Scan(&r)
				reasons = append(reasons, r)
			}
			rows.Close()
		}
		t.Fatalf("%s: batch %d of %d events: want %d stored and %d duplicates, got %+v; refusals so far: %q",
			fx.file, i+1, len(values), stored, len(values)-stored, res.Total, reasons)
	}
}

func runTransform(ctx context.Context, t *testing.T, tr *transform.Transformer, full bool, what string) {
	t.Helper()
	run, err := tr.RunNow(ctx, transform.RunRequest{Full: full})
	if err != nil {
		t.Fatalf("%s: transform run (full=%v): %v", what, full, err)
	}
	if run.Status != "ok" {
		var b strings.Builder
		for _, m := range run.Models {
			if m.Error != "" {
				fmt.Fprintf(&b, "\n  %s: %s", m.Name, m.Error)
			}
		}
		t.Fatalf("%s: transform run (full=%v) status %q:%s\n%+v", what, full, run.Status, b.String(), run)
	}
}

func closeEnough(want, got float64) bool {
	if want == got {
		return true
	}
	return math.Abs(want-got) <= 1e-9*math.Max(1, math.Abs(want))
}

func sameValue(want *float64, got sql.NullFloat64) bool {
	if want == nil || !got.Valid {
		return want == nil && !got.Valid
	}
	return closeEnough(*want, got.Float64)
}

func fmtNull(v sql.NullFloat64) string {
	if !v.Valid {
		return "NULL"
	}
	return fmt.Sprint(v.Float64)
}

// checkExpectations compares every expectation with the marts and reports
// each disagreement.
func checkExpectations(ctx context.Context, t *testing.T, db *sql.DB, fx *kpiFixture, how string) {
	t.Helper()
	failed := 0
	for _, e := range fx.expect {
		var q, subject string
		switch {
		case e.EmployeeID != "":
			q, subject = "SELECT value FROM marts.employee_kpis WHERE grain = ? AND period_start = CAST(? AS DATE) AND employee_id = ? AND kpi = ?", e.EmployeeID
		case e.TeamID != "":
			q, subject = "SELECT value FROM marts.team_kpis WHERE grain = ? AND period_start = CAST(? AS DATE) AND team_id = ? AND kpi = ?", e.TeamID
		default:
			q = "SELECT value FROM marts.company_kpis WHERE grain = ? AND period_start = CAST(? AS DATE) AND kpi = ?"
		}
		args := []any{e.Grain, e.Period}
		if subject != "" {
			args = append(args, subject)
		}
		args = append(args, e.KPI)
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s (%s): %v: querying %v", fx.file, how, e, err)
		}
		var got []sql.NullFloat64
		for rows.Next() {
			var v sql.NullFloat64
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		switch {
		case len(got) == 0:
			t.Errorf("%s (%s) %v: want %s, got no row", fx.file, how, e, fmtValue(e.Value))
			failed++
		case len(got) > 1:
			t.Errorf("%s (%s) %v: want %s, got %d rows", fx.file, how, e, fmtValue(e.Value), len(got))
			failed++
		case !sameValue(e.Value, got[0]):
			t.Errorf("%s (%s) %v: want %s, got %s", fx.file, how, e, fmtValue(e.Value), fmtNull(got[0]))
			failed++
		}
	}
	for _, e := range fx.sqls {
		rows, err := db.QueryContext(ctx, e.SQL)
		if err != nil {
			t.Errorf("%s (%s) line %d: %s: %v", fx.file, how, e.line, e.SQL, err)
			failed++
			continue
		}
		var got []sql.NullFloat64
		for rows.Next() {
			var v sql.NullFloat64
			if err := rows.Scan(&v); err != nil {
				t.Errorf("%s (%s) line %d: %s: %v", fx.file, how, e.line, e.SQL, err)
				break
			}
			got = append(got, v)
		}
		rows.Close()
		switch {
		case len(got) != 1:
			t.Errorf("%s (%s) line %d: %s: want one row of %s, got %d rows", fx.file, how, e.line, e.SQL, fmtValue(e.Value), len(got))
			failed++
		case !sameValue(e.Value, got[0]):
			t.Errorf("%s (%s) line %d: %s: want %s, got %s", fx.file, how, e.line, e.SQL, fmtValue(e.Value), fmtNull(got[0]))
			failed++
		}
	}
	if failed > 0 {
		t.Logf("%s (%s): %d of %d expectations failed", fx.file, how, failed, len(fx.expect)+len(fx.sqls))
	}
}

func TestKPIFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "kpis", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata/kpis")
	}
	for _, path := range files {
		fx := loadKPIFixture(t, path)
		t.Run(strings.TrimSuffix(fx.file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			t.Logf("%s: %s", fx.file, fx.Name)
			t.Run("full", func(t *testing.T) { runFixture(t, fx, false) })
			t.Run("incremental", func(t *testing.T) { runFixture(t, fx, true) })
		})
	}
}

// runFixture loads the fixture's batches and checks its expectations: after
// one full run over everything, or with an incremental run after each batch.
func runFixture(t *testing.T, fx *kpiFixture, incremental bool) {
	ctx := context.Background()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: t.TempDir(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Ingest is behind while batches remain to be loaded, so that no month
	// or quarter is frozen half-loaded (as with a back-fill in flight); the
	// last run sees ingest caught up and may close periods.
	loaded := 0
	lag := func(context.Context) (int64, error) { return int64(len(fx.Batches) - loaded), nil }
	tr, err := transform.New(w.DB(), transform.Options{
		// the alert rules are models too; they read their settings from macros
		Macros: alert.Statements(alert.DefaultRules()),
		Params: fx.params(),
		Now:    func() time.Time { return fx.now },
		Lag:    lag,
	})
	if err != nil {
		t.Fatalf("%s: transform.New: %v", fx.file, err)
	}
	defer tr.Stop()
	seen := map[string]bool{}
	how := "full"
	if incremental {
		how = "incremental"
	}
	for i := range fx.Batches {
		loadBatch(ctx, t, w, fx, i, seen)
		loaded++
		if incremental {
			runTransform(ctx, t, tr, false, fmt.Sprintf("%s after batch %d", fx.file, i+1))
		}
	}
	if !incremental {
		runTransform(ctx, t, tr, true, fx.file)
	}
	checkExpectations(ctx, t, w.DB(), fx, how)
}
