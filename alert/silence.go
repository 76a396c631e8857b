package alert

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Silence holds back the notifications of the alerts it matches, between
// StartsAt and EndsAt. The alerts are still evaluated and recorded.
type Silence struct {
	ID int64 `json:"id"`
	// Rule, SubjectType and Subject match alerts; an empty one matches
	// any. A silence names a rule or a subject, or both.
	Rule        string    `json:"rule,omitempty"`
	SubjectType string    `json:"subject_type,omitempty"`
	Subject     string    `json:"subject,omitempty"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	CreatedBy   string    `json:"created_by"`
	Comment     string    `json:"comment"`
	CreatedAt   time.Time `json:"created_at"`
	// EndedBy is who ended it early (DELETE), if anyone.
	EndedBy string `json:"ended_by,omitempty"`
	// Active: it silences now.
	Active bool `json:"active"`
}

// ErrBadSilence is a silence that cannot be created as asked: 400.
var ErrBadSilence = errors.New("bad silence")

// Silences creates, lists and ends silences.
type Silences struct {
	db    *sql.DB
	rules func() []string
	now   func() time.Time
}

// NewSilences keeps silences in db. rules lists the rule names a silence
// may name; now is the clock (default time.Now).
func NewSilences(db *sql.DB, rules func() []string, now func() time.Time) *Silences {
	if now == nil {
		now = time.Now
	}
	return &Silences{db: db, rules: rules, now: now}
}

// Create stores a silence. StartsAt defaults to now.
func (s *Silences) Create(ctx context.Context, in Silence) (*Silence, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	in.Rule, in.SubjectType, in.Subject = strings.TrimSpace(in.Rule), strings.TrimSpace(in.SubjectType), strings.TrimSpace(in.Subject)
	in.CreatedBy, in.Comment = strings.TrimSpace(in.CreatedBy), strings.TrimSpace(in.Comment)
	if in.StartsAt.IsZero() {
		in.StartsAt = now
	}
	known := false
	for _, r := range s.rules() {
		known = known || r == in.Rule
	}
	switch {
	case in.Rule == "" && in.Subject == "":
		return nil, fmt.Errorf("%w: name a rule, a subject or both (a silence of everything is not allowed)", ErrBadSilence)
	case in.Rule != "" && !known:
		return nil, fmt.Errorf("%w: rule %q: no such rule (%s)", ErrBadSilence, in.Rule, strings.Join(s.rules(), ", "))
	case in.SubjectType != "" && in.Subject == "":
		return nil, fmt.Errorf("%w: subject_type without subject", ErrBadSilence)
	case in.SubjectType != "" && !oneOf(in.SubjectType, "employee", "team", "company", "ticket"):
		return nil, fmt.Errorf("%w: subject_type %q is not employee, team, company or ticket", ErrBadSilence, in.SubjectType)
	case in.EndsAt.IsZero():
		return nil, fmt.Errorf("%w: ends_at (or duration) is required", ErrBadSilence)
	case !in.EndsAt.After(in.StartsAt) || !in.EndsAt.After(now):
		return nil, fmt.Errorf("%w: ends_at %s must be after starts_at and in the future", ErrBadSilence, in.EndsAt.Format(time.RFC3339))
	case in.CreatedBy == "":
		return nil, fmt.Errorf("%w: created_by: who silences it", ErrBadSilence)
	case in.Comment == "":
		return nil, fmt.Errorf("%w: comment: why it is silenced", ErrBadSilence)
	}
	var id int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO ops.silences (rule, subject_type, subject_id, starts_at, ends_at, created_by, comment, created_at)
		VALUES (?, ?, ?, `+tsLiteral(in.StartsAt)+`, `+tsLiteral(in.EndsAt)+`, ?, ?, `+tsLiteral(now)+`) RETURNING silence_id`,
		nullIfEmpty(in.Rule), nullIfEmpty(in.SubjectType), nullIfEmpty(in.Subject), in.CreatedBy, in.Comment).Scan(&id)
	if err != nil {
		return nil, fmt.Errorf("storing the silence: %w", err)
	}
	return s.Get(ctx, id)
}

// Get returns one silence.
func (s *Silences) Get(ctx context.Context, id int64) (*Silence, error) {
	list, err := s.list(ctx, "WHERE silence_id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("silence %d: %w", id, ErrNotFound)
	}
	return &list[0], nil
}

// List returns the active silences, or all of them, newest first.
func (s *Silences) List(ctx context.Context, all bool) ([]Silence, error) {
	if all {
		return s.list(ctx, "")
	}
	now := tsLiteral(s.now())
	return s.list(ctx, "WHERE starts_at <= "+now+" AND ends_at > "+now)
}

func (s *Silences) list(ctx context.Context, where string, args ...any) ([]Silence, error) {
	now := s.now()
	rows, err := s.db.QueryContext(ctx, `SELECT silence_id, coalesce(rule, ''), coalesce(subject_type, ''), coalesce(subject_id, ''),
		epoch_us(starts_at), epoch_us(ends_at), created_by, comment, epoch_us(created_at), coalesce(ended_by, '')
		FROM ops.silences `+where+` ORDER BY silence_id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading silences: %w", err)
	}
	defer rows.Close()
	out := []Silence{}
	for rows.Next() {
		var x Silence
		var starts, ends, created int64
		if err := rows.Scan(&x.ID, &x.Rule, &x.SubjectType, &x.Subject, &starts, &ends, &x.CreatedBy, &x.Comment, &created, &x.EndedBy); err != nil {
			return nil, err
		}
		x.StartsAt, x.EndsAt, x.CreatedAt = time.UnixMicro(starts).UTC(), time.UnixMicro(ends).UTC(), time.UnixMicro(created).UTC()
		x.Active = !x.StartsAt.After(now) && x.EndsAt.After(now)
		out = append(out, x)
	}
	return out, rows.Err()
}

// End ends a silence now (it stays listed with all=true). Notifications it
// held back are due at once.
func (s *Silences) End(ctx context.Context, id int64, by string) (*Silence, error) {
	x, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !x.Active && x.EndsAt.Before(s.now()) {
		return x, nil // already over: nothing to do
	}
	now := tsLiteral(s.now().UTC().Truncate(time.Microsecond))
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE ops.silences SET ends_at = `+now+`, ended_by = ? WHERE silence_id = ?`, by, id); err != nil {
		return nil, fmt.Errorf("ending silence %d: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE ops.alert_notifications SET next_attempt_at = `+now+`
		WHERE silenced_by = ? AND status = 'pending'`, id); err != nil {
		return nil, fmt.Errorf("ending silence %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Match returns the active silence covering a at the instant at, or nil.
func Match(ctx context.Context, q querier, a *Alert, at time.Time) (*int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+silencedBy(at)+` FROM (SELECT ?::VARCHAR AS rule, ?::VARCHAR AS subject_type, ?::VARCHAR AS subject_id) AS a`,
		a.Rule, a.SubjectType, a.Subject)
	if err != nil {
		return nil, fmt.Errorf("matching silences: %w", err)
	}
	defer rows.Close()
	var id sql.NullInt64
	if rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
	}
	if !id.Valid {
		return nil, rows.Err()
	}
	return &id.Int64, rows.Err()
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}
