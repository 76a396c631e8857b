package alert_test

// Hand-computed fixtures for the alert rules of sql/alerts: every YAML file
// in testdata/rules holds a calendar, rule overrides and steps. A step
// moves the clock to its now, loads its event batches, runs the transform
// (the rules are models of its alerts layer) and compares, for every rule
// the fixture checks, the complete set of rows the rule's table holds with
// the step's expectations: a rule that fires, one that stays quiet on the
// safe side of its threshold (no row), one that resolves (its row is gone
// at a later step). Expected values were computed by hand; the arithmetic
// is in the YAML comments.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/ingest"
	sqlfiles "github.com/pulsekpi/pulse/sql"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

// ruleFixture is one file of testdata/rules.
type ruleFixture struct {
	Name          string                  `yaml:"name"`
	Timezone      string                  `yaml:"timezone"`
	Holidays      []string                `yaml:"holidays"`
	MakeupDays    []string                `yaml:"makeup_days"`
	SLAMinutes    map[string]int          `yaml:"sla_minutes"`
	ProfileFields []string                `yaml:"profile_fields"`
	Rules         map[string]ruleOverride `yaml:"rules"`
	// Check lists the rules whose tables are compared in full at every
	// step: a rule listed here and absent from a step's expect must have
	// no row.
	Check []string          `yaml:"check"`
	Steps []ruleFixtureStep `yaml:"steps"`

	file string
	loc  *time.Location
}

// ruleOverride changes a default rule's settings.
type ruleOverride struct {
	Threshold *float64            `yaml:"threshold"`
	Params    map[string]float64  `yaml:"params"`
	Lists     map[string][]string `yaml:"lists"`
}

type ruleFixtureStep struct {
	Now      string                 `yaml:"now"`
	Batches  []ruleFixtureBatch     `yaml:"batches"`
	Generate []eventGenerator       `yaml:"generate"`
	Bursts   []followupBurst        `yaml:"bursts"`
	Expect   map[string][]yaml.Node `yaml:"expect"`

	now    time.Time
	expect map[string][]ruleExpectation
}

type ruleFixtureBatch struct {
	Topic  string           `yaml:"topic"`
	Events []map[string]any `yaml:"events"`
}

// eventGenerator makes many events of one kind, a number per day, for
// baselines that would be tedious to write out: the count of a day is
// days[day] when given, else per_weekday[Monday = 0 … Sunday = 6] plus
// noise[week % len(noise)], week counting from `from`.
type eventGenerator struct {
	Kind       string         `yaml:"kind"` // followups, logins, tickets, contracts
	Employees  []string       `yaml:"employees"`
	From       string         `yaml:"from"`
	To         string         `yaml:"to"`
	PerWeekday []int          `yaml:"per_weekday"`
	Noise      []int          `yaml:"noise"`
	Days       map[string]int `yaml:"days"`
	At         string         `yaml:"at"`     // local time of the first event of a day, default 10:00
	Amount     float64        `yaml:"amount"` // contracts; default 1
}

// followupBurst makes count follow-ups by one employee, recorded every
// every_seconds from start, each occurred delay_hours before it was
// recorded: entries in a burst, or back-filled records.
type followupBurst struct {
	Employee     string  `yaml:"employee"`
	Start        string  `yaml:"start"` // recorded_at of the first, RFC 3339
	Count        int     `yaml:"count"`
	EverySeconds float64 `yaml:"every_seconds"`
	DelayHours   float64 `yaml:"delay_hours"`
}

