package warehouse

import (
	"context"
	"strings"
	"testing"
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
