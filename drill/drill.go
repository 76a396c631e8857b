// Package drill traces a KPI figure back to the items it is computed from
// and on to the raw events behind them (topic, partition, offset), so that
// every number of the marts can be checked and disputed. The queries live
// in sql/drill/, one per family of marts (sales, followups, customers,
// logins, tickets, targets), and attribute items exactly as the marts do:
// the same owners at the same times, the same team members at t.
package drill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/pulsekpi/pulse/dashboard"
	"github.com/pulsekpi/pulse/metric"
	sqlfiles "github.com/pulsekpi/pulse/sql"
)

// ErrBadRequest is wrapped when a request cannot be answered as asked (an
// unknown KPI, grain or subject type, a malformed period): a client error.
var ErrBadRequest = errors.New("bad drill request")

// ErrNotFound is wrapped when the period or the subject has no figures, or
// an event does not exist.
var ErrNotFound = errors.New("not found")

// Options configure New.
type Options struct {
	// Queries holds drill/<family>.sql; default the embedded sql/drill.
	Queries fs.FS
	// MaxRows bounds the rows of one answer when the request gives none;
	// default 1000.
	MaxRows int
	// Limit is the most rows a request may ask for; default 10000.
	Limit int
}

// Drill answers drill-down requests over the warehouse.
type Drill struct {
	db      *sql.DB
	opts    Options
	queries map[string]string // family -> SQL
}

// New loads the drill queries and parses each with DuckDB, so that a broken
// query stops start-up rather than a manager's click.
func New(db *sql.DB, opts Options) (*Drill, error) {
	if opts.Queries == nil {
		opts.Queries = sqlfiles.DrillFS
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = 1000
	}
	if opts.Limit <= 0 {
		opts.Limit = 10000
	}
	d := &Drill{db: db, opts: opts, queries: map[string]string{}}
	for _, k := range metric.KPIs() {
		sp, ok := specs[k]
		if !ok {
			return nil, fmt.Errorf("drill: KPI %s has no drill-down", k)
		}
		for _, c := range sp.columns {
			if _, ok := catalog[c]; !ok {
				return nil, fmt.Errorf("drill: KPI %s: column %s has no label", k, c)
			}
		}
		families := []string{sp.family}
		if sp.base != "" {
			families = append(families, specs[sp.base].family)
		}
		for _, f := range families {
			if _, ok := d.queries[f]; ok {
				continue
			}
			file := path.Join("drill", f+".sql")
			body, err := fs.ReadFile(opts.Queries, file)
			if err != nil {
				return nil, fmt.Errorf("drill: loading sql/%s: %w", file, err)
			}
			if err := parse(db, string(body)); err != nil {
				return nil, fmt.Errorf("drill: sql/%s: %w", file, err)
			}
			d.queries[f] = string(body)
		}
	}
	return d, nil
}

// parse has DuckDB parse a query without running it.
func parse(db *sql.DB, query string) error {
	var errMsg sql.NullString
	err := db.QueryRowContext(context.Background(),
		"SELECT json_extract_string(json_serialize_sql(CAST(? AS VARCHAR)), '$.error_message')", query).Scan(&errMsg)
	if err != nil {
		return fmt.Errorf("parsing with DuckDB: %w", err)
	}
	if errMsg.Valid && errMsg.String != "" {
		return fmt.Errorf("parsing with DuckDB: %s", errMsg.String)
	}
	return nil
}

// Request asks for the rows behind one KPI figure.
type Request struct {
	KPI   string
	Grain string // day, week, month, quarter; default month
	// PeriodStart is any date (YYYY-MM-DD, or YYYY-MM for a month) of the
	// period; the answer names the period by its first date.
	PeriodStart string
	// SubjectType is employee, team or company (default); SubjectID is
	// empty for the company.
	SubjectType string
	SubjectID   string
	// Lang is checked (en or zh-CN) as for tiles; column labels carry
	// both languages, so the answer does not depend on it.
	Lang string
	// MaxRows bounds the rows (default Options.MaxRows); Truncated says
	// when there were more.
	MaxRows int
}

// Column is one column of the rows: labels in both languages and a format
// of dashboard.Formats.
type Column struct {
	Name   string         `json:"name"`
	Label  dashboard.Text `json:"label"`
	Format string         `json:"format"`
}

// Subject is whom the figure is about.
type Subject struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Result is the figure and the rows it is computed from.
type Result struct {
	KPI         string  `json:"kpi"`
	Grain       string  `json:"grain"`
	PeriodStart string  `json:"period_start"`
	PeriodEnd   string  `json:"period_end"`
	Subject     Subject `json:"subject"`
	// Value is the KPI's figure in the published marts (frozen figures for
	// a closed period, while the rows are the live items); nil for NULL.
	Value *float64 `json:"value"`
	// Frozen says the period is closed: Value is then the figure frozen
	// at the close, and LiveValue the figure the rows make now (they
	// differ when events landed late; marts.late_changes lists them).
	Frozen    bool     `json:"frozen"`
	LiveValue *float64 `json:"live_value,omitempty"`
	// Aggregate says how the rows make Value (AggSum, AggRatio, …).
	Aggregate string   `json:"aggregate"`
	Columns   []Column `json:"columns"`
	Rows      [][]any  `json:"rows"`
	Truncated bool     `json:"truncated"`
}

