package alert

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	sqlfiles "github.com/pulsekpi/pulse/sql"
	"github.com/pulsekpi/pulse/transform"
)

// Options configure New. Zero values get defaults.
type Options struct {
	// Models holds alerts/*.sql; default the embedded sql/.
	Models fs.FS
	// Rules configure the rules by name; default DefaultRules(). A rule
	// file without an entry gets DefaultRule().
	Rules map[string]Rule
	// Router queues the notifications of each change of state; nil queues
	// none.
	Router Router
	// Lag is the consumers' lag in messages; nil means caught up. While it
	// is above MaxLag (a back-fill is loading), evaluation is skipped:
	// half-loaded history would fire login gaps and SLA breaches that the
	// rest of the history clears a minute later.
	Lag func(ctx context.Context) (int64, error)
	// MaxLag defaults to 100,000 messages (10 s of a busy stream).
	MaxLag  int64
	Logger  *slog.Logger
	Metrics *Metrics
}

func (o *Options) defaults() {
	if o.Models == nil {
		o.Models = sqlfiles.FS
	}
	if o.Rules == nil {
		o.Rules = DefaultRules()
	}
	if o.MaxLag <= 0 {
		o.MaxLag = 100_000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
}

// Evaluator turns the rules' rows into alerts after every transform run.
type Evaluator struct {
	db    *sql.DB
	opts  Options
	rules map[string]Rule
	names []string // every rule file, sorted
	log   *slog.Logger
}

// New checks the rules against their files (see CheckRules).
func New(db *sql.DB, opts Options) (*Evaluator, error) {
	opts.defaults()
	rules, err := CheckRules(opts.Models, opts.Rules)
	if err != nil {
		return nil, err
	}
	names, err := RuleNames(opts.Models)
	if err != nil {
		return nil, err
	}
	return &Evaluator{db: db, opts: opts, rules: rules, names: names, log: opts.Logger}, nil
}

// Macros are the statements defining the settings macros the rules read;
// the transform runner runs them before every run (transform.Options.Macros).
func (e *Evaluator) Macros() []string { return Statements(e.rules) }

// Rules are the rules in force, by name.
func (e *Evaluator) Rules() map[string]Rule { return e.rules }

// Evaluation is the outcome of one evaluation.
type Evaluation struct {
	RunID      int64     `json:"run_id"`
	At         time.Time `json:"at"`
	DurationMS float64   `json:"duration_ms"`
	// Rules were evaluated; Skipped were not, because their model did not
	// build in this run (their alerts keep their state).
	Rules   int `json:"rules"`
	Skipped int `json:"skipped"`
	// Firing and Pending are the alerts in those states afterwards; Fired
	// and Resolved the changes of this evaluation.
	Firing   int `json:"firing"`
	Pending  int `json:"pending"`
	Fired    int `json:"fired"`
	Resolved int `json:"resolved"`
	// Queued is the notifications queued.
	Queued int `json:"queued"`
	// Problems are rules that could not be read, and why.
	Problems []string `json:"problems,omitempty"`
	// SkippedAll says why nothing was evaluated ("" when it was).
	SkippedAll string `json:"skipped_all,omitempty"`
}

// AfterRun evaluates the rules whose models the run built; it is what the
// transform runner calls after each run (transform.Options.AfterRun).
func (e *Evaluator) AfterRun(ctx context.Context, run *transform.Run) error {
	built := map[string]bool{}
	for _, m := range run.Models {
		if m.Layer == "alerts" && m.Status == transform.StatusOK {
			built[strings.TrimPrefix(m.Name, "alerts.")] = true
		}
	}
	_, err := e.Evaluate(ctx, run.ID, run.AsOf, built)
	return err
}

// requiredColumns are what every rule returns (sql/alerts/README.md).
var requiredColumns = []string{"subject_type", "subject_id", "subject_name", "alert_window",
	"employee_id", "team_id", "value", "threshold", "summary_en", "summary_zh"}

// ErrEvaluated is returned when a run is evaluated a second time: its
// changes of state were queued the first time.
var ErrEvaluated = errors.New("run already evaluated")

// Evaluate evaluates every enabled rule in built (the rules whose tables
// this run rebuilt) at the run's time at, in one transaction: alerts move
// from state to state and their notifications are queued together, or not
// at all. Runs are evaluated once each, in order.
func (e *Evaluator) Evaluate(ctx context.Context, runID int64, at time.Time, built map[string]bool) (*Evaluation, error) {
	start := time.Now()
	ev := &Evaluation{RunID: runID, At: at.UTC()}
	defer func() {
		ev.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		e.opts.Metrics.observe(ev)
	}()
	if e.opts.Lag != nil {
		lag, err := e.opts.Lag(ctx)
		if err != nil {
			return ev, fmt.Errorf("alerts: reading ingest lag: %w", err)
		}
		if lag > e.opts.MaxLag {
			ev.SkippedAll = fmt.Sprintf("ingest lag %d > %d messages", lag, e.opts.MaxLag)
			e.log.Info("alert evaluation skipped", "run", runID, "reason", ev.SkippedAll)
			return ev, e.record(ctx, e.db, ev)
		}
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return ev, fmt.Errorf("alerts: %w", err)
	}
	defer conn.Close()

	var selects, evaluated []string
	for _, name := range e.names {
		r := e.rules[name]
		if !r.Enabled {
			continue
		}
		if !built[name] {
			ev.Skipped++
			continue
		}
		sel, err := e.ruleSelect(ctx, conn, name, r)
		if err != nil {
			ev.Skipped++
			ev.Problems = append(ev.Problems, err.Error())
			e.log.Warn("alert rule not evaluated", "rule", name, "err", err)
			continue
		}
		selects = append(selects, sel)
		evaluated = append(evaluated, name)
	}
	ev.Rules = len(evaluated)
	// The rules whose open alerts this evaluation may resolve: those
	// evaluated, the disabled ones and those whose file is gone.
	var disabled []string
	for _, name := range e.names {
		if !e.rules[name].Enabled {
			disabled = append(disabled, name)
		}
	}
	resolvable := fmt.Sprintf("(rule IN (%s) OR rule NOT IN (%s))",
		sqlList(slices.Concat(evaluated, disabled)), sqlList(e.names))

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return ev, fmt.Errorf("alerts: %w", err)
	}
	defer tx.Rollback() // after Commit, a no-op
	var seen int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ops.alert_evaluations WHERE run_id >= ?`, runID).Scan(&seen); err != nil {
		return ev, fmt.Errorf("alerts: %w", err)
	}
	if seen > 0 {
		return ev, fmt.Errorf("alerts: run %d: %w (or a later one was)", runID, ErrEvaluated)
	}
	now := make([]string, 0, len(selects)+1)
	now = append(now, selects...)
	if len(now) == 0 {
		now = append(now, emptySelect)
	}
	AT, RUN := tsLiteral(at), fmt.Sprint(runID)
	hold := "epoch_us(" + AT + ") - epoch_us(a.active_since) >= n.hold_us"
	stmts := []struct{ what, sql string }{
		{"reading the rules", `CREATE OR REPLACE TEMP TABLE alert_now AS
			SELECT *, rule || '/' || subject_type || ':' || subject_id ||
			          CASE WHEN alert_window <> '' THEN '/' || alert_window ELSE '' END AS alert_key
			FROM (` + strings.Join(now, "\nUNION ALL BY NAME\n") + `)
			WHERE subject_type IS NOT NULL AND subject_id IS NOT NULL
			QUALIFY row_number() OVER (PARTITION BY rule, subject_type, subject_id, alert_window ORDER BY value DESC NULLS LAST) = 1`},
		{"updating open alerts", `UPDATE ops.alerts AS a SET
			last_seen = ` + AT + `, last_run_id = ` + RUN + `,
			value = n.value, threshold = n.threshold, summary_en = n.summary_en, summary_zh = n.summary_zh,
			details = n.details, subject_name = n.subject_name, employee_id = n.employee_id, team_id = n.team_id,
			severity = n.severity,
			state = CASE WHEN a.state = 'pending' AND ` + hold + ` THEN 'firing' ELSE a.state END,
			fired_at = CASE WHEN a.state = 'pending' AND ` + hold + ` THEN ` + AT + ` ELSE a.fired_at END,
			changed_run_id = CASE WHEN a.state = 'pending' AND ` + hold + ` THEN ` + RUN + ` ELSE a.changed_run_id END
			FROM alert_now AS n
			WHERE a.alert_key = n.alert_key AND a.state IN ('pending', 'firing')`},
		{"opening alerts", `INSERT INTO ops.alerts (alert_key, episode, rule, severity, subject_type, subject_id,
				subject_name, alert_window, employee_id, team_id, state, value, threshold, summary_en, summary_zh,
				details, active_since, fired_at, last_seen, last_run_id, changed_run_id)
			SELECT n.alert_key, coalesce(p.episodes, 0) + 1, n.rule, n.severity, n.subject_type, n.subject_id,
				n.subject_name, n.alert_window, n.employee_id, n.team_id,
				CASE WHEN n.hold_us <= 0 THEN 'firing' ELSE 'pending' END,
				n.value, n.threshold, n.summary_en, n.summary_zh, n.details,
				` + AT + `, CASE WHEN n.hold_us <= 0 THEN ` + AT + ` END, ` + AT + `, ` + RUN + `,
				CASE WHEN n.hold_us <= 0 THEN ` + RUN + ` END
			FROM alert_now AS n
			LEFT JOIN (SELECT alert_key, max(episode) AS episodes FROM ops.alerts GROUP BY alert_key) AS p USING (alert_key)
			WHERE NOT EXISTS (SELECT 1 FROM ops.alerts AS a WHERE a.alert_key = n.alert_key AND a.state IN ('pending', 'firing'))`},
		// A pending alert whose condition cleared never fired: forgotten.
		{"forgetting cleared pending alerts", `DELETE FROM ops.alerts WHERE state = 'pending' AND ` + resolvable + `
			AND alert_key NOT IN (SELECT alert_key FROM alert_now)`},
		{"resolving alerts", `UPDATE ops.alerts SET state = 'resolved', resolved_at = ` + AT + `,
			last_run_id = ` + RUN + `, changed_run_id = ` + RUN + `
			WHERE state = 'firing' AND ` + resolvable + ` AND alert_key NOT IN (SELECT alert_key FROM alert_now)`},
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.sql); err != nil {
			return ev, fmt.Errorf("alerts: %s: %w", s.what, err)
		}
	}
	changed, err := scanAlerts(ctx, tx, `WHERE changed_run_id = ? ORDER BY a.alert_key, a.episode`, []any{runID}, "")
	if err != nil {
		return ev, fmt.Errorf("alerts: reading changes: %w", err)
	}
	var queue []queued
	for i := range changed {
		a := &changed[i]
		kind := KindFiring
		if a.State == StateResolved {
			kind = KindResolved
			ev.Resolved++
		} else {
			ev.Fired++
		}
		if e.opts.Router == nil {
			continue
		}
		for _, t := range e.opts.Router.Route(a, kind) {
			queue = append(queue, queued{a.Key, a.Episode, kind, t})
		}
	}
	if err := insertNotifications(ctx, tx, queue, at); err != nil {
		return ev, fmt.Errorf("alerts: queueing notifications: %w", err)
	}
	ev.Queued = len(queue)
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FILTER (state = 'firing'), count(*) FILTER (state = 'pending')
		FROM ops.alerts WHERE state IN ('firing', 'pending')`).Scan(&ev.Firing, &ev.Pending); err != nil {
		return ev, fmt.Errorf("alerts: counting: %w", err)
	}
	ev.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	if err := e.record(ctx, tx, ev); err != nil {
		return ev, err
	}
	if err := tx.Commit(); err != nil {
		return ev, fmt.Errorf("alerts: committing: %w", err)
	}
	if err := e.opts.Metrics.count(ctx, e.db); err != nil {
		e.log.Warn("alert metrics", "err", err)
	}
	attrs := []any{"run", runID, "rules", ev.Rules, "firing", ev.Firing, "pending", ev.Pending,
		"fired", ev.Fired, "resolved", ev.Resolved, "queued", ev.Queued,
		"duration", time.Since(start).Round(time.Millisecond)}
	if ev.Fired+ev.Resolved > 0 {
		e.log.Info("alerts evaluated", attrs...)
	} else {
		e.log.Debug("alerts evaluated", attrs...)
	}
	if len(ev.Problems) > 0 {
		return ev, fmt.Errorf("alerts: %s", strings.Join(ev.Problems, "; "))
	}
	return ev, nil
}

