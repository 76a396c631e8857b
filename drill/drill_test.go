package drill_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/drill"
	"github.com/pulsekpi/pulse/generate"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/metric"
	sqlfiles "github.com/pulsekpi/pulse/sql"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

type collectSink struct{ msgs []generate.Message }

func (s *collectSink) Send(_ context.Context, msgs []generate.Message) error {
	for _, m := range msgs {
		s.msgs = append(s.msgs, generate.Message{Topic: m.Topic, Key: append([]byte(nil), m.Key...), Value: append([]byte(nil), m.Value...)})
	}
	return nil
}

var (
	whOnce sync.Once
	whDB   *sql.DB
	whErr  error
	whDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if whDir != "" {
		os.RemoveAll(whDir)
	}
	os.Exit(code)
}

// generatedWarehouse is a warehouse built from a generated history (a
// month and a half of a small company in Shanghai), loaded through ingest
// and transformed in full, shared by the tests of this package.
func generatedWarehouse(t *testing.T) *sql.DB {
	t.Helper()
	whOnce.Do(func() {
		whDir, whErr = os.MkdirTemp("", "pulse-drill-")
		if whErr == nil {
			whDB, whErr = buildWarehouse(whDir)
		}
	})
	if whErr != nil {
		t.Fatal(whErr)
	}
	return whDB
}

func buildWarehouse(dir string) (*sql.DB, error) {
	ctx := context.Background()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, err
	}
	now := time.Date(2026, 11, 12, 15, 0, 0, 0, loc)
	gen := generate.New(generate.Options{Seed: 7, Now: now, Days: 45, Employees: 10, Location: loc})
	var sink collectSink
	if _, err := gen.History(ctx, &sink); err != nil {
		return nil, fmt.Errorf("generating: %w", err)
	}
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: dir, Threads: 2})
	if err != nil {
		return nil, err
	}
	byTopic := map[string][][]byte{}
	var topics []string
	for _, m := range sink.msgs {
		if _, ok := byTopic[m.Topic]; !ok {
			topics = append(topics, m.Topic)
		}
		byTopic[m.Topic] = append(byTopic[m.Topic], m.Value)
	}
	for _, tp := range topics {
		if _, err := ingest.Load(ctx, w, tp, byTopic[tp]); err != nil {
			return nil, fmt.Errorf("loading %s: %w", tp, err)
		}
	}
	p := transform.DefaultParams()
	p.Timezone = "Asia/Shanghai"
	tr, err := transform.New(w.DB(), transform.Options{Params: p, Macros: alert.Statements(alert.DefaultRules()),
		Now: func() time.Time { return now },
		// never caught up: no period is frozen, the marts hold live figures
		Lag: func(context.Context) (int64, error) { return 1, nil }})
	if err != nil {
		return nil, err
	}
	run, err := tr.RunNow(ctx, transform.RunRequest{Full: true})
	if err != nil {
		return nil, err
	}
	if run.Status != "ok" {
		return nil, fmt.Errorf("transform run: %+v", run)
	}
	tr.Stop()
	return w.DB(), nil
}

