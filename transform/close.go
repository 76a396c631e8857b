package transform

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrPeriod is wrapped by Close and Reopen when the period named cannot be
// closed or reopened; the message says why.
var ErrPeriod = errors.New("invalid period")

// ClosedPeriod is a frozen month or quarter.
type ClosedPeriod struct {
	Grain       string    `json:"grain"`
	PeriodStart string    `json:"period"`
	ClosedAt    time.Time `json:"closed_at"`
	ClosedBy    string    `json:"closed_by"`
}

// closePeriods freezes every month and quarter that ended at least
// CloseGrace before the run's now, once ingest has caught up: a back-fill
// of history in flight would otherwise be frozen half-loaded. Periods an
// admin reopened are left alone.
func (t *Transformer) closePeriods(ctx context.Context, run *Run) error {
	if t.opts.Lag != nil {
		lag, err := t.opts.Lag(ctx)
		if err != nil {
			t.log.Info("not closing periods: consumer lag unknown", "err", err)
			return nil
		}
		if lag > 0 {
			t.log.Debug("not closing periods: ingest has not caught up", "lag", lag)
			return nil
		}
	}
	var have int
	if err := t.db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'staging' AND table_name = 'periods'`).Scan(&have); err != nil || have == 0 {
		return err // models without periods (tests of the runner) have nothing to close
	}
	graceSeconds := int64(t.opts.CloseGrace / time.Second)
	rows, err := t.db.QueryContext(ctx, fmt.Sprintf(`
		SELECT grain, strftime(period_start, '%%Y-%%m-%%d')
		FROM staging.periods AS p
		WHERE grain IN ('month', 'quarter')
		  AND end_at + to_seconds(%d) <= pulse_now()
		  AND NOT EXISTS (SELECT 1 FROM ops.closed_periods AS z WHERE z.grain = p.grain AND z.period_start = p.period_start)
		  AND NOT EXISTS (SELECT 1 FROM ops.reopened_periods AS r WHERE r.grain = p.grain AND r.period_start = p.period_start)
		ORDER BY period_start, grain`, graceSeconds))
	if err != nil {
		return fmt.Errorf("finding periods to close: %w", err)
	}
	var due [][2]string
	for rows.Next() {
		var g, p string
		if err := rows.Scan(&g, &p); err != nil {
			rows.Close()
			return err
		}
		due = append(due, [2]string{g, p})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, d := range due {
		if err := t.freeze(ctx, d[0], d[1], "auto", run.Cut); err != nil {
			return err
		}
		t.log.Info("period closed", "grain", d[0], "period", d[1])
	}
	return nil
}

// freeze copies a period's published KPIs and scorecards into ops and
// marks it closed, in one transaction; from then on the marts answer with
// the copy. cut is the ingest stamp the figures were computed at.
func (t *Transformer) freeze(ctx context.Context, grain, period, by string, cut *time.Time) error {
	return t.inTx(ctx, func(conn *sql.Conn) error { return freezeIn(ctx, conn, grain, period, by, cut) })
}

func freezeIn(ctx context.Context, conn *sql.Conn, grain, period, by string, cut *time.Time) error {
	var cutArg any
	if cut != nil {
		cutArg = *cut
	}
	stmts := []string{
		// Copied while the period is still open, so the views show live figures.
		`INSERT INTO ops.frozen_kpis (grain, period_start, subject_type, subject_id, kpi, value, frozen_at)
		 SELECT grain, period_start, subject_type, subject_id, kpi, value, now()
		 FROM marts.kpis_long WHERE grain = $1 AND period_start = CAST($2 AS DATE)`,
		`INSERT INTO ops.frozen_scorecards (grain, period_start, role, employee_id, name, team_id, score,
		     rank_in_role, rank_in_team, dropped_kpis, renormalised, explanation, frozen_at)
		 SELECT grain, period_start, role, employee_id, name, team_id, score, rank_in_role, rank_in_team,
		        dropped_kpis, renormalised, explanation, now()
		 FROM marts.scorecards WHERE grain = $1 AND period_start = CAST($2 AS DATE)`,
		`DELETE FROM ops.reopened_periods WHERE grain = $1 AND period_start = CAST($2 AS DATE)`,
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s, grain, period); err != nil {
			return fmt.Errorf("freezing %s %s: %w", grain, period, err)
		}
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO ops.closed_periods (grain, period_start, closed_at, closed_by, cut)
		VALUES ($1, CAST($2 AS DATE), now(), $3, $4)`, grain, period, by, cutArg); err != nil {
		return fmt.Errorf("closing %s %s: %w", grain, period, err)
	}
	return nil
}

