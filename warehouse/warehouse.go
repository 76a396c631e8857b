// Package warehouse owns the DuckDB database: opening it, its schemas and
// migrations, and the one write path of ingest (Store), which lands a batch
// of events, refused events and Kafka offsets in a single transaction.
package warehouse

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options configure Open. Zero values get defaults.
type Options struct {
	Dir  string // folder holding the database file; created if missing
	File string // file name inside Dir, default pulse.duckdb
	// Threads and MemoryLimit bound DuckDB; 0 and "" keep DuckDB's defaults
	// (all cores, 80% of RAM).
	Threads     int
	MemoryLimit string
	// CheckpointThreshold is DuckDB's WAL size that triggers an automatic
	// checkpoint. DuckDB's 16MB halves steady ingest; we default to 256MB
	// (data not yet checkpointed is held in memory, so it bounds memory
	// too) and also checkpoint when ingest is idle.
	CheckpointThreshold string
	// IdleCheckpoint is how long Store must be idle before Run checkpoints;
	// 0 disables idle checkpoints.
	IdleCheckpoint time.Duration
	// TrimInterval is how often Run hands memory DuckDB's allocators hold
	// free back to the system (see cmalloc.go); 0 never does.
	TrimInterval time.Duration
	Logger       *slog.Logger
	// ExternalAccess lets SQL run against the database read and write
	// files other than the database itself, attach databases and load
	// extensions. Pulse never needs it, and analysts' ad-hoc SQL (package
	// query) runs on this database, so it is off by default: DuckDB is then
	// opened with enable_external_access, autoload_known_extensions,
	// autoinstall_known_extensions and allow_community_extensions all false,
	// which cannot be switched back on while the database is open.
	ExternalAccess bool
}

// Warehouse is an open DuckDB database.
type Warehouse struct {
	db   *sql.DB
	path string
	log  *slog.Logger
	opts Options

	tables []RawTable

	// mu serialises writers: Store, checkpoints and Close. Readers use db.
	mu     sync.Mutex
	writer *sql.Conn
	arrow  *duckdb.Arrow
	// cconn is the writer's C connection, for views over Arrow records
	// that do not leak (arrowscan.go); nil falls back to arrow.RegisterView.
	cconn     unsafe.Pointer
	seen      *idSet
	seenBytes atomic.Int64 // seen.Bytes(), read without mu
	trims     atomic.Int64 // releases of free C memory by Run
	trimNanos atomic.Int64 // time they took
	offsets   map[TopicPartition]int64
	lastWrite time.Time
	// stamp is the ingested_at of the last stored batch. Stamps strictly
	// increase from batch to batch, so that "ingested after the stamp a
	// transform run saw" finds exactly the batches it did not see.
	stamp  time.Time
	dirty  bool
	views  int
	closed bool
}

// TopicPartition names a Kafka partition.
type TopicPartition struct {
	Topic     string
	Partition int
}

func (tp TopicPartition) String() string { return tp.Topic + "/" + strconv.Itoa(tp.Partition) }

