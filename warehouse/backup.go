package warehouse

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// BackupFormat is the layout version of a backup folder. Restore refuses
// any other.
const BackupFormat = 1

// ManifestFile is the name of a backup's manifest inside its folder. It is
// written last, so a folder with it is a finished backup.
const ManifestFile = "manifest.json"

// backupSchemas are the schemas a backup holds: the events (raw) and the
// state of the pipeline and of its users (ops). staging, marts and alerts
// are not kept: transforms rebuild them from raw, and a restored database
// rebuilds them whole on its first run (see markRestored).
var backupSchemas = []string{"raw", "ops"}

// notBackedUp are tables of backupSchemas a backup leaves out:
// ops.schema_migrations is written by the migrations of the new database.
var notBackedUp = []string{"ops.schema_migrations"}

// parquetRowGroup bounds a Parquet row group, which pqarrow holds in
// memory while it fills: DuckDB's own row group size.
const parquetRowGroup = 122_880

// ErrBackupTarget is returned by Backup when the target folder exists and
// is not empty, and by Restore when a database exists where it would write.
var ErrBackupTarget = errors.New("target already holds data")

// BackupManifest describes a backup: what made it, when, and each table's
// file with its row count and checksum, which Restore checks.
type BackupManifest struct {
	Format int `json:"format"`
	// PulseVersion is the module version and VCS revision of the binary
	// that made the backup, when the build recorded them.
	PulseVersion string `json:"pulse_version,omitempty"`
	// MigrationVersion is the last migration applied to the backed-up
	// database; Restore refuses a backup newer than the migrations it has.
	MigrationVersion int           `json:"migration_version"`
	CreatedAt        time.Time     `json:"created_at"`
	DurationMS       float64       `json:"duration_ms"`
	Tables           []BackupTable `json:"tables"`
	// Sequences holds the last value each used sequence handed out, so
	// that a restored database never hands an id out twice.
	Sequences map[string]int64 `json:"sequences"`
	// Dir is where the backup was written; set in Backup's answer, not in
	// the manifest file (a backup folder may be moved).
	Dir string `json:"dir,omitempty"`
}

// BackupTable is one table of a backup.
type BackupTable struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	File   string `json:"file"` // <schema>.<name>.parquet, inside the backup folder
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"` // of the file, hex
}

// Qualified is schema.name.
func (t BackupTable) Qualified() string { return t.Schema + "." + t.Name }

// TotalRows is the sum of the tables' rows.
func (m BackupManifest) TotalRows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// TotalBytes is the sum of the tables' file sizes.
func (m BackupManifest) TotalBytes() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Bytes
	}
	return n
}

