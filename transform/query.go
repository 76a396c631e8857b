package transform

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulsekpi/pulse/metric"
)

// ErrNotFound is wrapped when the marts have no figures for what was asked.
var ErrNotFound = errors.New("not found")

// ErrBadQuery is wrapped when a KPI or scorecard query is malformed.
var ErrBadQuery = errors.New("bad query")

// KPIQuery asks for one subject's KPIs in one period.
type KPIQuery struct {
	Grain string // day, week, month or quarter; default month
	// Period is any date (YYYY-MM-DD) in the period; it is answered with
	// the period's first date. Empty: the period holding now.
	Period string
	// SubjectType is employee, team or company; SubjectID is empty for the
	// company.
	SubjectType string
	SubjectID   string
}

// KPIResult is the answer of GET /api/kpis (interfaces.md): every KPI of
// metrics.md by name, nil for NULL.
type KPIResult struct {
	Grain       string              `json:"grain"`
	Period      string              `json:"period"`
	Subject     string              `json:"subject"`
	SubjectType string              `json:"subject_type"`
	SubjectName string              `json:"subject_name,omitempty"`
	Frozen      bool                `json:"frozen"`
	KPIs        map[string]*float64 `json:"kpis"`
}

// resolvePeriod checks the grain and turns any date of a period (or none:
// now) into the period's first date.
func (t *Transformer) resolvePeriod(ctx context.Context, grain, period string) (string, string, error) {
	if grain == "" {
		grain = "month"
	}
	if !slices.Contains(metric.Grains(), grain) {
		return "", "", fmt.Errorf("%w: grain %q is not one of %s", ErrBadQuery, grain, strings.Join(metric.Grains(), ", "))
	}
	var expr string
	var args []any
	if period == "" {
		expr = "pulse_period_start($1, pulse_date(pulse_now()))"
		args = []any{grain}
	} else {
		if len(period) == 7 { // YYYY-MM names a month
			period += "-01"
		}
		if _, err := time.Parse(time.DateOnly, period); err != nil {
			return "", "", fmt.Errorf("%w: period %q is not a date (YYYY-MM-DD)", ErrBadQuery, period)
		}
		expr = "pulse_period_start($1, CAST($2 AS DATE))"
		args = []any{grain, period}
	}
	var start string
	if err := t.db.QueryRowContext(ctx, "SELECT strftime("+expr+", '%Y-%m-%d')", args...).Scan(&start); err != nil {
		return "", "", fmt.Errorf("resolving period: %w", err)
	}
	return grain, start, nil
}

// KPIs answers one subject's KPIs for one period, frozen figures for a
// closed period.
func (t *Transformer) KPIs(ctx context.Context, q KPIQuery) (*KPIResult, error) {
	grain, start, err := t.resolvePeriod(ctx, q.Grain, q.Period)
	if err != nil {
		return nil, err
	}
	switch q.SubjectType {
	case "", "company":
		q.SubjectType, q.SubjectID = "company", ""
	case "employee", "team":
		if q.SubjectID == "" {
			return nil, fmt.Errorf("%w: %s_id is empty", ErrBadQuery, q.SubjectType)
		}
	default:
		return nil, fmt.Errorf("%w: subject type %q", ErrBadQuery, q.SubjectType)
	}
	cols := metric.KPIs()
	query := `SELECT frozen, ` + strings.Join(cols, ", ") + `
		FROM marts.kpis_wide
		WHERE grain = $1 AND period_start = CAST($2 AS DATE) AND subject_type = $3 AND subject_id = $4`
	vals := make([]sql.NullFloat64, len(cols))
	dest := make([]any, 0, len(cols)+1)
	res := &KPIResult{Grain: grain, Period: start, SubjectType: q.SubjectType, Subject: q.SubjectID, KPIs: map[string]*float64{}}
	dest = append(dest, &res.Frozen)
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	err = t.db.QueryRowContext(ctx, query, grain, start, q.SubjectType, q.SubjectID).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		if q.SubjectType == "company" {
			return nil, fmt.Errorf("%w: no figures for %s %s (no events, or no transform run yet)", ErrNotFound, grain, start)
		}
		return nil, fmt.Errorf("%w: no figures for %s %q in %s %s", ErrNotFound, q.SubjectType, q.SubjectID, grain, start)
	}
	if err != nil {
		return nil, fmt.Errorf("reading KPIs: %w", err)
	}
	for i, c := range cols {
		if vals[i].Valid {
			v := vals[i].Float64
			res.KPIs[c] = &v
		} else {
			res.KPIs[c] = nil
		}
	}
	if q.SubjectType == "company" {
		res.Subject = "company"
	} else {
		res.SubjectName = t.subjectName(ctx, q.SubjectType, q.SubjectID)
	}
	return res, nil
}

