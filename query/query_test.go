package query_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/pulsekpi/pulse/query"
	"github.com/pulsekpi/pulse/warehouse"
)

const secret = "PULSE-SECRET-7f3a9c"

type env struct {
	db     *sql.DB
	dir    string
	secret string // path of a file holding secret
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	db := w.DB()
	for _, s := range []string{
		`CREATE SCHEMA IF NOT EXISTS marts`,
		`CREATE TABLE marts.q_kpis (grain VARCHAR, period_start TIMESTAMPTZ, employee_id VARCHAR,
			kpi VARCHAR, value DOUBLE, amount DECIMAL(18,2), big HUGEINT, day DATE, tags VARCHAR[],
			info STRUCT(a INTEGER, b VARCHAR))`,
		`INSERT INTO marts.q_kpis VALUES
			('week', '2026-11-02 00:00:00+00', 'e1', 'calls', 12.5, 1234.56, 170141183460469231731687303715884105727, '2026-11-02', ['a','b'], {'a': 1, 'b': 'x'}),
			('week', '2026-11-09 00:00:00+00', 'e1', 'calls', 7, -0.05, -1, '2026-11-09', [], {'a': 2, 'b': NULL}),
			('week', '2026-11-09 00:00:00+00', 'e2', 'calls', NULL, NULL, NULL, NULL, NULL, NULL)`,
		`CREATE SEQUENCE marts.q_seq`,
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	path := filepath.Join(dir, "secret.csv")
	if err := os.WriteFile(path, []byte("name,value\n"+secret+",1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &env{db: db, dir: dir, secret: path}
}

func newRunner(t *testing.T, db *sql.DB, o query.Options) *query.Runner {
	t.Helper()
	r, err := query.New(db, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// state is what a refused statement must not change.
type state struct {
	rows, tables, dbs, seq    int
	threads, memory, external string
	files                     []string
}

func snapshot(t *testing.T, e *env) state {
	t.Helper()
	var s state
	q := func(dst any, sql string) {
		if err := e.db.QueryRow(sql).Scan(dst); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	q(&s.rows, `SELECT count(*) FROM marts.q_kpis`)
	q(&s.tables, `SELECT count(*) FROM duckdb_tables()`)
	q(&s.dbs, `SELECT count(*) FROM duckdb_databases()`)
	q(&s.seq, `SELECT start_value + 0 FROM duckdb_sequences() WHERE sequence_name = 'q_seq'`)
	q(&s.threads, `SELECT current_setting('threads')::VARCHAR`)
	q(&s.memory, `SELECT current_setting('memory_limit')::VARCHAR`)
	q(&s.external, `SELECT current_setting('enable_external_access')::VARCHAR`)
	var last sql.NullInt64
	q(&last, `SELECT last_value FROM duckdb_sequences() WHERE sequence_name = 'q_seq'`)
	s.seq = int(last.Int64)
	entries, _ := os.ReadDir(e.dir)
	for _, en := range entries {
		s.files = append(s.files, en.Name())
	}
	return s
}

func TestRefusals(t *testing.T) {
	e := setup(t)
	r := newRunner(t, e.db, query.Options{Timeout: 10 * time.Second})
	out := filepath.Join(e.dir, "out")
	cases := []struct {
		sql    string
		kind   error
		reason string
	}{
		// File reads: table functions are allow-listed.
		{`SELECT * FROM read_text('` + e.secret + `')`, query.ErrRefused, "table function read_text is not allowed"},
		{`SELECT * FROM read_csv('` + e.secret + `')`, query.ErrRefused, "read_csv"},
		{`SELECT * FROM read_csv_auto('` + e.secret + `')`, query.ErrRefused, "read_csv_auto"},
		{`SELECT * FROM read_blob('` + e.secret + `')`, query.ErrRefused, "read_blob"},
		{`SELECT * FROM read_json('` + e.secret + `')`, query.ErrRefused, "read_json"},
		{`SELECT * FROM read_parquet('` + e.secret + `')`, query.ErrRefused, "read_parquet"},
		{`SELECT * FROM sniff_csv('` + e.secret + `')`, query.ErrRefused, "sniff_csv"},
		{`SELECT * FROM glob('/*')`, query.ErrRefused, "glob"},
		{`SELECT * FROM main.glob('` + e.dir + `/*')`, query.ErrRefused, "glob"},
		{`SELECT x.* FROM marts.q_kpis, LATERAL (SELECT * FROM read_text('` + e.secret + `')) x`, query.ErrRefused, "read_text"},
		{`WITH s AS (SELECT content FROM read_text('` + e.secret + `')) SELECT * FROM s`, query.ErrRefused, "read_text"},
		{`SELECT (SELECT content FROM read_text('` + e.secret + `'))`, query.ErrRefused, "read_text"},
		// A replacement scan is a table name to the parser; DuckDB refuses
		// it because external access is off.
		{`SELECT * FROM '` + e.secret + `'`, query.ErrRefused, "disabled by configuration"},
		// Functions that run SQL from a string, or have effects.
		{`SELECT * FROM query('SELECT 1')`, query.ErrRefused, "query is not allowed"},
		{`SELECT * FROM query_table('marts.q_kpis')`, query.ErrRefused, "query_table"},
		{`SELECT * FROM checkpoint()`, query.ErrRefused, "checkpoint"},
		{`SELECT * FROM enable_logging()`, query.ErrRefused, "enable_logging"},
		{`SELECT nextval('marts.q_seq')`, query.ErrRefused, "nextval"},
		{`SELECT setseed(0.5)`, query.ErrRefused, "setseed"},
		// Settings, secrets, paths.
		{`SELECT * FROM duckdb_settings()`, query.ErrRefused, "duckdb_settings"},
		{`SELECT current_setting('memory_limit')`, query.ErrRefused, "current_setting"},
		{`SELECT * FROM duckdb_secrets()`, query.ErrRefused, "duckdb_secrets"},
		{`SELECT * FROM which_secret('s3://x/y', 's3')`, query.ErrRefused, "which_secret"},
		{`SELECT * FROM duckdb_databases()`, query.ErrRefused, "duckdb_databases"},
		{`SELECT * FROM duckdb_databases`, query.ErrRefused, "duckdb_databases"},
		{`SELECT * FROM pragma_database_list`, query.ErrRefused, "pragma_database_list"},
		{`SELECT * FROM pg_catalog.pg_settings`, query.ErrRefused, "pg_settings"},
		{`SELECT * FROM duckdb_extensions()`, query.ErrRefused, "duckdb_extensions"},
		{`SELECT * FROM duckdb_temporary_files()`, query.ErrRefused, "duckdb_temporary_files"},
		{`SELECT * FROM pragma_show('marts.q_kpis')`, query.ErrRefused, "pragma_show"},
		// Statement types.
		{`COPY marts.q_kpis TO '` + out + `.csv'`, query.ErrRefused, "only one read-only statement (SELECT) is allowed"},
		{`COPY (SELECT * FROM marts.q_kpis) TO '` + out + `.parquet' (FORMAT parquet)`, query.ErrRefused, "only one read-only statement (SELECT) is allowed"},
		{`COPY marts.q_kpis FROM '` + e.secret + `'`, query.ErrRefused, "only one read-only statement (SELECT) is allowed"},
		{`ATTACH '` + out + `.duckdb' AS other`, query.ErrRefused, "got ATTACH"},
		{`DETACH pulse`, query.ErrRefused, "got DETACH"},
		{`INSTALL httpfs`, query.ErrRefused, "got LOAD/INSTALL"},
		{`LOAD httpfs`, query.ErrRefused, "got LOAD/INSTALL"},
		{`SET threads = 1`, query.ErrRefused, "got SET"},
		{`SET enable_external_access = true`, query.ErrRefused, "got SET"},
		{`RESET memory_limit`, query.ErrRefused, "got SET"},
		{`SET VARIABLE x = 1`, query.ErrRefused, "got SET"},
		{`PRAGMA threads = 1`, query.ErrRefused, "got"},
		{`PRAGMA database_list`, query.ErrRefused, "not a plain SELECT"},
		{`CALL checkpoint()`, query.ErrRefused, "got"},
		{`CHECKPOINT`, query.ErrRefused, "got"},
		{`CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v')`, query.ErrRefused, "only one read-only statement (SELECT) is allowed"},
		{`EXPORT DATABASE '` + out + `'`, query.ErrRefused, "only one read-only statement (SELECT) is allowed"},
		{`DROP TABLE marts.q_kpis`, query.ErrRefused, "got DROP"},
		{`DELETE FROM marts.q_kpis`, query.ErrRefused, "got DELETE"},
		{`INSERT INTO marts.q_kpis (grain) VALUES ('x')`, query.ErrRefused, "got INSERT"},
		{`INSERT INTO marts.q_kpis (grain) SELECT content FROM read_text('` + e.secret + `')`, query.ErrRefused, "only one read-only statement (SELECT) is allowed"},
		{`UPDATE marts.q_kpis SET value = 0`, query.ErrRefused, "got UPDATE"},
		{`CREATE TABLE marts.x AS SELECT 1`, query.ErrRefused, "got CREATE"},
		{`CREATE TEMP TABLE x AS SELECT 1`, query.ErrRefused, "got CREATE"},
		{`CREATE MACRO m() AS 1`, query.ErrRefused, "got CREATE"},
		{`ALTER TABLE marts.q_kpis ADD COLUMN z INT`, query.ErrRefused, "got ALTER"},
		{`TRUNCATE marts.q_kpis`, query.ErrRefused, "got DELETE"},
		{`BEGIN TRANSACTION`, query.ErrRefused, "got TRANSACTION"},
		{`VACUUM`, query.ErrRefused, "got"},
		{`USE memory`, query.ErrRefused, "got SET"},
		{`EXPLAIN SELECT 1`, query.ErrRefused, "got EXPLAIN"},
		{`EXPLAIN ANALYZE DELETE FROM marts.q_kpis`, query.ErrRefused, "got EXPLAIN"},
		{`PREPARE p AS DELETE FROM marts.q_kpis`, query.ErrRefused, "got PREPARE"},
		// DML in a CTE: DuckDB's parser refuses it.
		{`WITH x AS (DELETE FROM marts.q_kpis RETURNING *) SELECT * FROM x`, query.ErrBadSQL, "CTE"},
		// Several statements: nothing runs.
		{`SELECT 1; SELECT 2`, query.ErrRefused, "got 2 statements"},
		{`SELECT 1; DROP TABLE marts.q_kpis`, query.ErrRefused, "several statements"},
		{`DROP TABLE marts.q_kpis; SELECT 1`, query.ErrRefused, "several statements"},
		{`DELETE FROM marts.q_kpis; SELECT 1`, query.ErrRefused, "several statements"},
		{`SELECT 1; SET threads = 1`, query.ErrRefused, "several statements"},
		// Not SQL.
		{`SELEC 1`, query.ErrBadSQL, "syntax error"},
		{`SELECT nope FROM marts.q_kpis`, query.ErrBadSQL, "nope"},
		{``, query.ErrBadSQL, "no SQL"},
	}
	before := snapshot(t, e)
	for _, c := range cases {
		t.Run(c.sql, func(t *testing.T) {
			for _, f := range []query.Format{query.FormatJSON, query.FormatArrow} {
				var buf bytes.Buffer
				_, err := r.Stream(context.Background(), query.Request{SQL: c.sql}, f, &buf)
				if err == nil {
					t.Fatalf("%s: not refused; got %s", f, buf.String())
				}
				if !errors.Is(err, c.kind) {
					t.Fatalf("%s: error %v (%T), want kind %v", f, err, errors.Unwrap(err), c.kind)
				}
				if !strings.Contains(err.Error(), c.reason) {
					t.Fatalf("%s: error %q does not say %q", f, err, c.reason)
				}
				if buf.Len() != 0 {
					t.Fatalf("%s: wrote %q before refusing", f, buf.String())
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("%s: error reveals the secret file: %v", f, err)
				}
			}
			if after := snapshot(t, e); !equalState(before, after) {
				t.Fatalf("statement had an effect:\n before %+v\n after  %+v", before, after)
			}
		})
	}
}

func equalState(a, b state) bool {
	if a.rows != b.rows || a.tables != b.tables || a.dbs != b.dbs || a.seq != b.seq ||
		a.threads != b.threads || a.memory != b.memory || a.external != b.external {
		return false
	}
	return strings.Join(a.files, ",") == strings.Join(b.files, ",")
}

func TestNewNeedsExternalAccessOff(t *testing.T) {
	w, err := warehouse.Open(context.Background(), warehouse.Options{Dir: t.TempDir(), ExternalAccess: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := query.New(w.DB(), query.Options{}); err == nil {
		t.Fatal("New accepted a database with external access on")
	}
}

const kpiSQL = `SELECT employee_id, period_start, value, amount, big, day, tags, info
	FROM marts.q_kpis WHERE kpi = $1 ORDER BY employee_id, period_start`

func TestJSON(t *testing.T) {
	e := setup(t)
	r := newRunner(t, e.db, query.Options{})
	var buf bytes.Buffer
	sum, err := r.Stream(context.Background(), query.Request{SQL: kpiSQL, Params: []any{"calls"}}, query.FormatJSON, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowCount != 3 || sum.Truncated {
		t.Fatalf("summary %+v", sum)
	}
	var got struct {
		Columns []struct{ Name, Type string }
		Rows    []json.RawMessage
		Trunc   bool   `json:"truncated"`
		Count   int    `json:"row_count"`
		Elapsed *int64 `json:"elapsed_ms"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, buf.String())
	}
	var names, types []string
	for _, c := range got.Columns {
		names = append(names, c.Name)
		types = append(types, c.Type)
	}
	if strings.Join(names, ",") != "employee_id,period_start,value,amount,big,day,tags,info" {
		t.Fatalf("columns %v", names)
	}
	if types[1] != "TIMESTAMPTZ" || types[3] != "DECIMAL(18,2)" || types[4] != "HUGEINT" {
		t.Fatalf("types %v", types)
	}
	want := []string{
		`["e1","2026-11-02T00:00:00Z",12.5,1234.56,170141183460469231731687303715884105727,"2026-11-02",["a","b"],{"a":1,"b":"x"}]`,
		`["e1","2026-11-09T00:00:00Z",7,-0.05,-1,"2026-11-09",[],{"a":2,"b":null}]`,
		`["e2","2026-11-09T00:00:00Z",null,null,null,null,null,null]`,
	}
	if len(got.Rows) != len(want) {
		t.Fatalf("rows %s", buf.String())
	}
	for i, w := range want {
		if string(got.Rows[i]) != w {
			t.Errorf("row %d\n got  %s\n want %s", i, got.Rows[i], w)
		}
	}
	if got.Trunc || got.Count != 3 || got.Elapsed == nil {
		t.Fatalf("trailer: %s", buf.String())
	}

	// Run gives the same as a value.
	res, err := r.Run(context.Background(), query.Request{SQL: kpiSQL, Params: []any{"calls"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res.Rows[0])
	if string(b) != want[0] || res.RowCount != 3 {
		t.Fatalf("Run: %s %+v", b, res)
	}
	// Special floats and intervals.
	res, err = r.Run(context.Background(), query.Request{SQL: `SELECT 'nan'::DOUBLE AS n, 'inf'::DOUBLE AS i, INTERVAL 3 DAY AS d, TIME '10:11:12' AS t`})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(res.Rows[0])
	if string(b) != `["NaN","Infinity",{"days":3,"micros":0,"months":0},"10:11:12"]` {
		t.Fatalf("special values: %s", b)
	}
}

func TestCSV(t *testing.T) {
	e := setup(t)
	r := newRunner(t, e.db, query.Options{})
	var buf bytes.Buffer
	if _, err := r.Stream(context.Background(), query.Request{SQL: kpiSQL, Params: []any{"calls"}}, query.FormatCSV, &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"employee_id", "period_start", "value", "amount", "big", "day", "tags", "info"},
		{"e1", "2026-11-02T00:00:00Z", "12.5", "1234.56", "170141183460469231731687303715884105727", "2026-11-02", `["a","b"]`, `{"a":1,"b":"x"}`},
		{"e1", "2026-11-09T00:00:00Z", "7", "-0.05", "-1", "2026-11-09", `[]`, `{"a":2,"b":null}`},
		{"e2", "2026-11-09T00:00:00Z", "", "", "", "", "", ""},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %q", recs)
	}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("line %d\n got  %q\n want %q", i, recs[i], want[i])
		}
	}
}

func TestArrow(t *testing.T) {
	e := setup(t)
	r := newRunner(t, e.db, query.Options{})
	var buf bytes.Buffer
	if _, err := r.Stream(context.Background(), query.Request{SQL: kpiSQL, Params: []any{"calls"}}, query.FormatArrow, &buf); err != nil {
		t.Fatal(err)
	}
	rd, err := ipc.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if v, _ := rd.Schema().Metadata().GetValue("pulse.truncated"); v != "false" {
		t.Fatalf("metadata %v", rd.Schema().Metadata())
	}
	checkRecords(t, rd.Schema(), collect(t, rd))
}

// collect concatenates a reader's record batches into one table's columns.
func collect(t *testing.T, rd array.RecordReader) []arrow.RecordBatch {
	var recs []arrow.RecordBatch
	for rd.Next() {
		rec := rd.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

func checkRecords(t *testing.T, schema *arrow.Schema, recs []arrow.RecordBatch) {
	t.Helper()
	var emp []string
	var vals []string
	var amounts []string
	n := 0
	for _, rec := range recs {
		n += int(rec.NumRows())
		for i := 0; i < int(rec.NumRows()); i++ {
			emp = append(emp, rec.Column(0).ValueStr(i))
			vals = append(vals, rec.Column(2).ValueStr(i))
			amounts = append(amounts, rec.Column(3).ValueStr(i))
		}
		rec.Release()
	}
	if n != 3 {
		t.Fatalf("%d rows", n)
	}
	if got := strings.Join(emp, ","); got != "e1,e1,e2" {
		t.Fatalf("employee_id %s", got)
	}
	if got := strings.Join(vals, ","); got != "12.5,7,(null)" {
		t.Fatalf("value %s", got)
	}
	if got := strings.Join(amounts, ","); got != "1234.56,-0.05,(null)" {
		t.Fatalf("amount %s", got)
	}
	if f := schema.Field(1); f.Type.ID() != arrow.TIMESTAMP {
		t.Fatalf("period_start is %s", f.Type)
	}
	if f := schema.Field(6); f.Type.ID() != arrow.LIST {
		t.Fatalf("tags is %s", f.Type)
	}
}

func TestRowLimit(t *testing.T) {
	e := setup(t)
	r := newRunner(t, e.db, query.Options{MaxRows: 5})
	for _, c := range []struct {
		sql   string
		n     int
		trunc bool
	}{
		{`SELECT * FROM range(1000000000000)`, 5, true},
		{`SELECT * FROM range(100) ORDER BY range DESC`, 5, true},
		{`SELECT * FROM range(6)`, 5, true},
		{`SELECT * FROM range(5)`, 5, false},
		{`SELECT * FROM range(100) LIMIT 3`, 3, false},
		{`SELECT * FROM range(100) LIMIT 50 OFFSET 10`, 5, true},
		{`SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3`, 3, false},
		{`WITH a AS (SELECT * FROM range(10)) SELECT * FROM a UNION ALL SELECT * FROM a`, 5, true},
		{`FROM range(10)`, 5, true},
		{`DESCRIBE marts.q_kpis`, 5, true},
	} {
		start := time.Now()
		res, err := r.Run(context.Background(), query.Request{SQL: c.sql})
		if err != nil {
			t.Fatal(err)
		}
		if res.RowCount != c.n || len(res.Rows) != c.n || res.Truncated != c.trunc {
			t.Fatalf("%s: %d rows, truncated %v", c.sql, res.RowCount, res.Truncated)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%s took %s", c.sql, time.Since(start))
		}
		for _, f := range []query.Format{query.FormatArrow, query.FormatJSON} {
			var buf bytes.Buffer
			sum, err := r.Stream(context.Background(), query.Request{SQL: c.sql}, f, &buf)
			if err != nil || sum.RowCount != c.n || sum.Truncated != c.trunc {
				t.Fatalf("%s %s: %+v %v", c.sql, f, sum, err)
			}
		}
	}
	res, _ := r.Run(context.Background(), query.Request{SQL: `SELECT * FROM range(100) ORDER BY range DESC`})
	if b, _ := json.Marshal(res.Rows); string(b) != `[[99],[98],[97],[96],[95]]` {
		t.Fatalf("order lost: %s", b)
	}
}

func TestTimeout(t *testing.T) {
	e := setup(t)
	limit := time.Second
	r := newRunner(t, e.db, query.Options{Timeout: limit})
	start := time.Now()
	_, err := r.Run(context.Background(), query.Request{SQL: `SELECT count(*) FROM range(10000000000) a, range(10) b`})
	took := time.Since(start)
	if !errors.Is(err, query.ErrTimeout) {
		t.Fatalf("got %v, want a timeout", err)
	}
	if !strings.Contains(err.Error(), "time limit") {
		t.Fatalf("unclear error %q", err)
	}
	if took > limit+3*time.Second {
		t.Fatalf("stopped after %s, limit %s", took, limit)
	}
	t.Logf("stopped after %s", took)
	for i := 0; i < 4; i++ { // every pooled connection answers
		start = time.Now()
		res, err := r.Run(context.Background(), query.Request{SQL: `SELECT 42 AS answer`})
		if err != nil || len(res.Rows) != 1 {
			t.Fatalf("after timeout: %v", err)
		}
		if time.Since(start) > time.Second {
			t.Fatalf("slow after timeout: %s", time.Since(start))
		}
	}
	// Arrow path is interrupted too.
	var buf bytes.Buffer
	_, err = r.Stream(context.Background(), query.Request{SQL: `SELECT count(*) FROM range(10000000000) a, range(10) b`}, query.FormatArrow, &buf)
	if !errors.Is(err, query.ErrTimeout) || buf.Len() != 0 {
		t.Fatalf("arrow: %v, %d bytes", err, buf.Len())
	}
}

func TestBusy(t *testing.T) {
	e := setup(t)
	r := newRunner(t, e.db, query.Options{MaxConcurrent: 2, Timeout: 3 * time.Second, QueueTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Run(ctx, query.Request{SQL: `SELECT count(*) FROM range(10000000000) a, range(10) b`})
		}()
	}
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	_, err := r.Run(context.Background(), query.Request{SQL: `SELECT 1`})
	if !errors.Is(err, query.ErrBusy) || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("third query: %v", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("refused after %s, queue timeout 200ms", d)
	}
	cancel() // cancelling the callers interrupts their queries
	wg.Wait()
	if _, err := r.Run(context.Background(), query.Request{SQL: `SELECT 1`}); err != nil {
		t.Fatalf("after the slots freed: %v", err)
	}
	// A query waits in the queue for a slot freed within QueueTimeout.
	r2 := newRunner(t, e.db, query.Options{MaxConcurrent: 1, QueueTimeout: 5 * time.Second, Timeout: 500 * time.Millisecond})
	go r2.Run(context.Background(), query.Request{SQL: `SELECT count(*) FROM range(10000000000) a, range(10) b`})
	time.Sleep(100 * time.Millisecond)
	if _, err := r2.Run(context.Background(), query.Request{SQL: `SELECT 1`}); err != nil {
		t.Fatalf("queued query: %v", err)
	}
}

func TestFormatFor(t *testing.T) {
	for _, c := range []struct {
		param, accept string
		want          query.Format
		bad           bool
	}{
		{"", "", query.FormatJSON, false},
		{"csv", "application/json", query.FormatCSV, false},
		{"ARROW", "", query.FormatArrow, false},
		{"parquet", "", query.FormatParquet, false},
		{"", "text/csv", query.FormatCSV, false},
		{"", "application/vnd.apache.arrow.stream", query.FormatArrow, false},
		{"", "application/vnd.apache.parquet", query.FormatParquet, false},
		{"", "text/html, */*;q=0.1", query.FormatJSON, false},
		{"", "application/json;q=0.5, text/csv", query.FormatCSV, false},
		{"", "image/png", "", true},
		{"xml", "", "", true},
	} {
		got, err := query.FormatFor(c.param, c.accept)
		if c.bad {
			if !errors.Is(err, query.ErrNotAcceptable) {
				t.Errorf("%q %q: %v %v", c.param, c.accept, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q %q: %v %v, want %v", c.param, c.accept, got, err, c.want)
		}
	}
}