func (b followupBurst) events(t *testing.T, fx *ruleFixture, id string) []map[string]any {
	t.Helper()
	start, err := time.Parse(time.RFC3339, b.Start)
	if err != nil || b.Employee == "" || b.Count <= 0 {
		t.Fatalf("%s: burst %s: needs employee, start (RFC 3339) and count", fx.file, id)
	}
	var out []map[string]any
	for i := 0; i < b.Count; i++ {
		rec := start.Add(time.Duration(float64(i) * b.EverySeconds * float64(time.Second)))
		occ := rec.Add(-time.Duration(b.DelayHours * float64(time.Hour)))
		eid := fmt.Sprintf("%s-%d", id, i)
		out = append(out, map[string]any{
			"event_id": eid, "event_type": "followup.logged",
			"occurred_at": occ.Format(time.RFC3339Nano), "recorded_at": rec.Format(time.RFC3339Nano),
			"data": map[string]any{"followup_id": eid, "customer_id": "bc-" + b.Employee, "employee_id": b.Employee, "channel": "phone"},
		})
	}
	return out
}

// ruleExpectation is one row a rule's table must hold.
type ruleExpectation struct {
	SubjectType string  `yaml:"subject_type"`
	SubjectID   string  `yaml:"subject_id"`
	Window      string  `yaml:"alert_window"`
	Value       float64 `yaml:"value"`
	// Tolerance is the absolute difference allowed on value; default a
	// relative 1e-9.
	Tolerance   float64        `yaml:"tolerance"`
	Threshold   float64        `yaml:"threshold"`
	SubjectName *string        `yaml:"subject_name"`
	EmployeeID  *string        `yaml:"employee_id"`
	TeamID      *string        `yaml:"team_id"`
	SummaryEN   string         `yaml:"summary_en"` // a substring of it
	SummaryZH   string         `yaml:"summary_zh"`
	Details     map[string]any `yaml:"details"` // these keys of details, as JSON values
	line        int
}

func (e ruleExpectation) key() string {
	return e.SubjectType + ":" + e.SubjectID + "/" + e.Window
}

func fixtureHasKey(n *yaml.Node, key string) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

func loadRuleFixture(t *testing.T, path string) *ruleFixture {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fx ruleFixture
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&fx); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	fx.file = filepath.Base(path)
	if fx.Timezone == "" {
		fx.Timezone = "UTC"
	}
	if fx.loc, err = time.LoadLocation(fx.Timezone); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(fx.Check) == 0 || len(fx.Steps) == 0 {
		t.Fatalf("%s: a fixture needs check (rules) and steps", path)
	}
	for i := range fx.Steps {
		s := &fx.Steps[i]
		if s.now, err = time.Parse(time.RFC3339, s.Now); err != nil {
			t.Fatalf("%s step %d: now: %v", path, i+1, err)
		}
		s.expect = map[string][]ruleExpectation{}
		for rule, nodes := range s.Expect {
			if !slices.Contains(fx.Check, rule) {
				t.Fatalf("%s step %d: expectations for %s, which check does not list", path, i+1, rule)
			}
			for j := range nodes {
				n := &nodes[j]
				var e ruleExpectation
				if err := n.Decode(&e); err != nil {
					t.Fatalf("%s line %d: %v", path, n.Line, err)
				}
				for _, k := range []string{"subject_type", "subject_id", "alert_window", "value", "threshold", "summary_en", "summary_zh"} {
					if !fixtureHasKey(n, k) {
						t.Fatalf("%s line %d: no %s", path, n.Line, k)
					}
				}
				if e.SummaryEN == "" || e.SummaryZH == "" {
					t.Fatalf("%s line %d: summary_en and summary_zh must not be empty", path, n.Line)
				}
				e.line = n.Line
				s.expect[rule] = append(s.expect[rule], e)
			}
		}
	}
	return &fx
}

// rules are the default rules with the fixture's overrides, checked
// against the rule files as the server does.
func (fx *ruleFixture) rules(t *testing.T) map[string]alert.Rule {
	t.Helper()
	rules := alert.DefaultRules()
	for name, o := range fx.Rules {
		r, ok := rules[name]
		if !ok {
			t.Fatalf("%s: rules: no rule %s", fx.file, name)
		}
		if o.Threshold != nil {
			r.Threshold = *o.Threshold
		}
		r.Params = mergeSettings(r.Params, o.Params)
		r.Lists = mergeSettings(r.Lists, o.Lists)
		rules[name] = r
	}
	checked, err := alert.CheckRules(sqlfiles.FS, rules)
	if err != nil {
		t.Fatalf("%s: %v", fx.file, err)
	}
	return checked
}

