// Package query runs analysts' ad-hoc SQL (POST /api/query) against the
// warehouse safely: one read-only SELECT statement, bounded in time, rows
// and concurrency, with results streamed as JSON, CSV, Parquet or Arrow IPC.
//
// How a statement is checked, in order (nothing of the analyst's SQL is
// executed before all checks pass; no check matches strings in the SQL text):
//
//  1. DuckDB's parser, via json_serialize_sql (parse only, no binding):
//     it serialises SELECT statements only, and reports every statement of
//     a multi-statement text. More than one statement is refused.
//  2. The JSON parse tree is walked: table functions must be on an
//     allow-list (file readers, checkpoint(), query(), duckdb_settings(),
//     duckdb_secrets(), glob(), ... are not), a few scalar functions are
//     denied (current_setting, nextval, setseed, write_log, ...) and so are
//     DuckDB's built-in views over denied functions (duckdb_databases,
//     pg_settings, ...).
//  3. If json_serialize_sql refused the text (not a SELECT), the text is
//     prepared with (*duckdb.Conn).Prepare, which refuses multi-statement
//     texts without executing any of them (unlike PrepareContext, which
//     executes all but the last), to name the statement type in the refusal.
//  4. The statement is prepared and DuckDB's own statement type must be
//     STATEMENT_TYPE_SELECT (so INSERT/UPDATE/DELETE, DDL, COPY, ATTACH,
//     INSTALL/LOAD, SET/RESET, PRAGMA, CALL, EXPORT, EXPLAIN, transactions
//     are refused). EXPLAIN is refused because EXPLAIN ANALYZE executes.
//  5. A LIMIT of MaxRows+1 is added to the parse tree (json_deserialize_sql
//     turns it back into SQL), so DuckDB never produces more rows than are
//     returned; reading stops at MaxRows and the result says truncated.
//
// Below that, the database itself must be opened with
// enable_external_access=false (warehouse does so by default): DuckDB then
// refuses every file and network access (read_text, read_csv, glob,
// replacement scans such as FROM '/etc/passwd', COPY, ATTACH, secrets) even
// if a check above missed something. New refuses a database where external
// access is on.
//
// lock_configuration is not used: it is database-wide, and the warehouse
// applies its per-connection settings (asof_loop_join_threshold, threads,
// memory_limit, ...) to every new pooled connection, which fails once the
// configuration is locked. Analysts cannot change settings anyway: SET,
// RESET and PRAGMA statements are refused by statement type and no allowed
// function changes a setting.
//
// JSON values: integers of every width, HUGEINT and DECIMAL are exact JSON
// numbers (the digits DuckDB holds, never rounded through float64; clients
// in JavaScript may want to parse them as strings); DOUBLE/FLOAT NaN and
// ±Inf are the strings "NaN", "Infinity", "-Infinity"; TIMESTAMP and
// TIMESTAMPTZ are RFC 3339 (UTC); DATE is YYYY-MM-DD; TIME is HH:MM:SS[.f];
// INTERVAL is {"months","days","micros"}; BLOB is base64; UUID is its text;
// LIST/ARRAY are JSON arrays, STRUCT JSON objects, MAP an object when its
// keys are strings and otherwise a list of {"key","value"}; NULL is null.
package query

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Error kinds; test with errors.Is. Suggested HTTP statuses in brackets.
var (
	// ErrRefused: the statement is not allowed here (400); the message says why.
	ErrRefused = errors.New("query refused")
	// ErrBadSQL: DuckDB could not parse, bind or run the statement (400).
	ErrBadSQL = errors.New("invalid query")
	// ErrTimeout: the query ran into the time limit and was interrupted (504).
	ErrTimeout = errors.New("query timed out")
	// ErrBusy: MaxConcurrent queries were running for the whole queue wait (429).
	ErrBusy = errors.New("too many queries")
	// ErrNotAcceptable: no supported result format was asked for (406).
	ErrNotAcceptable = errors.New("unsupported result format")
	// ErrAborted: the result failed after part of it was written (the
	// response cannot carry an error status any more; close it).
	ErrAborted = errors.New("result aborted")
)

// Error is an error of one of the kinds above with a message for the
// analyst. Its Error() is the message only.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Options configure a Runner. Zero values get defaults.
type Options struct {
	MaxRows       int           // rows returned at most, default 10000
	Timeout       time.Duration // per query, from when it starts running; default 30s
	MaxConcurrent int           // queries running at once, default 2
	QueueTimeout  time.Duration // how long a query waits for a slot, default 2s
	Logger        *slog.Logger
}

// Runner runs analysts' queries.
type Runner struct {
	db       *sql.DB
	opts     Options
	log      *slog.Logger
	sem      chan struct{}
	limitMod any
}

