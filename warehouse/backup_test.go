package warehouse_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/internal/testkit"
	"github.com/pulsekpi/pulse/warehouse"
)

// loadSome stores n events of several types (and one refused message) on
// topic, with ids prefix-0 … prefix-(n-1).
func loadSome(t testing.TB, w *warehouse.Warehouse, topic, prefix string, n int) {
	t.Helper()
	var vals [][]byte
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		switch i % 3 {
		case 0:
			vals = append(vals, testkit.Event(id, "employee.upserted", "2026-09-01T00:00:00Z",
				fmt.Sprintf(`{"employee_id":"e%d","name":"N %d","role":"sales","team_id":"t1","manager_id":"m1","active":true}`, i%7, i)))
		case 1:
			vals = append(vals, testkit.Event(id, "contract.signed", "2026-10-05T09:00:00Z",
				fmt.Sprintf(`{"contract_id":"%s","customer_id":"c%d","owner_id":"e%d","amount":%d.25}`, id, i%5, i%7, 100+i)))
		default:
			vals = append(vals, testkit.Event(id, "followup.logged", "2026-10-03T10:00:00Z",
				fmt.Sprintf(`{"followup_id":"%s","customer_id":"c%d","employee_id":"e%d","channel":"visit"}`, id, i%5, i%7)))
		}
	}
	vals = append(vals, []byte(`{"not":"an event"}`))
	testkit.Load(t, w, topic, vals...)
}

