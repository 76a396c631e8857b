package transform

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	sqlfiles "github.com/pulsekpi/pulse/sql"
)

// Options configure New. Zero values get defaults.
type Options struct {
	// Models holds staging/, marts/ and alerts/; default the embedded sql/.
	Models fs.FS
	// Params are the business settings; default DefaultParams().
	Params Params
	// Now is the clock of pulse_now(); default time.Now.
	Now func() time.Time
	// Interval is how often the scheduler looks for new events; default 5s.
	Interval time.Duration
	// MaxIdle is how often running periods are refreshed without new
	// events (their KPIs depend on the clock); default 1m.
	MaxIdle time.Duration
	// Concurrency is how many models (and data tests) run at once;
	// default 2.
	Concurrency int
	// CloseGrace is how long after a period ends it may be closed;
	// default 72h.
	CloseGrace time.Duration
	// Lag is the consumers' lag in messages; nil means caught up.
	Lag func(ctx context.Context) (int64, error)
	// Macros are more CREATE MACRO statements, run before every run: the
	// alert rules' settings (alert.Statements). Unlike Params they do not
	// force a full rebuild when they change, so only models rebuilt whole
	// every run (materialized table or view) may read them.
	Macros []string
	// AfterRun, when set, is called after every run's models, tests and
	// period closing, before the run is recorded, while no other run can
	// start: alert evaluation. Its error is noted in the run's Error but
	// does not fail the run.
	AfterRun func(ctx context.Context, run *Run) error
	Logger   *slog.Logger
	Metrics  *Metrics
}