// Request is one query.
type Request struct {
	SQL    string
	Params []any // bound to $1, $2, ... or ?
}

// Column is a result column and its DuckDB type.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Summary describes a streamed result.
type Summary struct {
	Columns   []Column
	RowCount  int
	Truncated bool
	Elapsed   time.Duration
}

// Result is a whole result, as Run returns it; it marshals to the JSON
// format of the API.
type Result struct {
	Columns   []Column `json:"columns"`
	Rows      [][]any  `json:"rows"`
	Truncated bool     `json:"truncated"`
	RowCount  int      `json:"row_count"`
	ElapsedMS int64    `json:"elapsed_ms"`
}

// New returns a Runner over db, which must be a DuckDB database opened with
// enable_external_access=false (warehouse.Open does so by default).
func New(db *sql.DB, opts Options) (*Runner, error) {
	if opts.MaxRows <= 0 {
		opts.MaxRows = 10000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 2
	}
	if opts.QueueTimeout <= 0 {
		opts.QueueTimeout = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ext string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('enable_external_access')::VARCHAR").Scan(&ext); err != nil {
		return nil, fmt.Errorf("query: reading enable_external_access: %w", err)
	}
	if ext != "false" {
		return nil, errors.New("query: the database allows external access (enable_external_access); open it with external access off")
	}
	// The LIMIT modifier DuckDB itself serialises, added to every query.
	p, err := serialize(ctx, db, fmt.Sprintf("SELECT 1 LIMIT %d", opts.MaxRows+1))
	if err != nil || p.Error || len(p.Statements) != 1 {
		return nil, fmt.Errorf("query: serialising the row limit: %v %s", err, p.ErrorMessage)
	}
	var tmpl struct {
		Node struct {
			Modifiers []any `json:"modifiers"`
		} `json:"node"`
	}
	if err := decode(p.Statements[0], &tmpl); err != nil || len(tmpl.Node.Modifiers) != 1 {
		return nil, fmt.Errorf("query: reading the row limit modifier: %v", err)
	}
	return &Runner{db: db, opts: opts, log: opts.Logger,
		sem: make(chan struct{}, opts.MaxConcurrent), limitMod: tmpl.Node.Modifiers[0]}, nil
}

// serialize asks DuckDB's parser for the JSON parse tree of q.
type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func serialize(ctx context.Context, db querier, q string) (parsed, error) {
	var js string
	var p parsed
	if err := db.QueryRowContext(ctx, "SELECT json_serialize_sql(?::VARCHAR)::VARCHAR", q).Scan(&js); err != nil {
		return p, err
	}
	err := json.Unmarshal([]byte(js), &p)
	return p, err
}

// Run runs req and returns the whole result (at most MaxRows rows).
func (r *Runner) Run(ctx context.Context, req Request) (*Result, error) {
	c := &collector{}
	sum, err := r.run(ctx, req, FormatJSON, c)
	if err != nil {
		return nil, err
	}
	rows := c.rows
	if rows == nil {
		rows = [][]any{}
	}
	return &Result{Columns: sum.Columns, Rows: rows, Truncated: sum.Truncated,
		RowCount: sum.RowCount, ElapsedMS: sum.Elapsed.Milliseconds()}, nil
}

// Stream runs req and writes its result to w in format f. Nothing is
// written to w unless the query ran: on an error of kind ErrRefused,
// ErrBadSQL, ErrTimeout or ErrBusy w is untouched, so an HTTP handler can
// still answer with an error status. An error wrapping ErrAborted means the
// result broke off after it began (e.g. the client went away).
//
// JSON carries truncated, row_count and elapsed_ms in the body; Arrow IPC
// carries "pulse.truncated" and "pulse.row_count" in its schema metadata
// and Parquet in its key-value metadata; for CSV use the Summary (e.g. an
// HTTP trailer).
func (r *Runner) Stream(ctx context.Context, req Request, f Format, w io.Writer) (*Summary, error) {
	var s sink
	switch f {
	case FormatJSON:
		s = newJSONSink(w)
	case FormatCSV:
		s = newCSVSink(w)
	case FormatParquet, FormatArrow:
		s = nil
	default:
		return nil, errorf(ErrNotAcceptable, "unknown format %q", f)
	}
	if s == nil {
		return r.run(ctx, req, f, &arrowOut{format: f, w: w})
	}
	return r.run(ctx, req, f, s)
}