func count(t testing.TB, w *warehouse.Warehouse, q string) int64 {
	t.Helper()
	var n int64
	if err := w.DB().QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestBackupWhileIngestingAndRestore: a backup taken while events keep
// arriving is one consistent snapshot: the restored raw events are exactly
// those the offsets it holds account for, every table has the manifest's
// rows, ids from sequences are not handed out again, and the restored
// database opens and passes a full transform run.
func TestBackupWhileIngestingAndRestore(t *testing.T) {
	ctx := context.Background()
	w := testkit.Warehouse(t)
	// More than DuckDB's 2048-row batch per table, so that Parquet row
	// groups span batches.
	loadSome(t, w, "crm.events", "a", 9000)
	testkit.Transform(t, w, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC))
	testkit.Users(t, w, auth.User{Login: "ana", Role: auth.RoleAnalyst})

	// A writer keeps storing batches while the backup runs.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var batches atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			loadSome(t, w, "finance.events", fmt.Sprintf("live%d", i), 50)
			batches.Add(1)
		}
	}()
	for batches.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	target := filepath.Join(t.TempDir(), "b1")
	m, err := w.Backup(ctx, target)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if m.Dir != target || m.MigrationVersion == 0 || len(m.Tables) == 0 {
		t.Fatalf("manifest: %+v", m)
	}
	if entries, _ := os.ReadDir(filepath.Dir(target)); len(entries) != 1 {
		t.Errorf("the temporary folder was left behind: %v", entries)
	}
	rows := map[string]int64{}
	for _, bt := range m.Tables {
		rows[bt.Qualified()] = bt.Rows
		if strings.HasPrefix(bt.Schema, "marts") || bt.Qualified() == "ops.schema_migrations" {
			t.Errorf("%s should not be backed up", bt.Qualified())
		}
	}
	for _, must := range []string{"raw.contract_signed", "raw.unknown_events", "ops.kafka_offsets", "ops.users", "ops.api_tokens", "ops.transform_runs"} {
		if _, ok := rows[must]; !ok {
			t.Errorf("%s is missing from the backup", must)
		}
	}
	if after := count(t, w, "SELECT count(*) FROM raw.contract_signed"); after <= rows["raw.contract_signed"] {
		t.Logf("ingest did not outrun the backup (%d rows after, %d in it)", after, rows["raw.contract_signed"])
	}

	data := t.TempDir()
	if err := warehouse.Restore(ctx, target, warehouse.Options{Dir: data}); err != nil {
		t.Fatal(err)
	}
	r, err := warehouse.Open(ctx, warehouse.Options{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, bt := range m.Tables {
		want := bt.Rows
		if bt.Qualified() == "ops.transform_runs" {
			want++ // the mark of the restore, which forces a full rebuild
		}
		if got := count(t, r, "SELECT count(*) FROM "+bt.Qualified()); got != want {
			t.Errorf("%s: %d rows restored, want %d", bt.Qualified(), got, want)
		}
	}
	// Exactly-once state: what the offsets say was stored is what is there.
	stored := count(t, r, "SELECT sum(stored_events) FROM ops.kafka_offsets")
	refused := count(t, r, "SELECT sum(refused_events) FROM ops.kafka_offsets")
	if ev := count(t, r, "SELECT count(*) FROM raw.events"); ev != stored {
		t.Errorf("restored %d events, the offsets count %d stored", ev, stored)
	}
	if rf := count(t, r, "SELECT count(*) FROM ops.refused_events"); rf != refused {
		t.Errorf("restored %d refused events, the offsets count %d", rf, refused)
	}
	next := count(t, r, "SELECT next_offset FROM ops.kafka_offsets WHERE topic = 'finance.events'")
	if n := count(t, r, "SELECT count(*) FROM raw.events WHERE kafka_topic = 'finance.events'") + count(t, r,
		"SELECT count(*) FROM ops.refused_events WHERE kafka_topic = 'finance.events'"); n != next {
		t.Errorf("finance.events: next offset %d, %d messages restored", next, n)
	}
	// The same events as the source held at the snapshot: every restored
	// event is in the source with the same content, and the source's
	// events at or below the restored offsets are all restored.
	var srcHash, dstHash string
	hashQ := func(cond string) string {
		return `SELECT coalesce(string_agg(event_id || '|' || event_type || '|' || kafka_offset::VARCHAR, ',' ORDER BY event_id), '')
			FROM raw.events WHERE ` + cond
	}
	if err := r.DB().QueryRow(hashQ("true")).Scan(&dstHash); err != nil {
		t.Fatal(err)
	}
	var offs []string
	if err := func() error {
		rs, err := r.DB().Query(`SELECT topic, next_offset FROM ops.kafka_offsets`)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var topic string
			var next int64
			if err := rs.Scan(&topic, &next); err != nil {
				return err
			}
			offs = append(offs, fmt.Sprintf("(kafka_topic = '%s' AND kafka_offset < %d)", topic, next))
		}
		return rs.Err()
	}(); err != nil {
		t.Fatal(err)
	}
	if err := w.DB().QueryRow(hashQ(strings.Join(offs, " OR "))).Scan(&srcHash); err != nil {
		t.Fatal(err)
	}
	if srcHash != dstHash || dstHash == "" {
		t.Errorf("restored events differ from the source's at the snapshot (%d vs %d bytes)", len(dstHash), len(srcHash))
	}
	// Values survive the round trip: money, JSON, timestamps.
	var srcRow, dstRow string
	q := `SELECT string_agg(event_id || amount::VARCHAR || occurred_at::VARCHAR || coalesce(extra::VARCHAR, '-'), ';' ORDER BY event_id) FROM raw.contract_signed WHERE event_id LIKE 'a-%'`
	w.DB().QueryRow(q).Scan(&srcRow)
	r.DB().QueryRow(q).Scan(&dstRow)
	if srcRow == "" || srcRow != dstRow {
		t.Errorf("contract rows differ:\n src %.200s\n dst %.200s", srcRow, dstRow)
	}
	// The Parquet statistics are right (they point into DuckDB's batches
	// while a row group fills; see exportTable).
	var lo, hi string
	if err := r.DB().QueryRow(`SELECT min(event_id), max(event_id) FROM raw.contract_signed`).Scan(&lo, &hi); err != nil {
		t.Fatal(err)
	}
	if gotLo, gotHi := parquetMinMax(t, filepath.Join(target, "raw.contract_signed.parquet"), "event_id"); gotLo != lo || gotHi != hi {
		t.Errorf("event_id statistics: [%q, %q], want [%q, %q]", gotLo, gotHi, lo, hi)
	}
	// Sequences continue after the restored ids.
	_, tokens := testkit.Users(t, r, auth.User{Login: "bob", Role: auth.RoleAnalyst})
	if len(tokens) != 1 || count(t, r, "SELECT count(DISTINCT user_id) FROM ops.users") != 2 ||
		count(t, r, "SELECT count(DISTINCT token_id) FROM ops.api_tokens") != 2 {
		t.Error("a user added after the restore reused an id")
	}
	// The first run after a restore rebuilds every model whole, and passes.
	tr := testkit.Transform(t, r, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC))
	run, err := tr.LastRun(ctx)
	if err != nil || run == nil || !run.Full || run.Status != "ok" {
		t.Fatalf("first run after restore: %v %+v", err, run)
	}
	if n := count(t, r, "SELECT count(*) FROM marts.kpis_long"); n == 0 {
		t.Error("marts were not rebuilt")
	}
}

