package transform_test

// Incremental runs must compute exactly what a full rebuild computes. A
// generated company's history is loaded in random batches, with late events
// (moved to later batches) and duplicates, and a clock that advances from
// batch to batch so that running periods end; after each batch an
// incremental run. Then every table of staging and marts is snapshotted, a
// full rebuild runs with the same clock, and the two are compared table by
// table, both ways.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/generate"
	"github.com/pulsekpi/pulse/ingest"
	sqlfiles "github.com/pulsekpi/pulse/sql"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

type collectSink struct{ msgs []generate.Message }

func (s *collectSink) Send(_ context.Context, msgs []generate.Message) error {
	s.msgs = append(s.msgs, msgs...)
	return nil
}

// genEvent is a generated message with what the test needs to know of it.
type genEvent struct {
	msg      generate.Message
	id       string
	occurred time.Time
}

func TestIncrementalEqualsFull(t *testing.T) {
	cases := []struct {
		seed int64
		zone string
		now  time.Time // the generator's present: history is the 20 days before it
	}{
		// month and quarter boundary
		{1, "UTC", time.Date(2026, 4, 5, 10, 0, 0, 0, time.UTC)},
		// month boundary and the end of daylight saving time (Nov 1)
		{2, "America/New_York", time.Date(2026, 11, 3, 15, 0, 0, 0, time.UTC)},
		// year boundary (ISO week 53 of 2026 holds Jan 1-3, 2027)
		{3, "Asia/Shanghai", time.Date(2027, 1, 4, 4, 0, 0, 0, time.UTC)},
	}
	// PULSE_INCREMENTAL_SEEDS=4,5,6 runs other seeds over the same zones
	// and dates (the cases in turn), for a longer hunt.
	if env := os.Getenv("PULSE_INCREMENTAL_SEEDS"); env != "" {
		base := cases
		cases = cases[:0:0]
		for i, f := range strings.Split(env, ",") {
			seed, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatalf("PULSE_INCREMENTAL_SEEDS: %v", err)
			}
			c := base[i%len(base)]
			c.seed = seed
			cases = append(cases, c)
		}
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("seed%d_%s", c.seed, strings.ReplaceAll(c.zone, "/", "_")), func(t *testing.T) {
			t.Parallel()
			incrementalVsFull(t, c.seed, c.zone, c.now)
		})
	}
}