func (t *Transformer) subjectName(ctx context.Context, typ, id string) string {
	q := `SELECT name FROM staging.employees WHERE employee_id = $1`
	if typ == "team" {
		q = `SELECT coalesce(max(team_name) FILTER (WHERE team_name <> team_id), any_value(team_id)) FROM staging.employees WHERE team_id = $1`
	}
	var name sql.NullString
	_ = t.db.QueryRowContext(ctx, q, id).Scan(&name)
	return name.String
}

// ScorecardQuery asks for the scorecards of one period, optionally of one
// role.
type ScorecardQuery struct {
	Grain  string
	Period string
	Role   string
}

// ScorecardLine explains one KPI of a scorecard.
type ScorecardLine struct {
	KPI             string   `json:"kpi"`
	Actual          *float64 `json:"actual"`
	Target          *float64 `json:"target"`
	Direction       string   `json:"direction"`
	SubScore        *float64 `json:"sub_score"`
	Weight          float64  `json:"weight"`
	EffectiveWeight *float64 `json:"effective_weight"`
	Contribution    *float64 `json:"contribution"`
	Included        bool     `json:"included"`
	Note            *string  `json:"note"`
}

// Scorecard is one employee's scorecard in a period.
type Scorecard struct {
	EmployeeID   string          `json:"employee_id"`
	Name         string          `json:"name"`
	Role         string          `json:"role"`
	TeamID       string          `json:"team_id"`
	Score        *float64        `json:"score"`
	RankInRole   *int64          `json:"rank_in_role"`
	RankInTeam   *int64          `json:"rank_in_team"`
	Renormalised bool            `json:"renormalised"`
	DroppedKPIs  []string        `json:"dropped_kpis"`
	Lines        []ScorecardLine `json:"lines"`
}

// ScorecardResult is the answer of GET /api/scorecards.
type ScorecardResult struct {
	Grain      string      `json:"grain"`
	Period     string      `json:"period"`
	Role       string      `json:"role,omitempty"`
	Frozen     bool        `json:"frozen"`
	Scorecards []Scorecard `json:"scorecards"`
}

// Scorecards answers the scorecards of a period, best first within each
// role.
func (t *Transformer) Scorecards(ctx context.Context, q ScorecardQuery) (*ScorecardResult, error) {
	grain, start, err := t.resolvePeriod(ctx, q.Grain, q.Period)
	if err != nil {
		return nil, err
	}
	res := &ScorecardResult{Grain: grain, Period: start, Role: q.Role, Scorecards: []Scorecard{}}
	closed, err := t.IsClosed(ctx, grain, start)
	if err != nil {
		return nil, err
	}
	res.Frozen = closed
	rows, err := t.db.QueryContext(ctx, `
		SELECT employee_id, coalesce(name, ''), role, coalesce(team_id, ''), score, rank_in_role, rank_in_team,
		       coalesce(renormalised, false), CAST(to_json(coalesce(dropped_kpis, [])) AS VARCHAR), CAST(explanation AS VARCHAR)
		FROM marts.scorecards
		WHERE grain = $1 AND period_start = CAST($2 AS DATE) AND ($3 = '' OR role = $3)
		ORDER BY role, rank_in_role NULLS LAST, employee_id`, grain, start, q.Role)
	if err != nil {
		return nil, fmt.Errorf("reading scorecards: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Scorecard
		var score sql.NullFloat64
		var rr, rt sql.NullInt64
		var dropped, expl string
		if err := rows.Scan(&s.EmployeeID, &s.Name, &s.Role, &s.TeamID, &score, &rr, &rt, &s.Renormalised, &dropped, &expl); err != nil {
			return nil, err
		}
		if score.Valid {
			s.Score = &score.Float64
		}
		if rr.Valid {
			s.RankInRole = &rr.Int64
		}
		if rt.Valid {
			s.RankInTeam = &rt.Int64
		}
		if err := json.Unmarshal([]byte(dropped), &s.DroppedKPIs); err != nil {
			return nil, fmt.Errorf("reading scorecard of %s: %w", s.EmployeeID, err)
		}
		if err := json.Unmarshal([]byte(expl), &s.Lines); err != nil {
			return nil, fmt.Errorf("reading scorecard of %s: %w", s.EmployeeID, err)
		}
		res.Scorecards = append(res.Scorecards, s)
	}
	return res, rows.Err()
}
