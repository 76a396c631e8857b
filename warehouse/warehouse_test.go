package warehouse

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestOpenMigratesOnceAndReopens(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	w, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := w.DB().QueryRow(`SELECT count(*) FROM ops.schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	ms, _ := migrations()
	if n != len(ms) {
		t.Fatalf("%d migrations recorded, %d embedded", n, len(ms))
	}
	for _, schema := range []string{"raw", "staging", "marts", "ops"} {
		var found int
		if err := w.DB().QueryRow(`SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?`, schema).Scan(&found); err != nil || found != 1 {
			t.Errorf("schema %s: found %d (%v)", schema, found, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A second open applies nothing and keeps the data.
	w, err = Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.DB().QueryRow(`SELECT count(*) FROM ops.schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("after reopen: %d migrations (%v)", n, err)
	}
}

// TestRawTablesMatchContract: a raw table that drifted from the event
// contract stops Open with a message naming the table.
func TestRawTablesMatchContract(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	w, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB().Exec(`ALTER TABLE raw.user_login ADD COLUMN surprise INTEGER`); err != nil {
		t.Fatal(err)
	}
	w.Close()
	_, err = Open(ctx, Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "raw.user_login does not match the event contract") {
		t.Fatalf("got %v, want a mismatch naming raw.user_login", err)
	}
}

// TestEventsViewCoversEveryTable keeps the raw.events view (a migration
// written by hand) in step with the raw tables.
func TestEventsViewCoversEveryTable(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var view string
	for _, m := range ms {
		if strings.Contains(m.sql, "CREATE VIEW raw.events") {
			view = m.sql
		}
	}
	for _, tbl := range RawTables() {
		if !strings.Contains(view, "FROM raw."+tbl.Name+"\n") && !strings.HasSuffix(strings.TrimSpace(view), "FROM raw."+tbl.Name+";") {
			t.Errorf("raw.events does not select from raw.%s", tbl.Name)
		}
	}
}

// TestReleaseCMemory: after a large query DuckDB's jemalloc keeps the pages
// it freed resident; Run must hand them back on its timer.
func TestReleaseCMemory(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := Open(ctx, Options{Dir: t.TempDir(), Threads: 2, MemoryLimit: "1GB"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.DB().ExecContext(ctx, `CREATE TABLE t AS SELECT i, md5(i::varchar) s FROM range(2000000) r(i)`); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := w.DB().QueryRowContext(ctx, `SELECT count(*) FROM (SELECT s, count(*) FROM t GROUP BY s)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	je := func() (active, resident int64) {
		active, _ = cMemoryBytes("jemalloc", "active")
		resident, _ = cMemoryBytes("jemalloc", "resident")
		return
	}
	active, resident := je()
	t.Logf("after the query: jemalloc active %d MiB, resident %d MiB", active>>20, resident>>20)
	if resident == 0 {
		t.Fatal("no jemalloc statistics: is DuckDB's jemalloc linked in?")
	}
	if resident-active < 64<<20 {
		t.Fatalf("expected the query to leave over 64 MiB free but resident, got %d MiB", (resident-active)>>20)
	}

	w.opts.TrimInterval = 50 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if n, _ := w.TrimStats(); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not release C memory within 10 s")
		}
	}
	active, resident = je()
	n, took := w.TrimStats()
	t.Logf("after release: jemalloc active %d MiB, resident %d MiB; %d releases took %v", active>>20, resident>>20, n, took)
	if resident-active > 32<<20 {
		t.Errorf("free resident memory after release: %d MiB, want under 32", (resident-active)>>20)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