// recompute makes the figure again from the rows, as Result.Aggregate says.
func recompute(t *testing.T, res drill.Result) *float64 {
	t.Helper()
	col := func(name string) int {
		for i, c := range res.Columns {
			if c.Name == name {
				return i
			}
		}
		t.Fatalf("%s: no column %s", res.KPI, name)
		return -1
	}
	num := func(v any) float64 {
		switch x := v.(type) {
		case float64:
			return x
		case int64:
			return float64(x)
		case int32:
			return float64(x)
		case nil:
			t.Fatalf("%s: value is NULL", res.KPI)
		}
		t.Fatalf("%s: value %T %v", res.KPI, v, v)
		return 0
	}
	vi := col("value")
	switch res.Aggregate {
	case drill.AggSum:
		s := 0.0
		for _, r := range res.Rows {
			s += num(r[vi])
		}
		return &s
	case drill.AggDistinct:
		seen := map[any]bool{}
		for _, r := range res.Rows {
			seen[r[col("channel")]] = true
		}
		n := float64(len(seen))
		return &n
	}
	ci := col("counts_as")
	var n, d float64
	var items []float64
	for _, r := range res.Rows {
		as, _ := r[ci].(string)
		switch as {
		case "numerator":
			n += num(r[vi])
		case "denominator":
			d += num(r[vi])
		case "both":
			n += num(r[vi])
			d += num(r[vi])
			items = append(items, num(r[vi]))
		default:
			t.Fatalf("%s: counts_as %q", res.KPI, as)
		}
	}
	switch res.Aggregate {
	case drill.AggRatio:
		if d == 0 {
			return nil
		}
		v := n / d
		return &v
	case drill.AggMean:
		if len(items) == 0 {
			return nil
		}
		v := n / float64(len(items))
		return &v
	case drill.AggMedian:
		if len(items) == 0 {
			return nil
		}
		sort.Float64s(items)
		m := items[len(items)/2]
		if len(items)%2 == 0 {
			m = (items[len(items)/2-1] + m) / 2
		}
		return &m
	}
	t.Fatalf("%s: aggregate %q", res.KPI, res.Aggregate)
	return nil
}

func same(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) <= 1e-6*math.Max(1, math.Abs(*b))
}

func show(v *float64) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(*v)
}

type subject struct{ typ, id string }

