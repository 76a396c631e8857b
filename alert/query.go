package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrBadQuery is a request the alerts cannot answer as asked: 400.
var ErrBadQuery = errors.New("bad alert query")

// ErrNotFound is a silence or alert that does not exist: 404.
var ErrNotFound = errors.New("not found")

// Filter selects alerts. Empty fields select everything.
type Filter struct {
	// States among pending, firing and resolved.
	States      []string
	Rule        string
	Severity    string
	SubjectType string
	// Subject is a subject id (an employee, team or ticket id, or company).
	Subject string
	Key     string
	// Lang picks Summary: en (default) or zh-CN.
	Lang string
	// Limit caps the answer (newest first); default 1000, at most 10,000.
	Limit int
	// At is the time silences are judged at; default now.
	At time.Time
	// Visible, when not nil, keeps the alerts a restricted viewer may
	// see; it is applied before Limit, so a viewer gets up to Limit of
	// their own alerts rather than their share of everyone's.
	Visible *Visible
}

// Visible is what a viewer who may not see everyone sees: alerts about
// the employees listed, and alerts about the teams listed that concern
// no single employee. Company alerts and tickets nobody listed holds are
// left out.
type Visible struct {
	EmployeeIDs []string
	TeamIDs     []string
}

// List returns the alerts the filter selects, most recently seen first.
func List(ctx context.Context, db *sql.DB, f Filter) ([]Alert, error) {
	var conds []string
	var args []any
	for _, s := range f.States {
		if !slices.Contains([]string{StatePending, StateFiring, StateResolved}, s) {
			return nil, fmt.Errorf("%w: state %q is not pending, firing or resolved", ErrBadQuery, s)
		}
	}
	if len(f.States) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(f.States)), ", ")
		conds = append(conds, "a.state IN ("+ph+")")
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	if f.Severity != "" && !slices.Contains(Severities(), f.Severity) {
		return nil, fmt.Errorf("%w: severity %q is not one of %s", ErrBadQuery, f.Severity, strings.Join(Severities(), ", "))
	}
	for _, c := range []struct{ col, val string }{
		{"a.rule", f.Rule}, {"a.severity", f.Severity}, {"a.subject_type", f.SubjectType},
		{"a.subject_id", f.Subject}, {"a.alert_key", f.Key},
	} {
		if c.val != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if v := f.Visible; v != nil {
		conds = append(conds, `(list_contains(?::VARCHAR[], a.employee_id)
			OR (a.employee_id IS NULL AND list_contains(?::VARCHAR[], a.team_id)))`)
		args = append(args, nonNil(v.EmployeeIDs), nonNil(v.TeamIDs))
	}
	if f.Lang != "" && f.Lang != LangEN && f.Lang != LangZH {
		return nil, fmt.Errorf("%w: lang %q is not en or zh-CN", ErrBadQuery, f.Lang)
	}
	if f.Limit < 0 || f.Limit > 10000 {
		return nil, fmt.Errorf("%w: limit %d is not between 1 and 10000", ErrBadQuery, f.Limit)
	}
	if f.Limit == 0 {
		f.Limit = 1000
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	at := f.At
	if at.IsZero() {
		at = time.Now()
	}
	return scanAlerts(ctx, db, where+fmt.Sprintf(" ORDER BY a.last_seen DESC, a.alert_key, a.episode DESC LIMIT %d", f.Limit), args, f.Lang, at)
}

func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// querier is a database, a connection or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// silenceMatch is the one definition of an active silence s covering the
// alert a at the instant AT.
const silenceMatch = `s.starts_at <= AT AND s.ends_at > AT
	AND (s.rule IS NULL OR s.rule = a.rule)
	AND (s.subject_type IS NULL OR s.subject_type = a.subject_type)
	AND (s.subject_id IS NULL OR s.subject_id = a.subject_id)`

func silencedBy(at time.Time) string {
	return `(SELECT min(s.silence_id) FROM ops.silences AS s WHERE ` +
		strings.ReplaceAll(silenceMatch, "AT", tsLiteral(at)) + `)`
}

// scanAlerts reads ops.alerts (as a) with the rest of a query; at (when
// given) is the time silences are judged at.
func scanAlerts(ctx context.Context, q querier, rest string, args []any, lang string, at ...time.Time) ([]Alert, error) {
	silenced := "NULL::BIGINT"
	if len(at) > 0 {
		silenced = silencedBy(at[0])
	}
	rows, err := q.QueryContext(ctx, `SELECT a.alert_key, a.episode, a.rule, a.severity, a.subject_type, a.subject_id,
		coalesce(a.subject_name, ''), a.alert_window, coalesce(a.employee_id, ''), coalesce(a.team_id, ''), a.state,
		a.value, a.threshold, coalesce(a.summary_en, ''), coalesce(a.summary_zh, ''), CAST(a.details AS VARCHAR),
		epoch_us(a.active_since), epoch_us(a.fired_at), epoch_us(a.last_seen), epoch_us(a.resolved_at), `+silenced+`
		FROM ops.alerts AS a `+rest, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		var (
			a                      Alert
			value, threshold       sql.NullFloat64
			details                sql.NullString
			since, last            int64
			fired, resolved, silID sql.NullInt64
		)
		if err := rows.Scan(&a.Key, &a.Episode, &a.Rule, &a.Severity, &a.SubjectType, &a.Subject,
			&a.SubjectName, &a.Window, &a.EmployeeID, &a.TeamID, &a.State, &value, &threshold,
			&a.SummaryEN, &a.SummaryZH, &details, &since, &fired, &last, &resolved, &silID); err != nil {
			return nil, err
		}
		if value.Valid {
			a.Value = &value.Float64
		}
		if threshold.Valid {
			a.Threshold = &threshold.Float64
		}
		if details.Valid && json.Valid([]byte(details.String)) {
			a.Details = json.RawMessage(details.String)
		}
		a.FirstSeen, a.LastSeen = time.UnixMicro(since).UTC(), time.UnixMicro(last).UTC()
		a.FiredAt, a.ResolvedAt = micros(fired), micros(resolved)
		if silID.Valid {
			a.SilencedBy = &silID.Int64
		}
		a.Summary = a.SummaryIn(lang)
		out = append(out, a)
	}
	return out, rows.Err()
}

func micros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMicro(v.Int64).UTC()
	return &t
}

// Get returns one episode of an alert.
func Get(ctx context.Context, db *sql.DB, key string, episode int, at time.Time) (*Alert, error) {
	as, err := scanAlerts(ctx, db, `WHERE a.alert_key = ? AND a.episode = ?`, []any{key, episode}, "", at)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("alert %s episode %d: %w", key, episode, ErrNotFound)
	}
	return &as[0], nil
}