func (o *Options) defaults() {
	if o.Models == nil {
		o.Models = sqlfiles.FS
	}
	if reflect.ValueOf(o.Params).IsZero() {
		o.Params = DefaultParams()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.MaxIdle <= 0 {
		o.MaxIdle = time.Minute
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.CloseGrace <= 0 {
		o.CloseGrace = 72 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
}

// Transformer runs the models against one database.
type Transformer struct {
	db         *sql.DB
	opts       Options
	log        *slog.Logger
	metrics    *Metrics
	models     *modelSet
	params     []string // the parameter macros
	paramsHash string
	// running holds a token while a run is under way: runs never overlap.
	running chan struct{}
	// closed is closed by Stop: no run starts afterwards.
	closed    chan struct{}
	closeOnce sync.Once
}

// ErrStopped is returned by RunNow after Stop.
var ErrStopped = errors.New("transforms are stopped")

// RunRequest asks for a run.
type RunRequest struct {
	// Full rebuilds every model whole, even when an incremental run would
	// do.
	Full bool
}

// Run is one transform run.
type Run struct {
	ID     int64  `json:"id"`
	Status string `json:"status"` // running, ok or failed
	Full   bool   `json:"full"`
	// AsOf is pulse_now(): the instant the KPIs of running periods are
	// evaluated at.
	AsOf time.Time `json:"as_of"`
	// Cut is pulse_cut(): the run saw raw rows ingested up to it. Null
	// before any event was stored.
	Cut *time.Time `json:"cut"`
	// PrevCut is pulse_prev_cut(), the cut of the last successful run;
	// null when there was none (or it saw no events).
	PrevCut    *time.Time   `json:"prev_cut"`
	StartedAt  time.Time    `json:"started_at"`
	FinishedAt time.Time    `json:"finished_at"`
	DurationMS float64      `json:"duration_ms"`
	Models     []ModelRun   `json:"models"`
	Tests      []TestResult `json:"tests"`
	// Error says why the run failed, or what went wrong after its models
	// succeeded (closing periods), which does not fail it.
	Error string `json:"error,omitempty"`

	modelsHash string
	prevNow    *time.Time
}

// ModelRun is what became of one model in a run.
type ModelRun struct {
	Name         string    `json:"name"`
	Layer        string    `json:"layer"`
	Materialized string    `json:"materialized"`
	Status       string    `json:"status"` // ok, failed or skipped
	StartedAt    time.Time `json:"started_at"`
	DurationMS   float64   `json:"duration_ms"`
	// Rows is the table's row count after the run; null for views and
	// models that did not run.
	Rows *int64 `json:"rows"`
	// RowsChanged is the rows written: all of them for a table rebuilt
	// whole, the inserted ones for an incremental run.
	RowsChanged *int64 `json:"rows_changed"`
	Error       string `json:"error,omitempty"`
}

// TestResult is the outcome of one data test.
type TestResult struct {
	Model    string `json:"model"`
	Test     string `json:"test"`
	Status   string `json:"status"` // pass, fail or error
	Failures int64  `json:"failures"`
	Query    string `json:"query"`
	Error    string `json:"error,omitempty"`
}

// Statuses.
const (
	StatusRunning = "running"
	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
	TestPass      = "pass"
	TestFail      = "fail"
	TestError     = "error"
)

// New loads and checks every model (their SQL, references, scopes, tests
// and the absence of cycles) and validates the parameters. db must hold
// the warehouse's schemas: migrations applied.
func New(db *sql.DB, opts Options) (*Transformer, error) {
	opts.defaults()
	if err := opts.Params.Validate(); err != nil {
		return nil, fmt.Errorf("transform parameters: %w", err)
	}
	ctx := context.Background()
	models, err := loadModels(ctx, db, opts.Models)
	if err != nil {
		return nil, err
	}
	// A run is recorded as running when it starts and updated when it
	// ends; a process that died under it (killed, crashed, power cut) left
	// it running for ever. One process writes the database and its runs
	// start after New, so any such run was interrupted: say so (the next
	// run rebuilds every model, as after any run that did not succeed).
	if err := closeUnfinishedRuns(ctx, db, "interrupted: Pulse stopped during the run"); err != nil {
		return nil, err
	}
	params := opts.Params.Statements()
	h := sha256.New()
	for _, s := range params {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return &Transformer{
		db:         db,
		opts:       opts,
		log:        opts.Logger,
		metrics:    opts.Metrics,
		models:     models,
		params:     params,
		paramsHash: hex.EncodeToString(h.Sum(nil)),
		running:    make(chan struct{}, 1),
		closed:     make(chan struct{}),
	}, nil
}

// Models describes every model, dependencies first.
func (t *Transformer) Models() []ModelInfo {
	out := make([]ModelInfo, len(t.models.order))
	for i, m := range t.models.order {
		out[i] = m.info()
	}
	return out
}

// RunNow waits for the run in progress, if any, then runs every model and
// the data tests. A model that fails fails the run but not the call: the
// error is for a run that could not be carried out or recorded.
func (t *Transformer) RunNow(ctx context.Context, req RunRequest) (*Run, error) {
	select {
	case t.running <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.closed:
		return nil, ErrStopped
	}
	defer func() { <-t.running }()
	select {
	case <-t.closed:
		return nil, ErrStopped
	default:
	}
	run, err := t.run(ctx, req)
	if run != nil {
		t.observe(run)
	}
	return run, err
}

// Stop waits for the run in progress, if any, and refuses runs from then
// on, so that the database can be closed under no run.
func (t *Transformer) Stop() error {
	t.closeOnce.Do(func() { close(t.closed) })
	t.running <- struct{}{}
	<-t.running
	return nil
}

// lastRun is what a run needs to know of an earlier one.
type lastRun struct {
	id         int64
	status     string
	cut, asOf  *time.Time
	modelsHash string
	paramsHash string
}

func (t *Transformer) readLastRun(ctx context.Context, okOnly bool) (*lastRun, error) {
	q := `SELECT run_id, status, epoch_us(cut), epoch_us(as_of), models_hash, params_hash FROM ops.transform_runs`
	if okOnly {
		q += ` WHERE status = 'ok'`
	}
	q += ` ORDER BY run_id DESC LIMIT 1`
	var r lastRun
	var cut, asOf sql.NullInt64
	err := t.db.QueryRowContext(ctx, q).Scan(&r.id, &r.status, &cut, &asOf, &r.modelsHash, &r.paramsHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the last transform run: %w", err)
	}
	r.cut, r.asOf = fromMicros(cut), fromMicros(asOf)
	return &r, nil
}

// latestStamp is the stamp of the last batch ingest stored; nil when none.
func (t *Transformer) latestStamp(ctx context.Context) (*time.Time, error) {
	var us sql.NullInt64
	if err := t.db.QueryRowContext(ctx, `SELECT epoch_us(max(updated_at)) FROM ops.kafka_offsets`).Scan(&us); err != nil {
		return nil, fmt.Errorf("reading the ingest stamp: %w", err)
	}
	return fromMicros(us), nil
}

func fromMicros(us sql.NullInt64) *time.Time {
	if !us.Valid {
		return nil
	}
	tm := time.UnixMicro(us.Int64).UTC()
	return &tm
}

// tsLiteral is a TIMESTAMPTZ literal at µs precision; nil is -infinity.
func tsLiteral(tm *time.Time) string {
	if tm == nil {
		return "CAST('-infinity' AS TIMESTAMPTZ)"
	}
	return "TIMESTAMPTZ '" + tm.UTC().Format("2006-01-02 15:04:05.000000") + "+00'"
}

func ptr[T any](v T) *T { return &v }

// run carries out one run; the caller holds the run token.
// closeUnfinishedRuns records every run still marked running as failed,
// for why. Runs never overlap and only this process writes the database,
// so such a run can no longer end by itself: New calls it for runs a dead
// process left, each run for one whose end could not be written.
func closeUnfinishedRuns(ctx context.Context, db *sql.DB, why string) error {
	if _, err := db.ExecContext(ctx, `UPDATE ops.transform_runs SET status = 'failed', finished_at = now(), error = ?
		WHERE status = 'running'`, why); err != nil {
		return fmt.Errorf("closing unfinished transform runs: %w", err)
	}
	return nil
}

func (t *Transformer) run(ctx context.Context, req RunRequest) (*Run, error) {
	started := time.Now().Truncate(time.Microsecond)
	run := &Run{
		Status:     StatusRunning,
		AsOf:       t.opts.Now().UTC().Truncate(time.Microsecond),
		StartedAt:  started.UTC(),
		modelsHash: t.models.hash,
		Models:     []ModelRun{},
		Tests:      []TestResult{},
	}
	last, err := t.readLastRun(ctx, false)
	if err != nil {
		return nil, err
	}
	lastOK, err := t.readLastRun(ctx, true)
	if err != nil {
		return nil, err
	}
	run.Full = req.Full || last == nil || last.status != StatusOK || lastOK == nil ||
		lastOK.modelsHash != t.models.hash || lastOK.paramsHash != t.paramsHash
	if lastOK != nil {
		run.PrevCut, run.prevNow = lastOK.cut, lastOK.asOf
	}
	if run.Cut, err = t.latestStamp(ctx); err != nil {
		return nil, err
	}
	// Runs never overlap, so a run still recorded as running is one whose
	// end could not be written (the disk full when it ended): close it.
	if err := closeUnfinishedRuns(ctx, t.db, "its end could not be recorded (the database refused the write)"); err != nil {
		return nil, err
	}
	if err := t.db.QueryRowContext(ctx, `SELECT coalesce(max(run_id), 0) + 1 FROM ops.transform_runs`).Scan(&run.ID); err != nil {
		return nil, fmt.Errorf("numbering the run: %w", err)
	}
	if _, err := t.db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO ops.transform_runs
		(run_id, started_at, status, full_rebuild, as_of, cut, prev_cut, models_hash, params_hash)
		VALUES (?, %s, 'running', ?, %s, %s, %s, ?, ?)`,
		tsLiteral(&run.StartedAt), tsLiteral(&run.AsOf), tsLiteral(run.Cut), tsLiteral(run.PrevCut)),
		run.ID, run.Full, t.models.hash, t.paramsHash); err != nil {
		return nil, fmt.Errorf("recording the run: %w", err)
	}
	var runErr error
	if err := t.defineMacros(ctx, run); err != nil {
		runErr = err
		run.Error = err.Error()
	} else {
		t.runModels(ctx, run)
		t.runTests(ctx, run)
	}
	run.Status = StatusOK
	var failed []string
	for _, m := range run.Models {
		if m.Status != StatusOK {
			run.Status = StatusFailed
			if m.Status == StatusFailed {
				failed = append(failed, m.Name)
			}
		}
	}
	if runErr != nil {
		run.Status = StatusFailed
	} else if len(failed) > 0 {
		run.Error = "models failed: " + strings.Join(failed, ", ")
	}
	if run.Status == StatusOK {
		if err := t.closePeriods(ctx, run); err != nil {
			run.Error = "closing periods: " + err.Error()
			t.log.Warn("closing periods failed", "run", run.ID, "err", err)
		}
	}
	if t.opts.AfterRun != nil && runErr == nil {
		if err := t.opts.AfterRun(ctx, run); err != nil {
			run.Error = strings.TrimPrefix(run.Error+"; ", "; ") + err.Error()
			t.log.Warn("after the run", "run", run.ID, "err", err)
		}
	}
	run.FinishedAt = time.Now().UTC().Truncate(time.Microsecond)
	run.DurationMS = ms(run.FinishedAt.Sub(started))
	// The record must land even when ctx ended the run early.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := t.record(rctx, run); err != nil {
		return run, errors.Join(runErr, fmt.Errorf("recording run %d: %w", run.ID, err))
	}
	return run, runErr
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// defineMacros defines the parameter macros and the run's own.
func (t *Transformer) defineMacros(ctx context.Context, run *Run) error {
	stmts := append(slices.Concat(t.params, t.opts.Macros),
		"CREATE OR REPLACE MACRO pulse_now() AS "+tsLiteral(&run.AsOf),
		fmt.Sprintf("CREATE OR REPLACE MACRO pulse_full() AS %t", run.Full),
		"CREATE OR REPLACE MACRO pulse_cut() AS "+tsLiteral(run.Cut),
		"CREATE OR REPLACE MACRO pulse_prev_cut() AS "+tsLiteral(run.PrevCut),
		"CREATE OR REPLACE MACRO pulse_prev_now() AS "+tsLiteral(run.prevNow),
		// The one definition of "landed since the last run" for incremental
		// models; nothing is new on a full run, which recomputes everything.
		"CREATE OR REPLACE MACRO pulse_new(ingested_at) AS NOT pulse_full() AND ingested_at > pulse_prev_cut() AND ingested_at <= pulse_cut()",
		fmt.Sprintf("CREATE OR REPLACE MACRO pulse_run_id() AS CAST(%d AS BIGINT)", run.ID),
	)
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("defining macros: %w", err)
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			tx.Rollback()
			return fmt.Errorf("defining macros: %s: %w", s, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("defining macros: %w", err)
	}
	return nil
}

// runModels runs every model in dependency order, up to Concurrency at
// once. A model whose upstream failed is skipped.
func (t *Transformer) runModels(ctx context.Context, run *Run) {
	order := t.models.order
	index := make(map[string]int, len(order))
	dependents := map[string][]string{}
	remaining := make(map[string]int, len(order))
	for i, m := range order {
		index[m.name] = i
		remaining[m.name] = len(m.deps)
		for _, d := range m.deps {
			dependents[d] = append(dependents[d], m.name)
		}
	}
	results := make([]ModelRun, len(order))
	// cause is, for a model that did not succeed, the model that failed.
	cause := map[string]string{}
	var ready []int
	for i, m := range order {
		if remaining[m.name] == 0 {
			ready = append(ready, i)
		}
	}
	type done struct {
		i  int
		mr ModelRun
	}
	finished := make(chan done)
	running, completed := 0, 0
	complete := func(i int, mr ModelRun) {
		results[i] = mr
		completed++
		m := order[i]
		switch mr.Status {
		case StatusFailed:
			cause[m.name] = m.name
		case StatusSkipped:
			// cause set when skipped
		}
		for _, d := range dependents[m.name] {
			remaining[d]--
			if remaining[d] == 0 {
				ready = append(ready, index[d])
			}
		}
		sort.Ints(ready)
	}
	for completed < len(order) {
		for len(ready) > 0 && running < t.opts.Concurrency {
			i := ready[0]
			ready = ready[1:]
			m := order[i]
			upstream := ""
			for _, d := range m.deps {
				if c, ok := cause[d]; ok {
					upstream = c
					break
				}
			}
			if upstream != "" {
				cause[m.name] = upstream
				complete(i, ModelRun{Name: m.name, Layer: m.layer, Materialized: m.materialized,
					Status: StatusSkipped, Error: "skipped: upstream " + upstream + " failed"})
				continue
			}
			running++
			go func() { finished <- done{i, t.runModel(ctx, m, run.Full)} }()
		}
		if running == 0 {
			break // cannot happen: the models were sorted
		}
		d := <-finished
		running--
		complete(d.i, d.mr)
	}
	run.Models = results
}

// runModel builds one model on a connection of its own.
func (t *Transformer) runModel(ctx context.Context, m *model, full bool) ModelRun {
	start := time.Now().Truncate(time.Microsecond)
	mr := ModelRun{Name: m.name, Layer: m.layer, Materialized: m.materialized, StartedAt: start.UTC()}
	rows, changed, err := t.build(ctx, m, full)
	mr.DurationMS = ms(time.Since(start))
	if err != nil {
		mr.Status, mr.Error = StatusFailed, err.Error()
		t.log.Warn("model failed", "model", m.name, "file", m.file, "err", err)
	} else {
		mr.Status, mr.Rows, mr.RowsChanged = StatusOK, rows, changed
	}
	t.metrics.modelSeconds.WithLabelValues(m.name).Set(time.Since(start).Seconds())
	return mr
}

func (t *Transformer) build(ctx context.Context, m *model, full bool) (rows, changed *int64, err error) {
	conn, err := t.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	var existing string // BASE TABLE, VIEW or ""
	err = conn.QueryRowContext(ctx, `SELECT table_type FROM information_schema.tables
		WHERE table_schema = ? AND table_name = ?`, m.layer, m.table).Scan(&existing)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("looking %s up: %w", m.name, err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback() // after Commit, a no-op
	q := m.qualified()
	// Rows of a keyed table are stored in key order (grain, period_start
	// for the marts), so that DuckDB's zone maps let a dashboard's query
	// for one period skip the others: 25x faster on 10 M events (see
	// BENCHMARKS.md). Incremental inserts append each run's periods
	// together, in order, which keeps them clustered.
	body := m.sql
	if len(m.key) > 0 {
		keys := make([]string, len(m.key))
		for i, k := range m.key {
			keys[i] = quoteIdent(k)
		}
		body = "SELECT * FROM (\n" + m.sql + "\n) ORDER BY " + strings.Join(keys, ", ")
	}
	switch {
	case m.materialized == MaterializedView:
		if existing == "BASE TABLE" { // the model was a table before
			if _, err := tx.ExecContext(ctx, "DROP TABLE "+q); err != nil {
				return nil, nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, "CREATE OR REPLACE VIEW "+q+" AS\n"+m.sql+"\n"); err != nil {
			return nil, nil, err
		}
		return nil, nil, tx.Commit()
	case m.materialized == MaterializedTable || full || existing != "BASE TABLE":
		if existing == "VIEW" {
			if _, err := tx.ExecContext(ctx, "DROP VIEW "+q); err != nil {
				return nil, nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, "CREATE OR REPLACE TABLE "+q+" AS\n"+body+"\n"); err != nil {
			return nil, nil, err
		}
		if err := tx.Commit(); err != nil {
			return nil, nil, err
		}
		n, err := count(ctx, conn, q)
		return n, n, err
	default: // incremental
		keys := make([]string, len(m.key))
		conds := make([]string, len(m.key))
		for i, k := range m.key {
			keys[i] = quoteIdent(k)
			conds[i] = "t." + quoteIdent(k) + " IS NOT DISTINCT FROM s." + quoteIdent(k)
		}
		scope := t.models.byName[m.scope].qualified()
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s AS t USING (SELECT DISTINCT %s FROM %s) AS s WHERE %s",
			q, strings.Join(keys, ", "), scope, strings.Join(conds, " AND "))); err != nil {
			return nil, nil, fmt.Errorf("deleting the keys of %s: %w", m.scope, err)
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO "+q+" BY NAME\n"+body+"\n")
		if err != nil {
			return nil, nil, err
		}
		inserted, err := res.RowsAffected()
		if err != nil {
			return nil, nil, err
		}
		if err := tx.Commit(); err != nil {
			return nil, nil, err
		}
		n, err := count(ctx, conn, q)
		return n, &inserted, err
	}
}

func count(ctx context.Context, conn *sql.Conn, table string) (*int64, error) {
	var n int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		return nil, fmt.Errorf("counting rows: %w", err)
	}
	return &n, nil
}

// runTests runs the data tests of the models that succeeded (and, for
// relationships, whose referenced model succeeded too).
func (t *Transformer) runTests(ctx context.Context, run *Run) {
	ok := map[string]bool{}
	for _, m := range run.Models {
		ok[m.Name] = m.Status == StatusOK
	}
	type job struct {
		m    *model
		test *dataTest
	}
	var jobs []job
	for _, m := range t.models.order {
		if !ok[m.name] {
			continue
		}
		for _, dt := range m.tests {
			if dt.refModel != "" && !ok[dt.refModel] {
				continue
			}
			jobs = append(jobs, job{m, dt})
		}
	}
	results := make([]TestResult, len(jobs))
	sem := make(chan struct{}, t.opts.Concurrency)
	var wg sync.WaitGroup
	for i, j := range jobs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r := TestResult{Model: j.m.name, Test: j.test.name, Query: j.test.query}
			if err := t.db.QueryRowContext(ctx, j.test.query).Scan(&r.Failures); err != nil {
				r.Status, r.Error = TestError, err.Error()
			} else if r.Failures > 0 {
				r.Status = TestFail
			} else {
				r.Status = TestPass
			}
			results[i] = r
		})
	}
	wg.Wait()
	run.Tests = results
}

// record writes the run's outcome, its models and its tests.
func (t *Transformer) record(ctx context.Context, run *Run) error {
	var nOK, nFailed, nSkipped, nTests int
	for _, m := range run.Models {
		switch m.Status {
		case StatusOK:
			nOK++
		case StatusFailed:
			nFailed++
		case StatusSkipped:
			nSkipped++
		}
	}
	for _, r := range run.Tests {
		if r.Status != TestPass {
			nTests++
		}
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`UPDATE ops.transform_runs SET finished_at = %s, status = ?,
		models_ok = ?, models_failed = ?, models_skipped = ?, tests_failed = ?, error = ? WHERE run_id = ?`,
		tsLiteral(&run.FinishedAt)),
		run.Status, nOK, nFailed, nSkipped, nTests, nullString(run.Error), run.ID); err != nil {
		return err
	}
	for _, m := range run.Models {
		started := "NULL"
		var dur any
		if !m.StartedAt.IsZero() {
			started, dur = tsLiteral(&m.StartedAt), m.DurationMS
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ops.transform_run_models
			(run_id, model, layer, materialized, status, started_at, duration_ms, rows, rows_changed, error)
			VALUES (?, ?, ?, ?, ?, `+started+`, ?, ?, ?, ?)`,
			run.ID, m.Name, m.Layer, m.Materialized, m.Status, dur, nullInt(m.Rows), nullInt(m.RowsChanged), nullString(m.Error)); err != nil {
			return err
		}
	}
	tested := tsLiteral(&run.FinishedAt)
	for _, r := range run.Tests {
		var failures any
		if r.Status != TestError {
			failures = r.Failures
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ops.data_tests
			(run_id, model, test, status, failures, query, error, tested_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, `+tested+`)`,
			run.ID, r.Model, r.Test, r.Status, failures, r.Query, nullString(r.Error)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// observe logs the run and updates the metrics.
func (t *Transformer) observe(run *Run) {
	mode := "incremental"
	if run.Full {
		mode = "full"
	}
	var failed, skipped []string
	for _, m := range run.Models {
		switch m.Status {
		case StatusFailed:
			failed = append(failed, m.Name)
		case StatusSkipped:
			skipped = append(skipped, m.Name)
		}
	}
	testsFailed := 0
	for _, r := range run.Tests {
		if r.Status != TestPass {
			testsFailed++
		}
	}
	t.metrics.runs.WithLabelValues(run.Status, mode).Inc()
	t.metrics.runSeconds.WithLabelValues(mode).Observe(run.DurationMS / 1000)
	t.metrics.testFailures.Set(float64(testsFailed))
	attrs := []any{"run", run.ID, "mode", mode, "status", run.Status,
		"duration", time.Duration(run.DurationMS * float64(time.Millisecond)).Round(time.Millisecond),
		"models", len(run.Models), "tests_failed", testsFailed}
	if len(failed) > 0 {
		attrs = append(attrs, "failed", failed, "skipped", len(skipped))
	}
	if run.Error != "" {
		attrs = append(attrs, "err", run.Error)
	}
	if run.Status == StatusOK {
		t.log.Info("transform run", attrs...)
	} else {
		t.log.Error("transform run", attrs...)
	}
}

// LastRun is the latest run, with its models and tests; nil before the
// first.
func (t *Transformer) LastRun(ctx context.Context) (*Run, error) {
	var (
		run           Run
		cut, prev     sql.NullInt64
		asOf, started int64
		finished      sql.NullInt64
		errText       sql.NullString
	)
	err := t.db.QueryRowContext(ctx, `SELECT run_id, status, full_rebuild, epoch_us(as_of), epoch_us(cut), epoch_us(prev_cut),
		epoch_us(started_at), epoch_us(finished_at), error, models_hash
		FROM ops.transform_runs ORDER BY run_id DESC LIMIT 1`).Scan(
		&run.ID, &run.Status, &run.Full, &asOf, &cut, &prev, &started, &finished, &errText, &run.modelsHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the last run: %w", err)
	}
	run.AsOf, run.StartedAt = time.UnixMicro(asOf).UTC(), time.UnixMicro(started).UTC()
	run.Cut, run.PrevCut = fromMicros(cut), fromMicros(prev)
	if f := fromMicros(finished); f != nil {
		run.FinishedAt = *f
		run.DurationMS = ms(f.Sub(run.StartedAt))
	}
	run.Error = errText.String
	run.Models, run.Tests = []ModelRun{}, []TestResult{}
	rows, err := t.db.QueryContext(ctx, `SELECT model, layer, materialized, status, epoch_us(started_at), duration_ms, rows, rows_changed, error
		FROM ops.transform_run_models WHERE run_id = ?`, run.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the last run's models: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m ModelRun
		var st, n, changed sql.NullInt64
		var dur sql.NullFloat64
		var e sql.NullString
		if err := rows.Scan(&m.Name, &m.Layer, &m.Materialized, &m.Status, &st, &dur, &n, &changed, &e); err != nil {
			return nil, err
		}
		if s := fromMicros(st); s != nil {
			m.StartedAt = *s
		}
		m.DurationMS, m.Error = dur.Float64, e.String
		if n.Valid {
			m.Rows = ptr(n.Int64)
		}
		if changed.Valid {
			m.RowsChanged = ptr(changed.Int64)
		}
		run.Models = append(run.Models, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Models in run order, as RunNow returns them.
	pos := map[string]int{}
	for i, m := range t.models.order {
		pos[m.name] = i
	}
	sort.SliceStable(run.Models, func(i, j int) bool { return pos[run.Models[i].Name] < pos[run.Models[j].Name] })
	trows, err := t.db.QueryContext(ctx, `SELECT model, test, status, coalesce(failures, 0), query, error
		FROM ops.data_tests WHERE run_id = ? ORDER BY model, test`, run.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the last run's tests: %w", err)
	}
	defer trows.Close()
	for trows.Next() {
		var r TestResult
		var e sql.NullString
		if err := trows.Scan(&r.Model, &r.Test, &r.Status, &r.Failures, &r.Query, &e); err != nil {
			return nil, err
		}
		r.Error = e.String
		run.Tests = append(run.Tests, r)
	}
	return &run, trows.Err()
}
