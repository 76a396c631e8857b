package testkit

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	sqlfiles "github.com/pulsekpi/pulse/sql"
	"github.com/pulsekpi/pulse/transform"
)

// Incremental runs must leave the same tables as a full rebuild at the same
// cut and clock. Snapshot keeps the tables as they are; SameAsSnapshot,
// after a full run, compares them row for row.

// snapSchema holds the snapshot, one table per model table.
const snapSchema = "snap"

func snapName(tb Table) string { return snapSchema + "." + quoteID(tb.Schema+"__"+tb.Name) }

// Snapshot copies every table of staging and marts into the schema snap
// and returns their list.
func Snapshot(ctx context.Context, t testing.TB, db *sql.DB) []Table {
	t.Helper()
	tables := ModelTables(ctx, t, db)
	if len(tables) == 0 {
		t.Fatal("no tables in staging and marts")
	}
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+snapSchema); err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM %s", snapName(tb), tb.Qualified())); err != nil {
			t.Fatal(err)
		}
	}
	return tables
}

// SameAsSnapshot compares each of tables now with its snapshot, as
// multisets, floats to 10 significant digits, and reports every
// difference with t.Errorf. Tables of the models in skip (see
// RunStateModels) are left out. It returns the tables and rows compared.
func SameAsSnapshot(ctx context.Context, t testing.TB, db *sql.DB, tables []Table, skip map[string]bool) (compared int, rows int64) {
	t.Helper()
	for _, tb := range tables {
		if skip[tb.String()] {
			t.Logf("%s: not compared (it describes the run itself)", tb)
			continue
		}
		rows += compareTables(ctx, t, db, tb, snapName(tb))
		compared++
	}
	return compared, rows
}

// Table is a table of the warehouse.
type Table struct{ Schema, Name string }

// Qualified is the table's quoted, schema-qualified name.
func (tb Table) Qualified() string { return quoteID(tb.Schema) + "." + quoteID(tb.Name) }
func (tb Table) String() string    { return tb.Schema + "." + tb.Name }