// The rows of every KPI, for every employee, team and the company, in a
// few periods of each grain, make the figure of the marts again; and every
// row's Kafka place finds its event in raw.events.
func TestRowsReproduceTheMarts(t *testing.T) {
	ctx := context.Background()
	db := generatedWarehouse(t)
	d, err := drill.New(db, drill.Options{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	periods := map[string][]string{
		"month":   {"2026-10-01", "2026-11-01"},
		"quarter": {"2026-10-01"},
		"week":    {"2026-10-19"},
		"day":     {"2026-10-21"},
	}
	checked, rowsSeen := 0, 0
	withRows := map[string]int{}
	type place struct {
		id, topic string
		partition int32
		offset    int64
	}
	places := map[place]bool{}
	for _, grain := range []string{"month", "quarter", "week", "day"} {
		for _, period := range periods[grain] {
			subjects := []subject{{"company", ""}}
			rows, err := db.QueryContext(ctx, `SELECT DISTINCT subject_type, subject_id FROM marts.kpis_computed
				WHERE grain = $1 AND period_start = CAST($2 AS DATE) AND subject_type <> 'company' ORDER BY ALL`, grain, period)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s subject
				if err := rows.Scan(&s.typ, &s.id); err != nil {
					t.Fatal(err)
				}
				subjects = append(subjects, s)
			}
			rows.Close()
			if len(subjects) < 5 {
				t.Fatalf("%s %s: only %d subjects", grain, period, len(subjects))
			}
			if grain != "month" || period != "2026-10-01" {
				// elsewhere the company, the teams and a few employees
				employees := 0
				subjects = slices.DeleteFunc(subjects, func(s subject) bool {
					if s.typ != "employee" {
						return false
					}
					employees++
					return employees > 3
				})
			}
			for _, kpi := range metric.KPIs() {
				for _, s := range subjects {
					res, err := d.Rows(ctx, drill.Request{KPI: kpi, Grain: grain, PeriodStart: period,
						SubjectType: s.typ, SubjectID: s.id, MaxRows: 1 << 20})
					if err != nil {
						t.Fatalf("%s %s %s %s %s: %v", kpi, grain, period, s.typ, s.id, err)
					}
					if res.Truncated {
						t.Fatalf("%s: truncated", kpi)
					}
					got := recompute(t, res)
					want := res.Value
					if want == nil && kpi == "missed_login_days" && len(res.Rows) == 0 {
						// an employee inactive at t has NULL, and no rows
						got = nil
					}
					if !same(got, want) {
						t.Errorf("%s %s %s %s %q: rows make %s, the marts say %s (%d rows)",
							kpi, grain, period, s.typ, s.id, show(got), show(want), len(res.Rows))
					}
					checked++
					rowsSeen += len(res.Rows)
					if len(res.Rows) > 0 && want != nil {
						withRows[kpi]++
					}
					ci := map[string]int{}
					for i, c := range res.Columns {
						ci[c.Name] = i
					}
					for _, r := range res.Rows {
						id, _ := r[ci["event_id"]].(string)
						topic, _ := r[ci["kafka_topic"]].(string)
						part, _ := r[ci["kafka_partition"]].(int32)
						off, ok := r[ci["kafka_offset"]].(int64)
						if id == "" || topic == "" || !ok {
							t.Fatalf("%s %s %s %s: row without its event: %v", kpi, grain, period, s.id, r)
						}
						places[place{id, topic, part, off}] = true
					}
				}
			}
		}
	}
	t.Logf("%d figures checked, %d rows, %d events", checked, rowsSeen, len(places))
	for _, kpi := range metric.KPIs() {
		if withRows[kpi] == 0 {
			t.Errorf("%s: no figure with rows was checked; the generated history is too thin", kpi)
		}
	}
	// every row's Kafka place holds the row's event
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	var values []string
	for p := range places {
		values = append(values, fmt.Sprintf("(%s, %s, %d, %d)", quote(p.id), quote(p.topic), p.partition, p.offset))
	}
	var missing int
	var example sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT count(*), any_value(p.id) FROM (VALUES `+strings.Join(values, ", ")+`) AS p(id, topic, part, off)
		ANTI JOIN raw.events AS e ON e.event_id = p.id AND e.kafka_topic = p.topic AND e.kafka_partition = p.part AND e.kafka_offset = p.off`).
		Scan(&missing, &example); err != nil {
		t.Fatal(err)
	}
	if missing > 0 {
		t.Errorf("%d rows' Kafka places do not hold their event in raw.events (e.g. %s)", missing, example.String)
	}
}

// Requests that cannot be answered say why, wrapping the sentinel the
// server maps to 400 or 404.
func TestRequestErrors(t *testing.T) {
	ctx := context.Background()
	d, err := drill.New(generatedWarehouse(t), drill.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		req  drill.Request
		want error
	}{
		{"unknown kpi", drill.Request{KPI: "happiness", PeriodStart: "2026-10-01"}, drill.ErrBadRequest},
		{"unknown grain", drill.Request{KPI: "revenue", Grain: "year", PeriodStart: "2026-10-01"}, drill.ErrBadRequest},
		{"bad period", drill.Request{KPI: "revenue", PeriodStart: "October"}, drill.ErrBadRequest},
		{"unknown subject type", drill.Request{KPI: "revenue", PeriodStart: "2026-10-01", SubjectType: "region", SubjectID: "x"}, drill.ErrBadRequest},
		{"employee without id", drill.Request{KPI: "revenue", PeriodStart: "2026-10-01", SubjectType: "employee"}, drill.ErrBadRequest},
		{"bad lang", drill.Request{KPI: "revenue", PeriodStart: "2026-10-01", Lang: "fr"}, drill.ErrBadRequest},
		{"unknown employee", drill.Request{KPI: "revenue", PeriodStart: "2026-10-01", SubjectType: "employee", SubjectID: "nobody"}, drill.ErrNotFound},
		{"unknown team", drill.Request{KPI: "revenue", PeriodStart: "2026-10-01", SubjectType: "team", SubjectID: "nowhere"}, drill.ErrNotFound},
		{"period without events", drill.Request{KPI: "revenue", PeriodStart: "2020-01-01"}, drill.ErrNotFound},
	} {
		_, err := d.Rows(ctx, c.req)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// A request answers the period by its first date, labels its columns in
// both languages with a known format, and stops at MaxRows.
func TestRowsShape(t *testing.T) {
	ctx := context.Background()
	d, err := drill.New(generatedWarehouse(t), drill.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Rows(ctx, drill.Request{KPI: "followups", PeriodStart: "2026-10-17", MaxRows: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Grain != "month" || res.PeriodStart != "2026-10-01" || res.PeriodEnd != "2026-11-01" || res.Subject.Type != "company" {
		t.Errorf("header = %+v", res)
	}
	if len(res.Rows) != 5 || !res.Truncated {
		t.Errorf("%d rows, truncated %v; want 5, true", len(res.Rows), res.Truncated)
	}
	formats := []string{"number", "integer", "percent", "money", "minutes", "hours", "days", "score", "date", "datetime", "text"}
	var names []string
	for _, c := range res.Columns {
		names = append(names, c.Name)
		if c.Label.EN == "" || c.Label.ZhCN == "" || !slices.Contains(formats, c.Format) {
			t.Errorf("column %+v", c)
		}
	}
	for _, want := range []string{"followup_id", "customer_id", "owner_id", "owner_name", "occurred_at", "event_id", "kafka_topic", "kafka_partition", "kafka_offset"} {
		if !slices.Contains(names, want) {
			t.Errorf("columns %v lack %s", names, want)
		}
	}
	// ratios say how each row counts
	res, err = d.Rows(ctx, drill.Request{KPI: "customer_coverage", PeriodStart: "2026-10-01"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Aggregate != drill.AggRatio || !slices.ContainsFunc(res.Columns, func(c drill.Column) bool { return c.Name == "counts_as" }) {
		t.Errorf("customer_coverage: aggregate %q, columns %v", res.Aggregate, res.Columns)
	}
}

// An event comes back with its Kafka place, its data and whom it concerns.
func TestEvent(t *testing.T) {
	ctx := context.Background()
	db := generatedWarehouse(t)
	d, err := drill.New(db, drill.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var id, owner, contract, topic string
	var offset int64
	if err := db.QueryRowContext(ctx, `SELECT p.event_id, c.owner_id, p.contract_id, p.kafka_topic, p.kafka_offset
		FROM raw.payment_received AS p JOIN staging.contract_owners AS c USING (contract_id) ORDER BY p.event_id LIMIT 1`).
		Scan(&id, &owner, &contract, &topic, &offset); err != nil {
		t.Fatal(err)
	}
	ev, err := d.Event(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != "payment.received" || ev.KafkaTopic != topic || ev.KafkaOffset != offset || ev.OccurredAt.IsZero() || ev.IngestedAt.IsZero() {
		t.Errorf("event = %+v", ev)
	}
	var payload map[string]any
	if err := json.Unmarshal(ev.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	if payload["contract_id"] != contract || payload["amount"] == nil || payload["kafka_offset"] != nil {
		t.Errorf("payload = %v", payload)
	}
	// a payment concerns its contract's owner, though it names nobody
	if !slices.Contains(ev.Employees, owner) {
		t.Errorf("employees = %v, want %s among them", ev.Employees, owner)
	}
	if _, err := d.Event(ctx, "no-such-event"); !errors.Is(err, drill.ErrNotFound) {
		t.Errorf("unknown event: %v", err)
	}
}

// A drill query that does not parse stops start-up, naming its file.
func TestNewRefusesBrokenQueries(t *testing.T) {
	db := generatedWarehouse(t)
	queries := fstest.MapFS{}
	for _, f := range []string{"sales", "followups", "customers", "logins", "tickets", "targets"} {
		body, err := fs.ReadFile(sqlfiles.DrillFS, "drill/"+f+".sql")
		if err != nil {
			t.Fatal(err)
		}
		queries["drill/"+f+".sql"] = &fstest.MapFile{Data: body}
	}
	if _, err := drill.New(db, drill.Options{Queries: queries}); err != nil {
		t.Fatalf("the shipped queries: %v", err)
	}
	good := queries["drill/logins.sql"]
	queries["drill/logins.sql"] = &fstest.MapFile{Data: []byte("SELECT kpi FROM WHERE")}
	_, err := drill.New(db, drill.Options{Queries: queries})
	if err == nil || !strings.Contains(err.Error(), "sql/drill/logins.sql") || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("broken logins.sql: %v", err)
	}
	queries["drill/logins.sql"] = good
	delete(queries, "drill/tickets.sql")
	if _, err := drill.New(db, drill.Options{Queries: queries}); err == nil || !strings.Contains(err.Error(), "sql/drill/tickets.sql") {
		t.Errorf("a missing tickets.sql: %v", err)
	}
}