func incrementalVsFull(t *testing.T, seed int64, zone string, genNow time.Time) {
	ctx := context.Background()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d, time zone %s, history of 20 days before %s", seed, zone, genNow.Format(time.RFC3339))

	// ---- the company's history
	gen := generate.New(generate.Options{Seed: seed, Now: genNow, Days: 20, Employees: 12, Location: loc})
	var sink collectSink
	if _, err := gen.History(ctx, &sink); err != nil {
		t.Fatal(err)
	}
	events := make([]genEvent, 0, len(sink.msgs))
	for _, m := range sink.msgs {
		var env struct {
			EventID    string `json:"event_id"`
			OccurredAt string `json:"occurred_at"`
		}
		if err := json.Unmarshal(m.Value, &env); err != nil {
			t.Fatalf("generated message %q: %v", m.Value, err)
		}
		occ, err := time.Parse(time.RFC3339Nano, env.OccurredAt)
		if err != nil {
			t.Fatalf("generated message %q: %v", m.Value, err)
		}
		events = append(events, genEvent{msg: m, id: env.EventID, occurred: occ})
	}
	if len(events) < 1000 {
		t.Fatalf("the generator made only %d events", len(events))
	}

	// ---- random batches: contiguous slices of the history, then 5% of the
	// events moved to a later batch (late events) and 1% repeated in the
	// same or a later batch (duplicates)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	const nBatches = 5
	cuts := []int{0}
	for len(cuts) < nBatches {
		c := 1 + rng.IntN(len(events)-1)
		if !slices.Contains(cuts, c) {
			cuts = append(cuts, c)
		}
	}
	slices.Sort(cuts)
	cuts = append(cuts, len(events))
	batches := make([][]genEvent, nBatches)
	late, dups := 0, 0
	for b := 0; b < nBatches; b++ {
		for _, e := range events[cuts[b]:cuts[b+1]] {
			to := b
			if b < nBatches-1 && rng.Float64() < 0.05 {
				to = b + 1 + rng.IntN(nBatches-1-b)
				late++
			}
			batches[to] = append(batches[to], e)
			if rng.Float64() < 0.01 {
				d := to + rng.IntN(nBatches-to)
				batches[d] = append(batches[d], e)
				dups++
			}
		}
	}
	t.Logf("%d events in %d batches; %d moved to a later batch, %d repeated", len(events), nBatches, late, dups)

	// ---- the clock: after each batch, the latest occurred_at loaded so far
	// plus up to 6 hours (never going back)
	clocks := make([]time.Time, nBatches)
	var latest, clock time.Time
	for b, batch := range batches {
		for _, e := range batch {
			if e.occurred.After(latest) {
				latest = e.occurred
			}
		}
		c := latest.Add(time.Duration(rng.IntN(6*3600)) * time.Second).Truncate(time.Second)
		if c.After(clock) {
			clock = c
		}
		clocks[b] = clock
	}

	w, err := warehouse.Open(ctx, warehouse.Options{Dir: t.TempDir(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	db := w.DB()
	p := transform.DefaultParams()
	p.Timezone = zone
	now := clocks[0]
	tr, err := transform.New(db, transform.Options{
		// the alert rules are models too; they read their settings from macros
		Macros: alert.Statements(alert.DefaultRules()),
		Params: p,
		Now:    func() time.Time { return now },
		// never caught up: no period is frozen, so every figure is the
		// models' own
		Lag: func(context.Context) (int64, error) { return 1, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Stop()

	// ---- load and run incrementally
	seen := map[string]bool{}
	for b, batch := range batches {
		byTopic := map[string][][]byte{}
		var topics []string
		want := 0
		for _, e := range batch {
			if _, ok := byTopic[e.msg.Topic]; !ok {
				topics = append(topics, e.msg.Topic)
			}
			byTopic[e.msg.Topic] = append(byTopic[e.msg.Topic], e.msg.Value)
			if !seen[e.id] {
				seen[e.id] = true
				want++
			}
		}
		var stored, dup int64
		for _, topic := range topics {
			res, err := ingest.Load(ctx, w, topic, byTopic[topic])
			if err != nil {
				t.Fatalf("batch %d, %s: %v", b+1, topic, err)
			}
			if res.Total.Refused != 0 {
				t.Fatalf("batch %d, %s: %d events refused", b+1, topic, res.Total.Refused)
			}
			stored += res.Total.Stored
			dup += res.Total.Duplicates
		}
		if stored != int64(want) || dup != int64(len(batch)-want) {
			t.Fatalf("batch %d: want %d stored and %d duplicates, got %d and %d", b+1, want, len(batch)-want, stored, dup)
		}
		now = clocks[b]
		start := time.Now()
		runTransform(ctx, t, tr, false, fmt.Sprintf("seed %d, incremental run after batch %d", seed, b+1))
		t.Logf("batch %d: %d events (%d new), now %s, incremental run %v", b+1, len(batch), want, now.In(loc).Format(time.RFC3339), time.Since(start).Round(time.Millisecond))
	}

	// ---- snapshot, rebuild in full with the same clock, compare
	skip, err := runStateModels(tr)
	if err != nil {
		t.Fatal(err)
	}
	tables := listTables(ctx, t, db)
	if len(tables) == 0 {
		t.Fatal("no tables in staging and marts")
	}
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA snap"); err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE snap.%s AS SELECT * FROM %s", quoteID(tb.schema+"__"+tb.name), tb.qualified())); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	runTransform(ctx, t, tr, true, fmt.Sprintf("seed %d, full run", seed))
	t.Logf("full run %v", time.Since(start).Round(time.Millisecond))
	after := listTables(ctx, t, db)
	if !slices.Equal(tables, after) {
		t.Errorf("tables after the incremental runs %v, after the full run %v", tables, after)
	}
	compared := 0
	for _, tb := range tables {
		if skip[tb.schema+"."+tb.name] {
			t.Logf("%s: not compared (it describes the run itself)", tb.qualified())
			continue
		}
		snap := "snap." + quoteID(tb.schema+"__"+tb.name)
		compareTables(ctx, t, db, tb, snap)
		compared++
	}
	t.Logf("compared %d tables", compared)
}

type tableName struct{ schema, name string }

func (tb tableName) qualified() string { return quoteID(tb.schema) + "." + quoteID(tb.name) }
func (tb tableName) String() string    { return tb.schema + "." + tb.name }

func quoteID(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func listTables(ctx context.Context, t *testing.T, db *sql.DB) []tableName {
	t.Helper()
	rows, err := db.QueryContext(ctx, `SELECT schema_name, table_name FROM duckdb_tables()
		WHERE schema_name IN ('staging', 'marts') AND NOT temporary ORDER BY schema_name, table_name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []tableName
	for rows.Next() {
		var tb tableName
		if err := rows.Scan(&tb.schema, &tb.name); err != nil {
			t.Fatal(err)
		}
		out = append(out, tb)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// runStateModels are the models that describe what a run does rather than
// the data (the periods it recomputes, the spans new events touch): they
// read pulse_full(), pulse_prev_cut(), pulse_prev_now() or pulse_new() and differ
// between an incremental and a full run by design.
func runStateModels(tr *transform.Transformer) (map[string]bool, error) {
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
func compareTables(ctx context.Context, t *testing.T, db *sql.DB, tb tableName, snap string) {
	t.Helper()
	rows, err := db.QueryContext(ctx, `SELECT column_name, data_type FROM duckdb_columns()
		WHERE schema_name = ? AND table_name = ? ORDER BY column_index`, tb.schema, tb.name)
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
	full, incr := tb.qualified(), snap
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
			tb, n, nFull, nIncr, dir.what, sampleRows(ctx, t, db, diff+" LIMIT 5"))
	}
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

func sampleRows(ctx context.Context, t *testing.T, db *sql.DB, q string) string {
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