// Backup writes a consistent snapshot of the raw and ops tables to dir,
// one Parquet file per table and a manifest, while ingest, transforms and
// queries go on. All tables are read in one read transaction on one
// connection, so DuckDB's MVCC gives every table as of the same instant:
// the raw events and ops.kafka_offsets agree, as Store commits them
// together. DuckDB itself never touches the files (external access stays
// off): Go reads the tables through DuckDB's Arrow interface and writes
// Parquet. The files are written in a hidden folder beside dir, renamed
// to dir at the end, so a backup that fails half-way never looks finished.
// dir must not exist or be empty.
func (w *Warehouse) Backup(ctx context.Context, dir string) (m BackupManifest, err error) {
	start := time.Now()
	if dir == "" {
		return m, errors.New("backup: no target folder given")
	}
	dir = filepath.Clean(dir)
	if err := checkEmptyDir(dir); err != nil {
		return m, err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return m, fmt.Errorf("backup: creating %s: %w", parent, err)
	}
	// The backup holds password and token hashes: readable by the owner only.
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".partial-")
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()

	conn, err := w.db.Conn(ctx)
	if err != nil {
		return m, fmt.Errorf("backup: opening a connection: %w", err)
	}
	defer conn.Close()
	var ar *duckdb.Arrow
	if err := conn.Raw(func(dc any) error {
		a, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		ar = a
		return err
	}); err != nil {
		return m, fmt.Errorf("backup: opening Arrow interface: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION READ ONLY"); err != nil {
		return m, fmt.Errorf("backup: beginning the snapshot: %w", err)
	}
	// Read only: nothing to keep. The connection goes back to the pool
	// with no transaction open.
	defer conn.ExecContext(context.Background(), "ROLLBACK")

	m = BackupManifest{Format: BackupFormat, PulseVersion: pulseVersion(), CreatedAt: start.UTC(), Sequences: map[string]int64{}}
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM ops.schema_migrations`).Scan(&m.MigrationVersion); err != nil {
		return m, fmt.Errorf("backup: reading the migration version: %w", err)
	}
	tables, err := listTables(ctx, conn)
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	for _, t := range tables {
		bt, err := exportTable(ctx, ar, t[0], t[1], tmp)
		if err != nil {
			return m, fmt.Errorf("backing up %s.%s: %w", t[0], t[1], err)
		}
		m.Tables = append(m.Tables, bt)
	}
	// Sequences are not transactional: a value read now may be past the
	// snapshot, which only leaves a gap in the restored ids.
	rows, err := conn.QueryContext(ctx, `SELECT schema_name || '.' || sequence_name, last_value FROM duckdb_sequences()
		WHERE database_name = current_database() AND NOT temporary AND last_value IS NOT NULL`)
	if err != nil {
		return m, fmt.Errorf("backup: reading sequences: %w", err)
	}
	for rows.Next() {
		var name string
		var last int64
		if err := rows.Scan(&name, &last); err != nil {
			rows.Close()
			return m, fmt.Errorf("backup: reading sequences: %w", err)
		}
		m.Sequences[name] = last
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return m, fmt.Errorf("backup: reading sequences: %w", err)
	}

	m.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := writeFileSync(filepath.Join(tmp, ManifestFile), append(body, '\n')); err != nil {
		return m, fmt.Errorf("backup: writing the manifest: %w", err)
	}
	if err := syncDir(tmp); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	// rename(2) cannot replace a directory that is not empty: remove the
	// empty target (checked above) so the rename lands.
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return m, fmt.Errorf("backup: finishing: %w", err)
	}
	if err := syncDir(parent); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	m.Dir = dir
	w.log.Info("backup written", "dir", dir, "tables", len(m.Tables), "rows", m.TotalRows(),
		"bytes", m.TotalBytes(), "took", time.Since(start).Round(time.Millisecond))
	return m, nil
}

// checkEmptyDir refuses a target that exists and holds anything, or that
// is not a folder.
func checkEmptyDir(dir string) error {
	st, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("backup: %s: %w (not a folder)", dir, ErrBackupTarget)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("backup: %s: %w (%d entries); name a new or empty folder", dir, ErrBackupTarget, len(entries))
	}
	return nil
}

// listTables lists the base tables of backupSchemas, sorted, as the
// transaction of conn sees them.
func listTables(ctx context.Context, conn *sql.Conn) ([][2]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_catalog = current_database()
		AND table_schema IN ('`+strings.Join(backupSchemas, "', '")+`')
		ORDER BY table_schema, table_name`)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var schema, name string
		if err := rows.Scan(&schema, &name); err != nil {
			return nil, fmt.Errorf("listing tables: %w", err)
		}
		if !slices.Contains(notBackedUp, schema+"."+name) {
			out = append(out, [2]string{schema, name})
		}
	}
	return out, rows.Err()
}

// exportTable writes one table to dir/<schema>.<name>.parquet through
// DuckDB's Arrow interface, hashing the file as it is written.
func exportTable(ctx context.Context, ar *duckdb.Arrow, schema, name, dir string) (BackupTable, error) {
	bt := BackupTable{Schema: schema, Name: name, File: schema + "." + name + ".parquet"}
	rdr, err := ar.QueryContext(ctx, "SELECT * FROM "+quoteIdent(schema)+"."+quoteIdent(name))
	if err != nil {
		return bt, err
	}
	defer rdr.Release()
	f, err := os.OpenFile(filepath.Join(dir, bt.File), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return bt, err
	}
	defer f.Close()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, h)}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(parquetRowGroup),
		parquet.WithCreatedBy("pulse backup"))
	// The Arrow schema rides along, so types Parquet spells differently
	// (time zones, JSON's extension metadata) come back as they were.
	fw, err := pqarrow.NewFileWriter(rdr.Schema(), cw, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return bt, err
	}
	// DuckDB hands out one batch of 2048 rows at a time and frees its
	// memory at the next one, but a Parquet row group's column statistics
	// point into the batches written to it until the row group is closed
	// (a use after free, seen as a crash on 10M events). So the batches of
	// the open row group are held, and let go once it is closed.
	var held []arrow.RecordBatch
	releaseHeld := func() {
		for _, r := range held {
			r.Release()
		}
		held = held[:0]
	}
	defer releaseHeld()
	var groupRows int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if groupRows > 0 && groupRows+rec.NumRows() > parquetRowGroup {
			fw.NewBufferedRowGroup() // closes the row group being filled
			releaseHeld()
			groupRows = 0
		}
		rec.Retain()
		held = append(held, rec)
		if err := fw.WriteBuffered(rec); err != nil {
			fw.Close()
			return bt, fmt.Errorf("writing Parquet: %w", err)
		}
		groupRows += rec.NumRows()
		bt.Rows += rec.NumRows()
	}
	if err := rdr.Err(); err != nil {
		fw.Close()
		return bt, fmt.Errorf("reading: %w", err)
	}
	if err := fw.Close(); err != nil {
		return bt, fmt.Errorf("writing Parquet: %w", err)
	}
	releaseHeld()
	if err := f.Sync(); err != nil {
		return bt, err
	}
	bt.Bytes, bt.SHA256 = cw.n, hex.EncodeToString(h.Sum(nil))
	return bt, f.Close()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadBackupManifest reads and checks the manifest of the backup in dir.
