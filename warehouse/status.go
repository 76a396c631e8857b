package warehouse

import (
	"context"
	"fmt"
	"time"
)

// PartitionStats is what the warehouse knows of one partition.
type PartitionStats struct {
	Topic           string    `json:"topic"`
	Partition       int       `json:"partition"`
	StoredOffset    int64     `json:"stored_offset"` // next offset to read
	StoredEvents    int64     `json:"events_stored"`
	RefusedEvents   int64     `json:"events_refused"`
	DuplicateEvents int64     `json:"duplicates_skipped"`
	UnknownEvents   int64     `json:"unknown_events"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// PartitionStats reads ops.kafka_offsets.
func (w *Warehouse) PartitionStats(ctx context.Context) ([]PartitionStats, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT topic, partition, next_offset, stored_events, refused_events,
		duplicate_events, unknown_events, updated_at FROM ops.kafka_offsets ORDER BY topic, partition`)
	if err != nil {
		return nil, fmt.Errorf("reading ops.kafka_offsets: %w", err)
	}
	defer rows.Close()
	var out []PartitionStats
	for rows.Next() {
		var s PartitionStats
		if err := rows.Scan(&s.Topic, &s.Partition, &s.StoredOffset, &s.StoredEvents, &s.RefusedEvents,
			&s.DuplicateEvents, &s.UnknownEvents, &s.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Ping checks that the database answers.
func (w *Warehouse) Ping(ctx context.Context) error {
	var one int
	return w.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// MemoryUse is one line of duckdb_memory(): what DuckDB's buffer manager
// holds for one purpose (base tables, hash tables, the in-memory part of
// uncheckpointed data, …).
type MemoryUse struct {
	Tag       string
	Bytes     int64 // in memory
	Temporary int64 // spilled to temporary files
}

// Memory reads duckdb_memory(). Memory outside the buffer manager (some
// of DuckDB's own allocations, and what its allocators hold free, which
// ReadCMemory reports) is not in it: the process's RSS is the whole truth.
func (w *Warehouse) Memory(ctx context.Context) ([]MemoryUse, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT tag, memory_usage_bytes, temporary_storage_bytes FROM duckdb_memory()`)
	if err != nil {
		return nil, fmt.Errorf("reading duckdb_memory(): %w", err)
	}
	defer rows.Close()
	var out []MemoryUse
	for rows.Next() {
		var m MemoryUse
		if err := rows.Scan(&m.Tag, &m.Bytes, &m.Temporary); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