// emptySelect has the columns of alert_now and no row.
const emptySelect = `SELECT NULL::VARCHAR AS rule, NULL::VARCHAR AS severity, NULL::BIGINT AS hold_us,
	NULL::VARCHAR AS subject_type, NULL::VARCHAR AS subject_id, NULL::VARCHAR AS subject_name,
	NULL::VARCHAR AS alert_window, NULL::VARCHAR AS employee_id, NULL::VARCHAR AS team_id,
	NULL::DOUBLE AS value, NULL::DOUBLE AS threshold, NULL::VARCHAR AS summary_en,
	NULL::VARCHAR AS summary_zh, NULL::JSON AS details WHERE false`

// ruleSelect reads one rule's table in alert_now's shape, after checking
// it has the columns of the contract.
func (e *Evaluator) ruleSelect(ctx context.Context, conn *sql.Conn, name string, r Rule) (string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'alerts' AND table_name = ?`, name)
	if err != nil {
		return "", fmt.Errorf("rule %s: %w", name, err)
	}
	have := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return "", err
		}
		have[c] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	if len(have) == 0 {
		return "", fmt.Errorf("rule %s: no table alerts.%s", name, name)
	}
	var missing []string
	for _, c := range requiredColumns {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("rule %s (sql/alerts/%s.sql): missing column %s (see sql/alerts/README.md)",
			name, name, strings.Join(missing, ", "))
	}
	details := "NULL::JSON"
	if have["details"] {
		details = "to_json(details)"
	}
	return fmt.Sprintf(`SELECT %s AS rule, %s AS severity, CAST(%d AS BIGINT) AS hold_us,
		CAST(subject_type AS VARCHAR) AS subject_type, CAST(subject_id AS VARCHAR) AS subject_id,
		CAST(subject_name AS VARCHAR) AS subject_name, coalesce(CAST(alert_window AS VARCHAR), '') AS alert_window,
		CAST(employee_id AS VARCHAR) AS employee_id, CAST(team_id AS VARCHAR) AS team_id,
		CAST(value AS DOUBLE) AS value, CAST(threshold AS DOUBLE) AS threshold,
		CAST(summary_en AS VARCHAR) AS summary_en, CAST(summary_zh AS VARCHAR) AS summary_zh,
		%s AS details
		FROM alerts.%s`, quote(name), quote(r.Severity), r.For.Microseconds(), details, quoteIdent(name)), nil
}

type queued struct {
	key     string
	episode int
	kind    string
	target  Target
}

// insertNotifications queues notifications, many rows per statement.
func insertNotifications(ctx context.Context, tx *sql.Tx, qs []queued, at time.Time) error {
	const per = 500
	AT := tsLiteral(at)
	for len(qs) > 0 {
		n := min(per, len(qs))
		var b strings.Builder
		b.WriteString(`INSERT INTO ops.alert_notifications
			(alert_key, episode, kind, channel, manager, status, created_at, next_attempt_at) VALUES `)
		args := make([]any, 0, n*5)
		for i, q := range qs[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, 'pending', " + AT + ", " + AT + ")")
			args = append(args, q.key, q.episode, q.kind, q.target.Channel, q.target.Manager)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
		qs = qs[n:]
	}
	return nil
}

// execer is a connection or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (e *Evaluator) record(ctx context.Context, db execer, ev *Evaluation) error {
	var problem any
	if ev.SkippedAll != "" {
		problem = ev.SkippedAll
	} else if len(ev.Problems) > 0 {
		problem = strings.Join(ev.Problems, "; ")
	}
	_, err := db.ExecContext(ctx, `INSERT INTO ops.alert_evaluations
		(run_id, evaluated_at, duration_ms, rules_evaluated, rules_skipped, firing, pending, fired, resolved, error)
		VALUES (?, `+tsLiteral(ev.At)+`, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.RunID, ev.DurationMS, ev.Rules, ev.Skipped, ev.Firing, ev.Pending, ev.Fired, ev.Resolved, problem)
	if err != nil {
		return fmt.Errorf("alerts: recording the evaluation: %w", err)
	}
	return nil
}

// tsLiteral is a TIMESTAMPTZ literal at µs precision.
func tsLiteral(tm time.Time) string {
	return "TIMESTAMPTZ '" + tm.UTC().Format("2006-01-02 15:04:05.000000") + "+00'"
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func sqlList(names []string) string {
	if len(names) == 0 {
		return "NULL"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}