func ReadBackupManifest(dir string) (BackupManifest, error) {
	var m BackupManifest
	body, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("%s has no %s: not a finished Pulse backup", dir, ManifestFile)
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("reading %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if m.Format != BackupFormat {
		return m, fmt.Errorf("%s: backup format %d, this Pulse reads format %d", dir, m.Format, BackupFormat)
	}
	for _, t := range m.Tables {
		if !slices.Contains(backupSchemas, t.Schema) || t.File != t.Schema+"."+t.Name+".parquet" || strings.ContainsAny(t.Name, `/\`) {
			return m, fmt.Errorf("%s: the manifest names an unexpected table or file: %s (%s)", dir, t.Qualified(), t.File)
		}
	}
	return m, nil
}

// Restore creates a new database in opts.Dir from the backup in from:
// it runs the migrations, so the schema is this Pulse's, then loads each
// table's Parquet file through Arrow, checking the file's checksum and
// every table's row count against the manifest; any disagreement fails,
// naming the table. Pulse must be stopped. It refuses to touch a folder
// that already holds the database file. The database is built under a
// temporary name and renamed when complete, so a failed restore leaves
// nothing that Pulse would open. staging, marts and alerts are not in a
// backup: the first transform run after a restore rebuilds them whole.
func Restore(ctx context.Context, from string, opts Options) (err error) {
	m, err := ReadBackupManifest(from)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if opts.Dir == "" {
		return errors.New("restore: no data folder given")
	}
	if opts.File == "" {
		opts.File = "pulse.duckdb"
	}
	final := filepath.Join(opts.Dir, opts.File)
	for _, p := range []string{final, final + ".wal"} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("restore: %s exists: %w; restore makes a new database, so move the old one away first", p, ErrBackupTarget)
		}
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	if latest := ms[len(ms)-1].version; m.MigrationVersion > latest {
		return fmt.Errorf("restore: the backup is at migration %d, newer than this Pulse's %d: restore with the Pulse that made it", m.MigrationVersion, latest)
	}
	work := opts
	work.File = opts.File + ".restoring"
	workPath := filepath.Join(opts.Dir, work.File)
	removeWork := func() { os.Remove(workPath); os.Remove(workPath + ".wal") }
	removeWork() // left by a restore that crashed
	w, err := Open(ctx, work)
	if err != nil {
		return fmt.Errorf("restore: creating the database: %w", err)
	}
	defer func() {
		if err != nil {
			w.Close()
			removeWork()
		}
	}()
	have, err := w.tableSet(ctx)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, t := range m.Tables {
		if !have[t.Qualified()] {
			return fmt.Errorf("restoring %s: this Pulse's schema has no such table", t.Qualified())
		}
		if err := w.restoreTable(ctx, from, t); err != nil {
			return fmt.Errorf("restoring %s: %w", t.Qualified(), err)
		}
	}
	if err := w.restoreSequences(ctx, m.Sequences); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := w.markRestored(ctx, m); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("restore: closing the database: %w", err)
	}
	if err := os.Rename(workPath, final); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return syncDir(opts.Dir)
}

// tableSet lists the base tables of backupSchemas as schema.name.
func (w *Warehouse) tableSet(ctx context.Context) (map[string]bool, error) {
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tables, err := listTables(ctx, conn)
	out := map[string]bool{}
	for _, t := range tables {
		out[t[0]+"."+t[1]] = true
	}
	return out, err
}

// restoreTable checks a table's file against the manifest and loads it.
func (w *Warehouse) restoreTable(ctx context.Context, from string, t BackupTable) error {
	f, err := os.Open(filepath.Join(from, t.File))
	if err != nil {
		return err
	}
	defer f.Close()
	// The checksum first: a damaged file is refused before any of it is
	// loaded, whatever the Parquet reader would make of it.
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("reading %s: %w", t.File, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != t.SHA256 {
		return fmt.Errorf("%s is damaged: its sha256 is %s, the manifest says %s", t.File, sum, t.SHA256)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return fmt.Errorf("reading %s: %w", t.File, err)
	}
	defer pf.Close()
	if pf.NumRows() != t.Rows {
		return fmt.Errorf("%s holds %d rows, the manifest says %d", t.File, pf.NumRows(), t.Rows)
	}
	if t.Rows == 0 {
		return nil
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("reading %s: %w", t.File, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("reading %s: %w", t.File, err)
	}
	defer rr.Release()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.views++
	view := fmt.Sprintf("pulse_restore_%d", w.views)
	release, err := w.arrow.RegisterView(rr, view)
	if err != nil {
		return err
	}
	defer release()
	defer w.writer.ExecContext(context.Background(), "DROP VIEW IF EXISTS "+view)
	res, err := w.writer.ExecContext(ctx, "INSERT INTO "+quoteIdent(t.Schema)+"."+quoteIdent(t.Name)+" BY NAME SELECT * FROM "+view)
	if err != nil {
		return fmt.Errorf("loading %s: %w", t.File, err)
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", t.File, err)
	}
	if n, err := res.RowsAffected(); err == nil && n != t.Rows {
		return fmt.Errorf("loaded %d rows, the manifest says %d", n, t.Rows)
	}
	var n int64
	if err := w.writer.QueryRowContext(ctx, "SELECT count(*) FROM "+quoteIdent(t.Schema)+"."+quoteIdent(t.Name)).Scan(&n); err != nil {
		return err
	}
	if n != t.Rows {
		return fmt.Errorf("the table holds %d rows after loading, the manifest says %d", n, t.Rows)
	}
	return nil
}

// restoreSequences advances each sequence to the value it had in the
// backup, so ids already in the restored tables are not handed out again.
// DuckDB cannot set a sequence, so nextval is drawn that many times.
func (w *Warehouse) restoreSequences(ctx context.Context, seqs map[string]int64) error {
	for name, last := range seqs {
		if last <= 0 {
			continue
		}
		var got int64
		if err := w.db.QueryRowContext(ctx, fmt.Sprintf("SELECT max(nextval('%s')) FROM range(%d)", sqlString(name), last)).Scan(&got); err != nil {
			return fmt.Errorf("advancing sequence %s: %w", name, err)
		}
		if got < last {
			return fmt.Errorf("advancing sequence %s: reached %d, want %d", name, got, last)
		}
	}
	return nil
}

// markRestored makes the first transform run after a restore rebuild every
// model whole: a run only builds incrementally when the latest run is ok,
// so a last run that says "restored" (status failed, with the reason in
// error) forces a full one. Its cut is -infinity so the scheduler sees the
// restored events as new and runs at once. A backup without runs needs no
// mark: the first run of a database is full.
func (w *Warehouse) markRestored(ctx context.Context, m BackupManifest) error {
	_, err := w.db.ExecContext(ctx, `INSERT INTO ops.transform_runs
		(run_id, started_at, finished_at, status, full_rebuild, as_of, cut, prev_cut, models_hash, params_hash, error)
		SELECT max(run_id) + 1, now(), now(), 'failed', false, now(),
			CAST('-infinity' AS TIMESTAMPTZ), CAST('-infinity' AS TIMESTAMPTZ), '', '', ?
		FROM ops.transform_runs HAVING count(*) > 0`,
		fmt.Sprintf("restored from a backup made at %s: the next run rebuilds staging, marts and alerts whole",
			m.CreatedAt.UTC().Format(time.RFC3339)))
	if err != nil {
		return fmt.Errorf("marking transform runs: %w", err)
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func pulseVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v = strings.TrimSpace(v + " " + s.Value)
		}
	}
	return v
}

func writeFileSync(path string, body []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// syncDir makes a rename or new file in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