func (r *Runner) acquire(ctx context.Context) error {
	select {
	case r.sem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(r.opts.QueueTimeout)
	defer t.Stop()
	select {
	case r.sem <- struct{}{}:
		return nil
	case <-t.C:
		return errorf(ErrBusy, "the query service is busy (%d queries running); try again shortly", r.opts.MaxConcurrent)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Runner) run(parent context.Context, req Request, f Format, out any) (*Summary, error) {
	if strings.TrimSpace(req.SQL) == "" {
		return nil, errorf(ErrBadSQL, "no SQL given")
	}
	if err := r.acquire(parent); err != nil {
		return nil, err
	}
	defer func() { <-r.sem }()
	start := time.Now()
	ctx, cancel := context.WithTimeout(parent, r.opts.Timeout)
	defer cancel()

	conn, err := r.db.Conn(ctx)
	if err != nil {
		return nil, r.classify(ctx, parent, err)
	}
	defer conn.Close()

	limited, err := r.check(ctx, conn, req.SQL)
	if err != nil {
		return nil, r.classify(ctx, parent, err)
	}
	sum := &Summary{}
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return errors.New("query: not a DuckDB connection")
		}
		// Bind the analyst's own text first so that errors point into it,
		// then the limited statement, which is what runs.
		if err := checkPrepared(c, req.SQL); err != nil {
			return err
		}
		if err := checkPrepared(c, limited); err != nil {
			return err
		}
		switch o := out.(type) {
		case sink:
			return r.streamRows(ctx, c, limited, req.Params, o, sum, start)
		case *arrowOut:
			return r.streamArrow(ctx, c, limited, req.Params, o, sum, start)
		}
		return errors.New("query: no output")
	})
	if err != nil {
		err = r.classify(ctx, parent, err)
		r.log.Info("query failed", "err", err, "elapsed", time.Since(start))
		return nil, err
	}
	sum.Elapsed = time.Since(start)
	r.log.Info("query", "rows", sum.RowCount, "truncated", sum.Truncated, "format", string(f), "elapsed", sum.Elapsed)
	return sum, nil
}

// check parses q with DuckDB, refuses what is not allowed and returns the
// statement with the row limit added.
func (r *Runner) check(ctx context.Context, conn *sql.Conn, q string) (string, error) {
	p, err := serialize(ctx, conn, q)
	if err != nil {
		return "", err
	}
	if p.Error {
		if p.ErrorType == "parser" {
			return "", errorf(ErrBadSQL, "%s", p.ErrorMessage)
		}
		// Not (only) SELECT statements: name what it is. Preparing binds
		// but never executes (and the database allows no file access);
		// DuckDB's binder message is not passed on.
		return "", conn.Raw(func(dc any) error {
			c, ok := dc.(*duckdb.Conn)
			if !ok {
				return errors.New("query: not a DuckDB connection")
			}
			err := checkPrepared(c, q)
			var qe *Error
			if errors.As(err, &qe) {
				return err
			}
			if err != nil {
				return errorf(ErrRefused, "only one read-only statement (SELECT) is allowed; this is another kind of statement")
			}
			return errorf(ErrRefused, "only one read-only statement (SELECT) is allowed; this statement is not a plain SELECT")
		})
	}
	if n := len(p.Statements); n != 1 {
		return "", errorf(ErrRefused, "only one read-only statement (SELECT) is allowed; got %d statements", n)
	}
	why, err := inspect(p.Statements[0])
	if err != nil {
		return "", err
	}
	if why != "" {
		return "", errorf(ErrRefused, "%s", why)
	}
	stmt, err := withLimit(p.Statements[0], r.limitMod)
	if err != nil {
		return "", err
	}
	tree, err := json.Marshal(map[string]any{"error": false, "statements": []json.RawMessage{stmt}})
	if err != nil {
		return "", err
	}
	var limited string
	if err := conn.QueryRowContext(ctx, "SELECT json_deserialize_sql(?::VARCHAR::JSON)", string(tree)).Scan(&limited); err != nil {
		return "", fmt.Errorf("query: adding the row limit: %w", err)
	}
	return limited, nil
}

// checkPrepared prepares q without executing anything and refuses it unless
// it is exactly one SELECT statement. Conn.Prepare (unlike PrepareContext,
// which runs every statement but the last) refuses several statements.
func checkPrepared(c *duckdb.Conn, q string) error {
	ds, err := c.Prepare(q)
	if err != nil {
		if strings.Contains(err.Error(), "multi-statement") {
			return errorf(ErrRefused, "only one read-only statement (SELECT) is allowed; got several statements")
		}
		return err
	}
	defer ds.Close()
	st, ok := ds.(*duckdb.Stmt)
	if !ok {
		return errors.New("query: not a DuckDB statement")
	}
	typ, err := st.StatementType()
	if err != nil {
		return err
	}
	if typ != duckdb.STATEMENT_TYPE_SELECT {
		return errorf(ErrRefused, "only one read-only statement (SELECT) is allowed; got %s", stmtTypeName(typ))
	}
	return nil
}