// Open opens (or creates) the database, applies pending migrations, checks
// the raw tables against the event contract and loads what Store needs to
// deduplicate: the next offset per partition and the stored event ids.
func Open(ctx context.Context, opts Options) (*Warehouse, error) {
	if opts.File == "" {
		opts.File = "pulse.duckdb"
	}
	if opts.CheckpointThreshold == "" {
		opts.CheckpointThreshold = "256MB"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Dir == "" {
		return nil, errors.New("opening warehouse: no data folder given")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating data folder: %w", err)
	}
	path := filepath.Join(opts.Dir, opts.File)
	settings := []string{
		"SET checkpoint_threshold = '" + sqlString(opts.CheckpointThreshold) + "'",
		// Appends need not keep insertion order; dropping it lets DuckDB
		// insert with less memory and more parallelism.
		"SET preserve_insertion_order = false",
		// DuckDB plans an ASOF join as a nested loop when it guesses the
		// probe side small; that guess is wrong for the transforms' per-period
		// lookups (41 s instead of 0.2 s measured), so always sort-merge.
		"SET asof_loop_join_threshold = 0",
	}
	if opts.Threads > 0 {
		settings = append(settings, fmt.Sprintf("SET threads = %d", opts.Threads))
	}
	if opts.MemoryLimit != "" {
		settings = append(settings, "SET memory_limit = '"+sqlString(opts.MemoryLimit)+"'")
	}
	dsn := path
	if !opts.ExternalAccess {
		// Set at open (DSN), so that it holds for every connection.
		dsn += "?enable_external_access=false&autoload_known_extensions=false" +
			"&autoinstall_known_extensions=false&allow_community_extensions=false"
	}
	connector, err := duckdb.NewConnector(dsn, func(execer driver.ExecerContext) error {
		for _, s := range settings {
			if _, err := execer.ExecContext(context.Background(), s, nil); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	w := &Warehouse{
		db:     sql.OpenDB(connector),
		path:   path,
		log:    opts.Logger,
		opts:   opts,
		tables: RawTables(),
	}
	if err := w.init(ctx); err != nil {
		w.db.Close()
		return nil, err
	}
	return w, nil
}

func (w *Warehouse) init(ctx context.Context) error {
	if err := w.migrate(ctx); err != nil {
		return fmt.Errorf("migrating %s: %w", w.path, err)
	}
	if err := w.checkRawTables(ctx); err != nil {
		return err
	}
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("opening writer connection: %w", err)
	}
	w.writer = conn
	if err := conn.Raw(func(dc any) error {
		a, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		w.arrow = a
		if w.cconn, err = cConnection(dc.(driver.Conn)); err != nil {
			w.log.Warn("Arrow batches go through duckdb-go's RegisterView, which leaks ~1 KB of C memory per column per batch", "err", err)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("opening Arrow interface: %w", err)
	}
	if w.offsets, err = w.loadOffsets(ctx); err != nil {
		return err
	}
	if err := w.db.QueryRowContext(ctx, "SELECT coalesce(max(updated_at), TIMESTAMPTZ '1970-01-01 00:00:00+00') FROM ops.kafka_offsets").Scan(&w.stamp); err != nil {
		return fmt.Errorf("reading last ingest stamp: %w", err)
	}
	start := time.Now()
	if w.seen, err = w.loadEventIDs(ctx); err != nil {
		return err
	}
	w.seenBytes.Store(w.seen.Bytes())
	w.log.Info("warehouse open", "path", w.path, "events", w.seen.Len(), "id_index_bytes", w.seen.Bytes(),
		"partitions", len(w.offsets), "id_index_load", time.Since(start).Round(time.Millisecond))
	return nil
}

// IDIndexBytes is the memory held by the index of stored event ids that
// makes deduplication cheap: about 4 bytes per stored event, the one part
// of Pulse's memory that grows with the data.
func (w *Warehouse) IDIndexBytes() int64 { return w.seenBytes.Load() }

// DB is the database for readers. Writers go through Store.
func (w *Warehouse) DB() *sql.DB { return w.db }

// Path is the database file.
func (w *Warehouse) Path() string { return w.path }

// RawTables returns the raw table layouts the warehouse was opened with.
func (w *Warehouse) RawTables() []RawTable { return w.tables }

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and _", e.Name())
		}
		body, err := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].name, out[i].name, out[i].version)
		}
	}
	return out, nil
}

// migrate applies each pending migration in its own transaction, recording
// it in ops.schema_migrations in the same transaction.
func (w *Warehouse) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if _, err := w.db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS ops;
		CREATE TABLE IF NOT EXISTS ops.schema_migrations (
			version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)`); err != nil {
		return err
	}
	applied := map[int]bool{}
	rows, err := w.db.QueryContext(ctx, `SELECT version FROM ops.schema_migrations`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		tx, err := w.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ops.schema_migrations VALUES (?, ?, now())`, m.version, m.name); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s: recording: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("%s: commit: %w", m.name, err)
		}
		w.log.Info("applied migration", "migration", m.name)
	}
	return nil
}