func mergeSettings[V any](base, over map[string]V) map[string]V {
	out := map[string]V{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

func (fx *ruleFixture) params() transform.Params {
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

// events of a eventGenerator, by topic.
func (g eventGenerator) events(t *testing.T, fx *ruleFixture, id string) (string, []map[string]any) {
	t.Helper()
	from, err1 := time.Parse(time.DateOnly, g.From)
	to, err2 := time.Parse(time.DateOnly, g.To)
	if err1 != nil || err2 != nil || len(g.Employees) == 0 || len(g.PerWeekday) != 7 {
		t.Fatalf("%s: eventGenerator %s: needs from, to, employees and 7 per_weekday counts", fx.file, id)
	}
	at := g.At
	if at == "" {
		at = "10:00"
	}
	start, err := time.Parse("15:04", at)
	if err != nil {
		t.Fatalf("%s: eventGenerator %s: at: %v", fx.file, id, err)
	}
	amount := g.Amount
	if amount == 0 {
		amount = 1
	}
	topic := "crm.events"
	var out []map[string]any
	for day, week := from, 0; !day.After(to); day = day.AddDate(0, 0, 1) {
		week = int(day.Sub(from).Hours()/24) / 7
		n, ok := g.Days[day.Format(time.DateOnly)]
		if !ok {
			n = g.PerWeekday[(int(day.Weekday())+6)%7]
			if len(g.Noise) > 0 {
				n += g.Noise[week%len(g.Noise)]
			}
		}
		if g.Kind == "logins" && n > len(g.Employees) {
			t.Fatalf("%s: eventGenerator %s: %d logins on %s but %d employees", fx.file, id, n, day.Format(time.DateOnly), len(g.Employees))
		}
		base := time.Date(day.Year(), day.Month(), day.Day(), start.Hour(), start.Minute(), 0, 0, fx.loc)
		for i := 0; i < max(n, 0); i++ {
			ts := base.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
			emp := g.Employees[i%len(g.Employees)]
			eid := fmt.Sprintf("%s-%s-%d", id, day.Format("20060102"), i)
			ev := map[string]any{"event_id": eid, "occurred_at": ts}
			switch g.Kind {
			case "followups":
				ev["event_type"] = "followup.logged"
				ev["data"] = map[string]any{"followup_id": eid, "customer_id": "gc-" + emp, "employee_id": emp, "channel": "phone"}
			case "logins":
				ev["event_type"] = "user.login"
				ev["data"] = map[string]any{"employee_id": emp}
			case "tickets":
				topic = "ticket.events"
				ev["event_type"] = "ticket.opened"
				ev["data"] = map[string]any{"ticket_id": eid, "customer_id": "gc-" + emp, "priority": "low", "assignee_id": emp}
			case "contracts":
				topic = "finance.events"
				ev["event_type"] = "contract.signed"
				ev["data"] = map[string]any{"contract_id": eid, "customer_id": "gc-" + emp, "owner_id": emp, "amount": amount}
			default:
				t.Fatalf("%s: eventGenerator %s: kind %q (followups, logins, tickets, contracts)", fx.file, id, g.Kind)
			}
			out = append(out, ev)
		}
	}
	return topic, out
}

func loadFixtureEvents(ctx context.Context, t *testing.T, w *warehouse.Warehouse, fx *ruleFixture, what, topic string, events []map[string]any) {
	t.Helper()
	if topic == "" {
		topic = "crm.events"
	}
	values := make([][]byte, len(events))
	for i, ev := range events {
		v, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("%s %s event %d: %v", fx.file, what, i+1, err)
		}
		values[i] = v
	}
	res, err := ingest.Load(ctx, w, topic, values)
	if err != nil {
		t.Fatalf("%s: loading %s: %v", fx.file, what, err)
	}
	if res.Total.Refused != 0 || res.Total.Stored != int64(len(values)) {
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
		t.Fatalf("%s: %s: %d events, %+v; refusals so far: %q", fx.file, what, len(values), res.Total, reasons)
	}
}

// ruleTableRow is one row of a rule's table.
type ruleTableRow struct {
	SubjectType, SubjectID, Window string
	SubjectName                    sql.NullString
	EmployeeID, TeamID             sql.NullString
	Value, Threshold               sql.NullFloat64
	SummaryEN, SummaryZH           sql.NullString
	Details                        sql.NullString
}

func (r ruleTableRow) key() string { return r.SubjectType + ":" + r.SubjectID + "/" + r.Window }

func readRuleTable(ctx context.Context, t *testing.T, db *sql.DB, rule string) map[string]ruleTableRow {
	t.Helper()
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT subject_type, subject_id, alert_window, subject_name,
		employee_id, team_id, value, threshold, summary_en, summary_zh, CAST(details AS VARCHAR)
		FROM alerts.%s`, rule))
	if err != nil {
		t.Fatalf("reading alerts.%s: %v", rule, err)
	}
	defer rows.Close()
	out := map[string]ruleTableRow{}
	for rows.Next() {
		var r ruleTableRow
		if err := rows.Scan(&r.SubjectType, &r.SubjectID, &r.Window, &r.SubjectName, &r.EmployeeID, &r.TeamID,
			&r.Value, &r.Threshold, &r.SummaryEN, &r.SummaryZH, &r.Details); err != nil {
			t.Fatal(err)
		}
		out[r.key()] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func ruleValueClose(want, got, tolerance float64) bool {
	if tolerance > 0 {
		return math.Abs(want-got) <= tolerance
	}
	return want == got || math.Abs(want-got) <= 1e-9*math.Max(1, math.Abs(want))
}

func fixtureNullString(s sql.NullString) string {
	if !s.Valid {
		return "NULL"
	}
	return fmt.Sprintf("%q", s.String)
}

// checkRuleRow compares one row with its expectation and returns what differs.
func checkRuleRow(e ruleExpectation, r ruleTableRow) []string {
	var bad []string
	if !r.Value.Valid || !ruleValueClose(e.Value, r.Value.Float64, e.Tolerance) {
		bad = append(bad, fmt.Sprintf("value: want %v, got %v", e.Value, r.Value))
	}
	if !r.Threshold.Valid || !ruleValueClose(e.Threshold, r.Threshold.Float64, 0) {
		bad = append(bad, fmt.Sprintf("threshold: want %v, got %v", e.Threshold, r.Threshold))
	}
	for _, s := range []struct {
		name string
		want *string
		got  sql.NullString
	}{{"subject_name", e.SubjectName, r.SubjectName}, {"employee_id", e.EmployeeID, r.EmployeeID}, {"team_id", e.TeamID, r.TeamID}} {
		if s.want == nil {
			continue
		}
		if *s.want == "" && !s.got.Valid {
			continue // "" in the fixture: NULL
		}
		if !s.got.Valid || s.got.String != *s.want {
			bad = append(bad, fmt.Sprintf("%s: want %q, got %s", s.name, *s.want, fixtureNullString(s.got)))
		}
	}
	if !strings.Contains(r.SummaryEN.String, e.SummaryEN) {
		bad = append(bad, fmt.Sprintf("summary_en: want it to contain %q, got %s", e.SummaryEN, fixtureNullString(r.SummaryEN)))
	}
	if !strings.Contains(r.SummaryZH.String, e.SummaryZH) {
		bad = append(bad, fmt.Sprintf("summary_zh: want it to contain %q, got %s", e.SummaryZH, fixtureNullString(r.SummaryZH)))
	}
	if len(e.Details) > 0 {
		var got map[string]any
		if err := json.Unmarshal([]byte(r.Details.String), &got); err != nil {
			bad = append(bad, fmt.Sprintf("details: %v in %s", err, fixtureNullString(r.Details)))
		} else {
			for k, want := range e.Details {
				wj, _ := json.Marshal(want)
				var wv any
				json.Unmarshal(wj, &wv)
				if !sameJSONValue(wv, got[k]) {
					bad = append(bad, fmt.Sprintf("details.%s: want %s, got %v", k, wj, got[k]))
				}
			}
		}
	}
	return bad
}

// sameJSONValue compares decoded JSON values, numbers within 1e-9.
func sameJSONValue(want, got any) bool {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		return ok && ruleValueClose(w, g, 0)
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameJSONValue(w[i], g[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(want, got)
	}
}

func TestRuleFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "rules", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata/rules")
	}
	covered := map[string]bool{}
	for _, path := range files {
		fx := loadRuleFixture(t, path)
		for _, r := range fx.Check {
			covered[r] = true
		}
		t.Run(strings.TrimSuffix(fx.file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			t.Logf("%s: %s", fx.file, fx.Name)
			runRuleFixture(t, fx)
		})
	}
	names, err := alert.RuleNames(sqlfiles.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !covered[n] {
			t.Errorf("rule %s: no fixture checks it", n)
		}
	}
}

func runRuleFixture(t *testing.T, fx *ruleFixture) {
	ctx := context.Background()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: t.TempDir(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cur := 0
	tr, err := transform.New(w.DB(), transform.Options{
		Params: fx.params(),
		Now:    func() time.Time { return fx.Steps[cur].now },
		Macros: alert.Statements(fx.rules(t)),
	})
	if err != nil {
		t.Fatalf("%s: transform.New: %v", fx.file, err)
	}
	defer tr.Stop()
	for cur = range fx.Steps {
		s := &fx.Steps[cur]
		where := fmt.Sprintf("%s step %d (now %s)", fx.file, cur+1, s.Now)
		for i, b := range s.Batches {
			loadFixtureEvents(ctx, t, w, fx, fmt.Sprintf("step %d batch %d", cur+1, i+1), b.Topic, b.Events)
		}
		for i, g := range s.Generate {
			id := fmt.Sprintf("s%dg%d", cur+1, i+1)
			topic, events := g.events(t, fx, id)
			loadFixtureEvents(ctx, t, w, fx, "generator "+id, topic, events)
		}
		for i, b := range s.Bursts {
			id := fmt.Sprintf("s%db%d", cur+1, i+1)
			loadFixtureEvents(ctx, t, w, fx, "burst "+id, "crm.events", b.events(t, fx, id))
		}
		run, err := tr.RunNow(ctx, transform.RunRequest{})
		if err != nil {
			t.Fatalf("%s: transform run: %v", where, err)
		}
		if run.Status != transform.StatusOK {
			var b strings.Builder
			for _, m := range run.Models {
				if m.Error != "" {
					fmt.Fprintf(&b, "\n  %s: %s", m.Name, m.Error)
				}
			}
			t.Fatalf("%s: transform run status %q: %s%s", where, run.Status, run.Error, b.String())
		}
		for _, tr := range run.Tests {
			if strings.HasPrefix(tr.Model, "alerts.") && tr.Status != transform.TestPass {
				t.Errorf("%s: data test %s %s: %s (%d failures) %s", where, tr.Model, tr.Test, tr.Status, tr.Failures, tr.Error)
			}
		}
		for _, rule := range fx.Check {
			got := readRuleTable(ctx, t, w.DB(), rule)
			seen := map[string]bool{}
			for _, e := range s.expect[rule] {
				if seen[e.key()] {
					t.Fatalf("%s line %d: %s expected twice", fx.file, e.line, e.key())
				}
				seen[e.key()] = true
				r, ok := got[e.key()]
				if !ok {
					t.Errorf("%s: %s line %d: want %s firing (value %v), got no row; rows: %s", where, rule, e.line, e.key(), e.Value, describeAlertRows(got))
					continue
				}
				for _, b := range checkRuleRow(e, r) {
					t.Errorf("%s: %s line %d: %s: %s", where, rule, e.line, e.key(), b)
				}
			}
			for k, r := range got {
				if !seen[k] {
					t.Errorf("%s: %s: unexpected row %s (value %v): %s", where, rule, k, fixtureFloat(r.Value), r.SummaryEN.String)
				}
			}
		}
	}
}

func fixtureFloat(v sql.NullFloat64) string {
	if !v.Valid {
		return "NULL"
	}
	return fmt.Sprint(v.Float64)
}

func describeAlertRows(rows map[string]ruleTableRow) string {
	if len(rows) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(rows))
	for k, r := range rows {
		keys = append(keys, fmt.Sprintf("%s = %s", k, fixtureFloat(r.Value)))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// TestRulesFollowTheContract runs every rule on a warehouse with a few
// events and checks the columns of its table against sql/alerts/README.md.
func TestRulesFollowTheContract(t *testing.T) {
	ctx := context.Background()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: t.TempDir(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rules, err := alert.CheckRules(sqlfiles.FS, alert.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	for name := range alert.DefaultRules() {
		if _, err := sqlfiles.FS.Open("alerts/" + name + ".sql"); err != nil {
			t.Errorf("default rule %s has no file: %v", name, err)
		}
	}
	now := time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)
	tr, err := transform.New(w.DB(), transform.Options{Now: func() time.Time { return now }, Macros: alert.Statements(rules)})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Stop()
	fx := &ruleFixture{file: "contract", loc: time.UTC}
	loadFixtureEvents(ctx, t, w, fx, "events", "crm.events", []map[string]any{
		{"event_id": "e1", "event_type": "employee.upserted", "occurred_at": "2026-11-01T00:00:00Z",
			"data": map[string]any{"employee_id": "e1", "name": "E1", "role": "sales", "team_id": "t1", "active": true}},
		{"event_id": "l1", "event_type": "user.login", "occurred_at": "2026-11-02T09:00:00Z", "data": map[string]any{"employee_id": "e1"}},
	})
	run, err := tr.RunNow(ctx, transform.RunRequest{})
	if err != nil || run.Status != transform.StatusOK {
		t.Fatalf("run: %v %+v", err, run)
	}
	want := map[string]string{
		"subject_type": "VARCHAR", "subject_id": "VARCHAR", "subject_name": "VARCHAR", "alert_window": "VARCHAR",
		"employee_id": "VARCHAR", "team_id": "VARCHAR", "value": "DOUBLE", "threshold": "DOUBLE",
		"summary_en": "VARCHAR", "summary_zh": "VARCHAR", "details": "JSON",
	}
	order := []string{"subject_type", "subject_id", "subject_name", "alert_window", "employee_id", "team_id",
		"value", "threshold", "summary_en", "summary_zh", "details"}
	names, _ := alert.RuleNames(sqlfiles.FS)
	for _, name := range names {
		rows, err := w.DB().QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = 'alerts' AND table_name = ? ORDER BY ordinal_position`, name)
		if err != nil {
			t.Fatal(err)
		}
		var cols []string
		for rows.Next() {
			var c, typ string
			if err := rows.Scan(&c, &typ); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, c)
			if want[c] != typ {
				t.Errorf("alerts.%s.%s: type %s, want %s", name, c, typ, want[c])
			}
		}
		rows.Close()
		if !slices.Equal(cols, order) {
			t.Errorf("alerts.%s: columns %v, want %v", name, cols, order)
		}
	}
	// e1 has not logged in since Mon Nov 2: Nov 3 … Nov 17 are 11 working
	// days (UTC, no holidays): login_gap fires, and its row is complete.
	got := readRuleTable(ctx, t, w.DB(), "login_gap")
	r, ok := got["employee:e1/2026-11-03"]
	if !ok || r.Value.Float64 != 11 {
		t.Fatalf("login_gap: want employee:e1/2026-11-03 = 11, got %s", describeAlertRows(got))
	}
}