// TestBackupRefusesNonEmptyTarget: a folder holding anything is refused,
// and left as it was.
func TestBackupRefusesNonEmptyTarget(t *testing.T) {
	w := testkit.Warehouse(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644)
	_, err := w.Backup(context.Background(), dir)
	if !errors.Is(err, warehouse.ErrBackupTarget) {
		t.Fatalf("got %v, want ErrBackupTarget", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "keep.txt")); string(b) != "mine" {
		t.Error("the target was changed")
	}
	// An empty folder is fine.
	empty := t.TempDir()
	if _, err := w.Backup(context.Background(), empty); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(empty, warehouse.ManifestFile)); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreRefusesDamageAndExistingDatabase: a damaged Parquet file fails
// the restore naming its table and leaves no database behind; a folder
// that already has a database is refused.
func TestRestoreRefusesDamageAndExistingDatabase(t *testing.T) {
	ctx := context.Background()
	w := testkit.Warehouse(t)
	loadSome(t, w, "crm.events", "a", 30)
	target := filepath.Join(t.TempDir(), "b")
	if _, err := w.Backup(ctx, target); err != nil {
		t.Fatal(err)
	}

	existing := t.TempDir()
	os.WriteFile(filepath.Join(existing, "pulse.duckdb"), []byte("not yours"), 0o644)
	if err := warehouse.Restore(ctx, target, warehouse.Options{Dir: existing}); !errors.Is(err, warehouse.ErrBackupTarget) {
		t.Errorf("restore over a database: got %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(existing, "pulse.duckdb")); string(b) != "not yours" {
		t.Error("the existing database was touched")
	}

	path := filepath.Join(target, "raw.contract_signed.parquet")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	os.WriteFile(path, b, 0o600)
	data := t.TempDir()
	err = warehouse.Restore(ctx, target, warehouse.Options{Dir: data})
	if err == nil || !strings.Contains(err.Error(), "raw.contract_signed") {
		t.Fatalf("got %v, want an error naming raw.contract_signed", err)
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Errorf("a failed restore left %v", entries)
	}

	// A manifest that disagrees on rows is caught as well.
	b[len(b)/2] ^= 0xff
	os.WriteFile(path, b, 0o600)
	m, err := warehouse.ReadBackupManifest(target)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Tables {
		if m.Tables[i].Qualified() == "ops.kafka_offsets" {
			m.Tables[i].Rows++
		}
	}
	writeManifest(t, target, m)
	err = warehouse.Restore(ctx, target, warehouse.Options{Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "ops.kafka_offsets") {
		t.Fatalf("got %v, want an error naming ops.kafka_offsets", err)
	}
}

func writeManifest(t *testing.T, dir string, m warehouse.BackupManifest) {
	t.Helper()
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, warehouse.ManifestFile), body, 0o600); err != nil {
		t.Fatal(err)
	}
}

// parquetMinMax is the min and max a Parquet file's statistics give for a
// string column, over its row groups.
func parquetMinMax(t *testing.T, path, column string) (lo, hi string) {
	t.Helper()
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	col := r.MetaData().Schema.ColumnIndexByName(column)
	for g := range r.NumRowGroups() {
		cc, err := r.MetaData().RowGroup(g).ColumnChunk(col)
		if err != nil {
			t.Fatal(err)
		}
		st, err := cc.Statistics()
		if err != nil || st == nil || !st.HasMinMax() {
			t.Fatalf("row group %d: no statistics (%v)", g, err)
		}
		bs := st.(*metadata.ByteArrayStatistics)
		if mn := string(bs.Min()); lo == "" || mn < lo {
			lo = mn
		}
		if mx := string(bs.Max()); mx > hi {
			hi = mx
		}
	}
	return lo, hi
}