func quoteID(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ModelTables lists the tables the models build: those of staging and marts.
func ModelTables(ctx context.Context, t testing.TB, db *sql.DB) []Table {
	t.Helper()
	rows, err := db.QueryContext(ctx, `SELECT schema_name, table_name FROM duckdb_tables()
		WHERE schema_name IN ('staging', 'marts') AND NOT temporary ORDER BY schema_name, table_name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var tb Table
		if err := rows.Scan(&tb.Schema, &tb.Name); err != nil {
			t.Fatal(err)
		}
		out = append(out, tb)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// RunStateModels are the models that describe what a run does rather than
// the data (the periods it recomputes, the spans new events touch): they
// read pulse_full(), pulse_prev_cut(), pulse_prev_now() or pulse_new() and differ
// between an incremental and a full run by design.
func RunStateModels(tr *transform.Transformer) (map[string]bool, error) {
	out := map[string]bool{}
	for _, m := range tr.Models() {
		b, err := fs.ReadFile(sqlfiles.FS, strings.TrimPrefix(m.File, "sql/"))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", m.File, err)
		}
		s := string(b)
		if strings.Contains(s, "pulse_full()") || strings.Contains(s, "pulse_prev_cut()") || strings.Contains(s, "pulse_prev_now()") ||
			strings.Contains(s, "pulse_new(") {
			out[m.Name] = true
		}
	}
	return out, nil
}

// compareTables reports rows of the live table missing from the snapshot
// and the reverse (as multisets), with DOUBLE and REAL values compared to
// 10 significant digits (and doubles in lists and structs to 8 decimals).
func compareTables(ctx context.Context, t testing.TB, db *sql.DB, tb Table, snap string) int64 {
	t.Helper()
	rows, err := db.QueryContext(ctx, `SELECT column_name, data_type FROM duckdb_columns()
		WHERE schema_name = ? AND table_name = ? ORDER BY column_index`, tb.Schema, tb.Name)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		c := quoteID(name)
		cols = append(cols, comparable(c, typ)+" AS "+c)
	}
	rows.Close()
	list := strings.Join(cols, ", ")
	full, incr := tb.Qualified(), snap
	var nFull, nIncr int64
	if err := db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM "+full+"), (SELECT count(*) FROM "+incr+")").Scan(&nFull, &nIncr); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []struct{ a, b, what string }{
		{full, incr, "in the full rebuild, not after the incremental runs"},
		{incr, full, "after the incremental runs, not in the full rebuild"},
	} {
		diff := fmt.Sprintf("SELECT %s FROM %s EXCEPT ALL SELECT %s FROM %s", list, dir.a, list, dir.b)
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM ("+diff+")").Scan(&n); err != nil {
			t.Fatalf("%s: %v", tb, err)
		}
		if n == 0 {
			continue
		}
		t.Errorf("%s: %d of its rows (full %d, incremental %d) are %s; for example:\n%s",
			tb, n, nFull, nIncr, dir.what, sampleRows(ctx, db, diff+" LIMIT 5"))
	}
	return nFull
}

// comparable is an expression of column c (of DuckDB type typ) that
// compares equal when the values are equal up to floating-point noise (sums
// taken in another order differ in their last bits): doubles are rounded,
// also inside lists and structs.
func comparable(c, typ string) string {
	isFloat := func(t string) bool { return t == "DOUBLE" || t == "FLOAT" || t == "REAL" }
	switch {
	case isFloat(typ):
		return fmt.Sprintf("printf('%%.10g', %s)", c)
	case !strings.Contains(typ, "DOUBLE") && !strings.Contains(typ, "FLOAT") && !strings.Contains(typ, "REAL"):
		return c
	case strings.HasSuffix(typ, "[]"):
		inner := strings.TrimSuffix(typ, "[]")
		if e, ok := roundValue("x", inner, isFloat); ok {
			return fmt.Sprintf("list_transform(%s, x -> %s)", c, e)
		}
	default:
		if e, ok := roundValue(c, typ, isFloat); ok {
			return e
		}
	}
	// anything else: as text, every fraction cut to 8 decimals
	return fmt.Sprintf(`regexp_replace(CAST(%s AS VARCHAR), '(\.[0-9]{8})[0-9]+', '\1', 'g')`, c)
}

// roundValue rounds v of type typ when it is a float or a struct of
// scalars.
func roundValue(v, typ string, isFloat func(string) bool) (string, bool) {
	if isFloat(typ) {
		return fmt.Sprintf("round(%s, 8)", v), true
	}
	if !strings.HasPrefix(typ, "STRUCT(") || !strings.HasSuffix(typ, ")") {
		return "", false
	}
	body := typ[len("STRUCT(") : len(typ)-1]
	if strings.ContainsAny(body, "([") {
		return "", false
	}
	var fields []string
	for _, f := range splitFields(body) {
		name, ftyp, ok := splitField(f)
		if !ok {
			return "", false
		}
		ref := v + "." + quoteID(name)
		if isFloat(ftyp) {
			ref = fmt.Sprintf("round(%s, 8)", ref)
		}
		fields = append(fields, quoteID(name)+" := "+ref)
	}
	return "struct_pack(" + strings.Join(fields, ", ") + ")", true
}

// splitFields splits a struct type's body at the commas outside quotes.
func splitFields(body string) []string {
	var out []string
	quoted, start := false, 0
	for i, r := range body {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			out = append(out, strings.TrimSpace(body[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(body[start:]))
}

// splitField splits `name TYPE` or `"quoted name" TYPE`.
func splitField(f string) (name, typ string, ok bool) {
	if strings.HasPrefix(f, `"`) {
		end := strings.Index(f[1:], `"`)
		for end >= 0 && strings.HasPrefix(f[1+end+1:], `"`) { // "" inside a name
			next := strings.Index(f[1+end+2:], `"`)
			if next < 0 {
				return "", "", false
			}
			end += 2 + next
		}
		if end < 0 {
			return "", "", false
		}
		return strings.ReplaceAll(f[1:1+end], `""`, `"`), strings.TrimSpace(f[1+end+1:]), true
	}
	name, typ, ok = strings.Cut(f, " ")
	return name, strings.TrimSpace(typ), ok
}

func sampleRows(ctx context.Context, db *sql.DB, q string) string {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	names, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err.Error()
		}
		b.WriteString("  ")
		for i, n := range names {
			if i > 0 {
				b.WriteString(", ")
			}
			v := vals[i]
			if tm, ok := v.(time.Time); ok {
				v = tm.Format(time.RFC3339)
			}
			fmt.Fprintf(&b, "%s=%v", n, v)
		}
		b.WriteString("\n")
	}
	return b.String()
}