// Rows answers a drill-down request.
func (d *Drill) Rows(ctx context.Context, req Request) (Result, error) {
	sp, ok := specs[req.KPI]
	if !ok {
		return Result{}, fmt.Errorf("%w: kpi %q is not a KPI of metrics.md", ErrBadRequest, req.KPI)
	}
	if req.Lang != "" && req.Lang != "en" && req.Lang != "zh-CN" {
		return Result{}, fmt.Errorf("%w: lang %q is neither en nor zh-CN", ErrBadRequest, req.Lang)
	}
	if req.SubjectType == "" {
		req.SubjectType = "company"
	}
	switch req.SubjectType {
	case "company":
		if req.SubjectID != "" {
			return Result{}, fmt.Errorf("%w: the company has no id (%q given)", ErrBadRequest, req.SubjectID)
		}
	case "employee", "team":
		if req.SubjectID == "" {
			return Result{}, fmt.Errorf("%w: %s_id is empty", ErrBadRequest, req.SubjectType)
		}
	default:
		return Result{}, fmt.Errorf("%w: subject type %q is not employee, team or company", ErrBadRequest, req.SubjectType)
	}
	limit := req.MaxRows
	if limit <= 0 {
		limit = d.opts.MaxRows
	}
	if limit > d.opts.Limit {
		limit = d.opts.Limit
	}
	res := Result{KPI: req.KPI, Aggregate: sp.aggregate,
		Subject: Subject{Type: req.SubjectType, ID: req.SubjectID}}
	var err error
	if res.Grain, res.PeriodStart, res.PeriodEnd, err = d.period(ctx, req.Grain, req.PeriodStart); err != nil {
		return Result{}, err
	}
	if res.Value, err = d.value(ctx, res, req.KPI); err != nil {
		return Result{}, err
	}
	if err := d.frozen(ctx, &res); err != nil {
		return Result{}, err
	}
	res.Subject.Name = d.subjectName(ctx, req.SubjectType, req.SubjectID)

	cols := append(append([]string{}, sp.columns...), "owner_id", "owner_name", "value")
	if sp.aggregate == AggRatio || sp.aggregate == AggMedian || sp.aggregate == AggMean {
		cols = append(cols, "counts_as")
	}
	cols = append(cols, "event_id", "kafka_topic", "kafka_partition", "kafka_offset")
	query, args := d.build(sp, req.KPI, cols, res, req.SubjectType, req.SubjectID, limit)
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return Result{}, fmt.Errorf("drill %s: %w", req.KPI, err)
	}
	defer rows.Close()
	for _, c := range cols {
		def := catalog[c]
		res.Columns = append(res.Columns, Column{Name: c, Label: def.label, Format: def.format})
	}
	res.Rows = [][]any{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return Result{}, fmt.Errorf("drill %s: reading rows: %w", req.KPI, err)
		}
		if len(res.Rows) == limit {
			res.Truncated = true
			break
		}
		for i, v := range vals {
			vals[i] = present(v, res.Columns[i].Format)
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return Result{}, fmt.Errorf("drill %s: reading rows: %w", req.KPI, err)
	}
	return res, nil
}

// build writes the query of one KPI: the family's items (for attainment,
// the attained KPI's items as numerator with the targets as denominator),
// kept for the subject, with the owner's name and the event's Kafka place.
func (d *Drill) build(sp spec, kpi string, cols []string, res Result, subjectType, subjectID string, limit int) (string, []any) {
	items := "SELECT * FROM (" + d.queries[sp.family] + "\n) AS f WHERE f.kpi = $3"
	if sp.base != "" {
		items = "SELECT * REPLACE ($3 AS kpi, 'numerator' AS counts_as) FROM (" + d.queries[specs[sp.base].family] +
			"\n) AS b WHERE b.kpi = $5\nUNION ALL BY NAME\nSELECT * FROM (" + d.queries[sp.family] + "\n) AS f WHERE f.kpi = $3"
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		switch c {
		case "owner_name":
			sel[i] = "m.name AS owner_name"
		case "value":
			sel[i] = "CAST(i.value AS DOUBLE) AS value"
		case "kafka_topic", "kafka_partition", "kafka_offset":
			sel[i] = "e." + c
		default:
			sel[i] = "i." + c
		}
	}
	var where string
	switch subjectType {
	case "employee":
		where = "i.owner_id = $4"
	case "team":
		where = "m.team_id = $4"
	default:
		where = "$4 = ''"
	}
	q := "WITH items AS (\n" + items + "\n)\nSELECT " + strings.Join(sel, ", ") + `
FROM items AS i
LEFT JOIN staging.period_members AS m
  ON m.grain = $1 AND m.period_start = CAST($2 AS DATE) AND m.employee_id = i.owner_id
LEFT JOIN raw.events AS e ON e.event_id = i.event_id
WHERE ` + where + `
ORDER BY ALL
LIMIT ` + fmt.Sprint(limit+1)
	args := []any{res.Grain, res.PeriodStart, kpi, subjectID}
	if sp.base != "" {
		args = append(args, sp.base)
	}
	return q, args
}