// TestCheckRulesRefusesUnconfiguredSettings: a rule file reading a
// parameter the configuration does not have stops start-up with the file
// and line, as does a list read as a number.
func TestCheckRulesRefusesUnconfiguredSettings(t *testing.T) {
	fsys := fstest.MapFS{
		"alerts/login_gap.sql": {Data: []byte("-- @materialized table\nSELECT 1 AS one\nWHERE 2 > pulse_alert_threshold('login_gap')\n  AND 3 > pulse_alert_param('login_gap', 'max_days')\n")},
	}
	rules := map[string]alert.Rule{"login_gap": alert.DefaultRules()["login_gap"]}
	_, err := alert.CheckRules(fsys, rules)
	if err == nil {
		t.Fatal("CheckRules accepted pulse_alert_param('login_gap', 'max_days'), which is not configured")
	}
	for _, want := range []string{"sql/alerts/login_gap.sql:4", "alerts.rules.login_gap.params.max_days"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Configured as a number, it passes; read as a list, it does not.
	r := rules["login_gap"]
	r.Params = map[string]float64{"max_days": 9}
	rules["login_gap"] = r
	if _, err := alert.CheckRules(fsys, rules); err != nil {
		t.Fatalf("configured: %v", err)
	}
	fsys["alerts/login_gap.sql"] = &fstest.MapFile{Data: []byte("SELECT pulse_alert_list('login_gap', 'max_days') AS l\n")}
	if _, err := alert.CheckRules(fsys, rules); err == nil || !strings.Contains(err.Error(), "a list") {
		t.Fatalf("a number read as a list: want an error, got %v", err)
	}
	// The rules of the repository are all configured by default.
	if _, err := alert.CheckRules(sqlfiles.FS, alert.DefaultRules()); err != nil {
		t.Fatalf("default rules: %v", err)
	}
}

// TestKPIAnomalyRefusesUnknownKPIs: params.kpis naming a KPI the rule
// cannot watch fails the rule's model with a message saying so.
func TestKPIAnomalyRefusesUnknownKPIs(t *testing.T) {
	ctx := context.Background()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: t.TempDir(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rules := alert.DefaultRules()
	r := rules["kpi_anomaly"]
	r.Lists = map[string][]string{"kpis": {"followups", "visits"}}
	rules["kpi_anomaly"] = r
	rules, err = alert.CheckRules(sqlfiles.FS, rules)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)
	tr, err := transform.New(w.DB(), transform.Options{Now: func() time.Time { return now }, Macros: alert.Statements(rules)})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Stop()
	fx := &ruleFixture{file: "unknown kpi", loc: time.UTC}
	loadFixtureEvents(ctx, t, w, fx, "events", "crm.events", []map[string]any{
		{"event_id": "l1", "event_type": "user.login", "occurred_at": "2026-11-02T09:00:00Z", "data": map[string]any{"employee_id": "e1"}},
	})
	run, err := tr.RunNow(ctx, transform.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range run.Models {
		if m.Name == "alerts.kpi_anomaly" {
			if m.Status != transform.StatusFailed || !strings.Contains(m.Error, "params.kpis: visits is not one of") {
				t.Fatalf("alerts.kpi_anomaly: status %s, error %q; want it failed naming visits", m.Status, m.Error)
			}
			return
		}
	}
	t.Fatal("run has no model alerts.kpi_anomaly")
}