// inTx runs fn in one transaction on one connection, rolled back if fn
// fails.
func (t *Transformer) inTx(ctx context.Context, fn func(*sql.Conn) error) (err error) {
	conn, err := t.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	if err := fn(conn); err != nil {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

// checkPeriod says whether grain and period name a month or quarter that
// the warehouse has figures for.
func (t *Transformer) checkPeriod(ctx context.Context, grain, period string) error {
	if err := closable(grain); err != nil {
		return err
	}
	d, err := time.Parse(time.DateOnly, period)
	if err != nil {
		return fmt.Errorf("%w: period %q is not a date (YYYY-MM-DD)", ErrPeriod, period)
	}
	if d.Day() != 1 || grain == "quarter" && (d.Month()-1)%3 != 0 {
		return fmt.Errorf("%w: %s does not start a %s", ErrPeriod, period, grain)
	}
	var n int
	err = t.db.QueryRowContext(ctx, `SELECT count(*) FROM staging.periods WHERE grain = $1 AND period_start = CAST($2 AS DATE) AND NOT running`,
		grain, period).Scan(&n)
	if err != nil {
		return fmt.Errorf("looking up %s %s: %w", grain, period, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s %s has not ended or has no data", ErrPeriod, grain, period)
	}
	return nil
}

// Close freezes a period by hand (an admin's decision), whether or not its
// grace has passed. Closing a closed period is an error.
func (t *Transformer) Close(ctx context.Context, grain, period, by string) error {
	if err := t.acquire(ctx); err != nil {
		return err
	}
	defer t.release()
	if err := t.checkPeriod(ctx, grain, period); err != nil {
		return err
	}
	last, err := t.readLastRun(ctx, true)
	if err != nil {
		return err
	}
	if last == nil {
		return fmt.Errorf("%w: no transform run has computed it yet", ErrPeriod)
	}
	closed, err := t.IsClosed(ctx, grain, period)
	if err != nil {
		return err
	}
	if closed {
		return fmt.Errorf("%w: %s %s is already closed", ErrPeriod, grain, period)
	}
	return t.freeze(ctx, grain, period, "manual:"+by, last.cut)
}

// Reopen unfreezes a period by hand: its marts show live figures again and
// automatic closing leaves it alone until it is closed by hand.
func (t *Transformer) Reopen(ctx context.Context, grain, period, by string) error {
	if err := t.acquire(ctx); err != nil {
		return err
	}
	defer t.release()
	if err := closable(grain); err != nil {
		return err
	}
	return t.inTx(ctx, func(conn *sql.Conn) error { return reopenIn(ctx, conn, grain, period, by) })
}

func reopenIn(ctx context.Context, conn *sql.Conn, grain, period, by string) error {
	res, err := conn.ExecContext(ctx, `DELETE FROM ops.closed_periods WHERE grain = $1 AND period_start = CAST($2 AS DATE)`, grain, period)
	if err != nil {
		return fmt.Errorf("reopening %s %s: %w", grain, period, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s %s is not closed", ErrPeriod, grain, period)
	}
	for _, s := range []string{
		`DELETE FROM ops.frozen_kpis WHERE grain = $1 AND period_start = CAST($2 AS DATE)`,
		`DELETE FROM ops.frozen_scorecards WHERE grain = $1 AND period_start = CAST($2 AS DATE)`,
		`INSERT OR REPLACE INTO ops.reopened_periods VALUES ($1, CAST($2 AS DATE), now(), $3)`,
	} {
		args := []any{grain, period}
		if strings.Contains(s, "$3") {
			args = append(args, by)
		}
		if _, err := conn.ExecContext(ctx, s, args...); err != nil {
			return fmt.Errorf("reopening %s %s: %w", grain, period, err)
		}
	}
	return nil
}

// ClosedPeriods lists the frozen periods, latest first.
func (t *Transformer) ClosedPeriods(ctx context.Context) ([]ClosedPeriod, error) {
	rows, err := t.db.QueryContext(ctx, `SELECT grain, strftime(period_start, '%Y-%m-%d'), closed_at, closed_by
		FROM ops.closed_periods ORDER BY period_start DESC, grain`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ClosedPeriod
	for rows.Next() {
		var c ClosedPeriod
		if err := rows.Scan(&c.Grain, &c.PeriodStart, &c.ClosedAt, &c.ClosedBy); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// IsClosed says whether a period is frozen.
func (t *Transformer) IsClosed(ctx context.Context, grain, period string) (bool, error) {
	var n int
	err := t.db.QueryRowContext(ctx, `SELECT count(*) FROM ops.closed_periods WHERE grain = $1 AND period_start = CAST($2 AS DATE)`,
		grain, period).Scan(&n)
	return n > 0, err
}

func (t *Transformer) acquire(ctx context.Context) error {
	select {
	case t.running <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *Transformer) release() { <-t.running }

// closable says whether periods of grain can be closed: months and quarters.
func closable(grain string) error {
	if grain != "month" && grain != "quarter" {
		return fmt.Errorf("%w: only months and quarters close, not %q", ErrPeriod, grain)
	}
	return nil
}