// checkRawTables compares each raw table in the database with the layout
// the event contract implies, so that a migration and the code cannot drift
// apart unnoticed.
func (w *Warehouse) checkRawTables(ctx context.Context) error {
	rows, err := w.db.QueryContext(ctx, `SELECT table_name, column_name, data_type, is_nullable
		FROM information_schema.columns WHERE table_schema = 'raw' ORDER BY table_name, ordinal_position`)
	if err != nil {
		return fmt.Errorf("reading raw columns: %w", err)
	}
	defer rows.Close()
	have := map[string][]string{}
	for rows.Next() {
		var table, col, typ, nullable string
		if err := rows.Scan(&table, &col, &typ, &nullable); err != nil {
			return err
		}
		have[table] = append(have[table], fmt.Sprintf("%s %s null=%s", col, typ, nullable))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range w.tables {
		var want []string
		for _, c := range t.Columns {
			want = append(want, fmt.Sprintf("%s %s null=%s", c.Name, c.SQLType, yesNo(!c.NotNull)))
		}
		want = append(want, colIngestedAt+" TIMESTAMP WITH TIME ZONE null=NO")
		if strings.Join(have[t.Name], "\n") != strings.Join(want, "\n") {
			return fmt.Errorf("raw.%s does not match the event contract:\n have: %v\n want: %v", t.Name, have[t.Name], want)
		}
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

func (w *Warehouse) loadOffsets(ctx context.Context) (map[TopicPartition]int64, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT topic, partition, next_offset FROM ops.kafka_offsets`)
	if err != nil {
		return nil, fmt.Errorf("reading offsets: %w", err)
	}
	defer rows.Close()
	out := map[TopicPartition]int64{}
	for rows.Next() {
		var tp TopicPartition
		var next int64
		if err := rows.Scan(&tp.Topic, &tp.Partition, &next); err != nil {
			return nil, err
		}
		out[tp] = next
	}
	return out, rows.Err()
}

// NextOffsets returns, per partition, the offset of the first message not
// yet stored. A partition never consumed is absent.
func (w *Warehouse) NextOffsets() map[TopicPartition]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[TopicPartition]int64, len(w.offsets))
	for tp, o := range w.offsets {
		out[tp] = o
	}
	return out
}

// Run checkpoints the database when Store has been idle for
// IdleCheckpoint, so the WAL does not grow between bursts and a restart
// replays little, and every TrimInterval returns the C allocators' free
// memory to the system. It returns when ctx is done.
func (w *Warehouse) Run(ctx context.Context) error {
	var checkpoints, trims <-chan time.Time
	if w.opts.IdleCheckpoint > 0 {
		t := time.NewTicker(min(w.opts.IdleCheckpoint/2, 5*time.Second))
		defer t.Stop()
		checkpoints = t.C
	}
	if w.opts.TrimInterval > 0 {
		t := time.NewTicker(w.opts.TrimInterval)
		defer t.Stop()
		trims = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-checkpoints:
			if err := w.checkpointIfIdle(ctx); err != nil {
				w.log.Warn("idle checkpoint failed", "err", err)
			}
		case <-trims:
			w.trim()
		}
	}
}

// trim returns the C allocators' free pages to the system and counts the
// time it took, which /metrics shows.
func (w *Warehouse) trim() {
	start := time.Now()
	if !releaseCMemory() {
		return
	}
	took := time.Since(start)
	w.trims.Add(1)
	w.trimNanos.Add(took.Nanoseconds())
	w.log.Debug("C memory released", "took", took)
}

// TrimStats is how many times Run has released the C allocators' free
// memory and the time it spent doing so.
func (w *Warehouse) TrimStats() (count int64, took time.Duration) {
	return w.trims.Load(), time.Duration(w.trimNanos.Load())
}

func (w *Warehouse) checkpointIfIdle(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || !w.dirty || time.Since(w.lastWrite) < w.opts.IdleCheckpoint {
		return nil
	}
	start := time.Now()
	if _, err := w.writer.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return err
	}
	w.dirty = false
	w.log.Debug("idle checkpoint", "took", time.Since(start))
	return nil
}

// Close checkpoints and closes the database. Store must not be called
// afterwards.
func (w *Warehouse) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var errs []error
	if w.writer != nil {
		if _, err := w.writer.ExecContext(context.Background(), "CHECKPOINT"); err != nil {
			errs = append(errs, fmt.Errorf("final checkpoint: %w", err))
		}
		errs = append(errs, w.writer.Close())
	}
	errs = append(errs, w.db.Close())
	if w.seen != nil {
		w.seen.free()
	}
	return errors.Join(errs...)
}

func sqlString(s string) string { return strings.ReplaceAll(s, "'", "''") }