func stmtTypeName(t duckdb.StmtType) string {
	switch t {
	case duckdb.STATEMENT_TYPE_INSERT:
		return "INSERT"
	case duckdb.STATEMENT_TYPE_UPDATE:
		return "UPDATE"
	case duckdb.STATEMENT_TYPE_EXPLAIN:
		return "EXPLAIN"
	case duckdb.STATEMENT_TYPE_DELETE:
		return "DELETE"
	case duckdb.STATEMENT_TYPE_PREPARE:
		return "PREPARE"
	case duckdb.STATEMENT_TYPE_CREATE:
		return "CREATE"
	case duckdb.STATEMENT_TYPE_EXECUTE:
		return "EXECUTE"
	case duckdb.STATEMENT_TYPE_ALTER:
		return "ALTER"
	case duckdb.STATEMENT_TYPE_TRANSACTION:
		return "TRANSACTION"
	case duckdb.STATEMENT_TYPE_COPY:
		return "COPY"
	case duckdb.STATEMENT_TYPE_ANALYZE:
		return "ANALYZE"
	case duckdb.STATEMENT_TYPE_VARIABLE_SET:
		return "SET VARIABLE"
	case duckdb.STATEMENT_TYPE_CREATE_FUNC:
		return "CREATE FUNCTION"
	case duckdb.STATEMENT_TYPE_DROP:
		return "DROP"
	case duckdb.STATEMENT_TYPE_EXPORT:
		return "EXPORT"
	case duckdb.STATEMENT_TYPE_PRAGMA:
		return "PRAGMA"
	case duckdb.STATEMENT_TYPE_VACUUM:
		return "VACUUM"
	case duckdb.STATEMENT_TYPE_CALL:
		return "CALL"
	case duckdb.STATEMENT_TYPE_SET:
		return "SET"
	case duckdb.STATEMENT_TYPE_LOAD:
		return "LOAD/INSTALL"
	case duckdb.STATEMENT_TYPE_ATTACH:
		return "ATTACH"
	case duckdb.STATEMENT_TYPE_DETACH:
		return "DETACH"
	case duckdb.STATEMENT_TYPE_MULTI:
		return "several statements"
	}
	return fmt.Sprintf("statement type %d", t)
}

// classify maps err to one of the error kinds.
func (r *Runner) classify(ctx, parent context.Context, err error) error {
	var qe *Error
	if errors.As(err, &qe) {
		return err
	}
	if perr := parent.Err(); perr != nil {
		return perr // the caller went away or gave up; not the query's fault
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return errorf(ErrTimeout, "the query was stopped at the time limit of %s", r.opts.Timeout)
	}
	var de *duckdb.Error
	if errors.As(err, &de) {
		switch de.Type {
		case duckdb.ErrorTypeInterrupt:
			return errorf(ErrTimeout, "the query was interrupted")
		case duckdb.ErrorTypePermission:
			return errorf(ErrRefused, "not allowed: %s", de.Msg)
		}
		return errorf(ErrBadSQL, "%s", de.Msg)
	}
	return err
}

// streamRows runs q and feeds the rows to s.
func (r *Runner) streamRows(ctx context.Context, c *duckdb.Conn, q string, params []any, s sink, sum *Summary, start time.Time) error {
	ds, err := c.Prepare(q)
	if err != nil {
		return err
	}
	st := ds.(*duckdb.Stmt)
	args := make([]driver.NamedValue, len(params))
	for i, p := range params {
		args[i] = driver.NamedValue{Ordinal: i + 1, Value: p}
	}
	rows, err := st.QueryContext(ctx, args)
	if err != nil {
		ds.Close()
		return err
	}
	defer ds.Close()
	defer rows.Close()
	names := rows.Columns()
	cols := make([]Column, len(names))
	tn, _ := rows.(driver.RowsColumnTypeDatabaseTypeName)
	for i, n := range names {
		cols[i] = Column{Name: n}
		if tn != nil {
			cols[i].Type = tn.ColumnTypeDatabaseTypeName(i)
		}
	}
	sum.Columns = cols
	if err := s.begin(cols); err != nil {
		return abort(err)
	}
	dest := make([]driver.Value, len(names))
	for {
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return abort(err)
		}
		if sum.RowCount == r.opts.MaxRows {
			sum.Truncated = true
			break
		}
		sum.RowCount++
		if err := s.row(dest, cols); err != nil {
			return abort(err)
		}
	}
	sum.Elapsed = time.Since(start)
	if err := s.end(sum); err != nil {
		return abort(err)
	}
	return nil
}

func abort(err error) error {
	return &Error{Kind: ErrAborted, Msg: "result aborted: " + err.Error()}
}