// present turns a database value into what the JSON answer shows: dates as
// YYYY-MM-DD, instants in UTC.
func present(v any, format string) any {
	switch x := v.(type) {
	case time.Time:
		if format == "date" {
			return x.Format(time.DateOnly)
		}
		return x.UTC()
	case []byte:
		return string(x)
	}
	return v
}

// period checks the grain and finds the period holding the date.
func (d *Drill) period(ctx context.Context, grain, date string) (string, string, string, error) {
	if grain == "" {
		grain = "month"
	}
	if !slices.Contains(metric.Grains(), grain) {
		return "", "", "", fmt.Errorf("%w: grain %q is not one of %s", ErrBadRequest, grain, strings.Join(metric.Grains(), ", "))
	}
	day := "pulse_date(pulse_now())"
	args := []any{grain}
	if date != "" {
		if len(date) == 7 {
			date += "-01"
		}
		if _, err := time.Parse(time.DateOnly, date); err != nil {
			return "", "", "", fmt.Errorf("%w: period %q is not a date (YYYY-MM-DD)", ErrBadRequest, date)
		}
		day = "CAST($2 AS DATE)"
		args = append(args, date)
	}
	var start, end string
	err := d.db.QueryRowContext(ctx, `SELECT strftime(period_start, '%Y-%m-%d'), strftime(period_end, '%Y-%m-%d')
		FROM staging.periods WHERE grain = $1 AND period_start = pulse_period_start($1, `+day+`)`, args...).Scan(&start, &end)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", "", "", fmt.Errorf("%w: no %s period holds %s (no events then, or no transform run yet)", ErrNotFound, grain, date)
	case err != nil:
		return "", "", "", fmt.Errorf("finding the period: %w", err)
	}
	return grain, start, end, nil
}

// value reads the KPI's figure from the published marts; a subject without
// a row there has no figures in the period.
func (d *Drill) value(ctx context.Context, res Result, kpi string) (*float64, error) {
	q := `SELECT value FROM marts.company_kpis WHERE grain = $1 AND period_start = CAST($2 AS DATE) AND kpi = $3 AND $4 = ''`
	switch res.Subject.Type {
	case "employee":
		q = `SELECT value FROM marts.employee_kpis WHERE grain = $1 AND period_start = CAST($2 AS DATE) AND kpi = $3 AND employee_id = $4`
	case "team":
		q = `SELECT value FROM marts.team_kpis WHERE grain = $1 AND period_start = CAST($2 AS DATE) AND kpi = $3 AND team_id = $4`
	}
	var v sql.NullFloat64
	err := d.db.QueryRowContext(ctx, q, res.Grain, res.PeriodStart, kpi, res.Subject.ID).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("%w: no figures for %s %q in %s %s", ErrNotFound, res.Subject.Type, res.Subject.ID, res.Grain, res.PeriodStart)
	case err != nil:
		return nil, fmt.Errorf("reading %s from the marts: %w", kpi, err)
	}
	if !v.Valid {
		return nil, nil
	}
	return &v.Float64, nil
}

// frozen marks a closed period and reads the live figure beside the
// frozen one.
func (d *Drill) frozen(ctx context.Context, res *Result) error {
	err := d.db.QueryRowContext(ctx, `SELECT count(*) > 0 FROM ops.closed_periods WHERE grain = $1 AND period_start = CAST($2 AS DATE)`,
		res.Grain, res.PeriodStart).Scan(&res.Frozen)
	if err != nil {
		return fmt.Errorf("reading closed periods: %w", err)
	}
	if !res.Frozen {
		return nil
	}
	var v sql.NullFloat64
	// res.KPI is a name of specs, so a safe identifier
	err = d.db.QueryRowContext(ctx, `SELECT CAST(`+res.KPI+` AS DOUBLE) FROM marts.kpis_computed
		WHERE grain = $1 AND period_start = CAST($2 AS DATE) AND subject_type = $3 AND subject_id = $4`,
		res.Grain, res.PeriodStart, res.Subject.Type, res.Subject.ID).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("reading the live %s: %w", res.KPI, err)
	}
	if v.Valid {
		res.LiveValue = &v.Float64
	}
	return nil
}

// subjectName is the employee's or team's name as they stand now; a
// missing name is no reason to fail.
func (d *Drill) subjectName(ctx context.Context, typ, id string) string {
	var q string
	switch typ {
	case "employee":
		q = `SELECT name FROM staging.employees WHERE employee_id = $1`
	case "team":
		q = `SELECT coalesce(max(team_name) FILTER (WHERE team_name <> team_id), any_value(team_id)) FROM staging.employees WHERE team_id = $1`
	default:
		return ""
	}
	var name sql.NullString
	_ = d.db.QueryRowContext(ctx, q, id).Scan(&name)
	return name.String
}
