package warehouse

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Batch is one flush of ingest: Arrow records for the raw tables, the
// refused messages, and how far each partition has been read.
type Batch struct {
	// Records holds one record per raw table, aligned with RawTables();
	// nil where the batch has no rows for the table. Each record has the
	// table's Schema.
	Records []arrow.RecordBatch
	// Refused has RefusedSchema(), or is nil.
	Refused arrow.RecordBatch
	// Ends is, per partition, the offset after the last message read into
	// the batch, whatever became of the message.
	Ends map[TopicPartition]int64
}

// Counts is what a flush did with one partition's messages.
type Counts struct {
	Stored     int64 // events inserted into raw tables (unknown types included)
	Unknown    int64 // of which of unknown types
	Refused    int64 // refused messages recorded
	Duplicates int64 // events skipped because their event_id was stored already
	Stale      int64 // messages at or below the stored offset, skipped (a rebalance or redelivery)
}

func (c *Counts) add(o Counts) {
	c.Stored += o.Stored
	c.Unknown += o.Unknown
	c.Refused += o.Refused
	c.Duplicates += o.Duplicates
	c.Stale += o.Stale
}

// Result is what Store did.
type Result struct {
	Total        Counts
	PerPartition map[TopicPartition]Counts
	PerTable     map[string]int64 // rows inserted per raw table
}

// ErrClosed is returned by Store after Close.
var ErrClosed = errors.New("warehouse is closed")

// Store lands a batch in one transaction: the new events of every raw
// table, the refused messages and the next offset of every partition. An
// event whose event_id is already stored, here or earlier in the batch, is
// skipped and counted; so is any message below a partition's stored offset,
// which makes redelivery after a crash or rebalance harmless. Store does
// not release the batch's records.
func (w *Warehouse) Store(ctx context.Context, b *Batch) (Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return Result{}, ErrClosed
	}
	res := Result{PerPartition: map[TopicPartition]Counts{}, PerTable: map[string]int64{}}
	plan, err := w.plan(ctx, b, &res)
	if err != nil {
		return Result{}, fmt.Errorf("deduplicating batch: %w", err)
	}
	defer plan.release()
	if err := w.write(ctx, b, plan); err != nil {
		return Result{}, fmt.Errorf("storing batch: %w", err)
	}
	// The transaction is committed: only now may memory say so too.
	for _, h := range plan.newIDs {
		w.seen.Add(h)
	}
	w.seenBytes.Store(w.seen.Bytes())
	for tp, end := range b.Ends {
		if end > w.offsets[tp] {
			w.offsets[tp] = end
		}
	}
	for _, c := range res.PerPartition {
		res.Total.add(c)
	}
	w.lastWrite, w.dirty = time.Now(), true
	return res, nil
}

// storePlan is the keep/skip decision of every row of a batch.
type storePlan struct {
	keeps   []arrow.RecordBatch // per table: the record with a _keep column, or nil
	refused arrow.RecordBatch
	newIDs  []uint64
	counts  map[TopicPartition]*Counts
}

func (p *storePlan) release() {
	for _, r := range p.keeps {
		if r != nil {
			r.Release()
		}
	}
	if p.refused != nil {
		p.refused.Release()
	}
}

const keepColumn = "_keep"

func withKeep(rec arrow.RecordBatch, keep []bool) arrow.RecordBatch {
	bld := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer bld.Release()
	bld.AppendValues(keep, nil)
	keepArr := bld.NewArray()
	defer keepArr.Release()
	fields := append(append([]arrow.Field(nil), rec.Schema().Fields()...), arrow.Field{Name: keepColumn, Type: arrow.FixedWidthTypes.Boolean})
	cols := append(append([]arrow.Array(nil), rec.Columns()...), keepArr)
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

func (w *Warehouse) plan(ctx context.Context, b *Batch, res *Result) (*storePlan, error) {
	p := &storePlan{keeps: make([]arrow.RecordBatch, len(w.tables)), counts: map[TopicPartition]*Counts{}}
	countsOf := func(tp TopicPartition) *Counts {
		c := p.counts[tp]
		if c == nil {
			c = &Counts{}
			p.counts[tp] = c
		}
		return c
	}
	type candidate struct {
		table, row int
		id         string
	}
	rows := 0
	for _, rec := range b.Records {
		if rec != nil {
			rows += int(rec.NumRows())
		}
	}
	var (
		keeps      = make([][]bool, len(w.tables))
		hashes     = make([][]uint64, len(w.tables))
		candidates []candidate
		inBatch    = make(map[uint64]string, rows)
	)
	for ti, rec := range b.Records {
		if rec == nil || rec.NumRows() == 0 {
			continue
		}
		t := &w.tables[ti]
		ids := rec.Column(ColEventID).(*array.String)
		topics := rec.Column(t.Index(colKafkaTopic)).(*array.String)
		parts := rec.Column(t.Index(colKafkaPartition)).(*array.Int32)
		offs := rec.Column(t.Index(colKafkaOffset)).(*array.Int64)
		n := int(rec.NumRows())
		keep := make([]bool, n)
		hs := make([]uint64, n)
		for r := range n {
			tp := TopicPartition{Topic: topics.Value(r), Partition: int(parts.Value(r))}
			c := countsOf(tp)
			if w.stale(tp, offs.Value(r)) {
				c.Stale++
				continue
			}
			id := ids.Value(r)
			h := maphash.String(w.seen.seed, id)
			hs[r] = h
			if prev, ok := inBatch[h]; ok && prev == id {
				c.Duplicates++
				continue
			}
			if w.seen.Has(h) {
				// Almost surely a duplicate; the database has the last word.
				candidates = append(candidates, candidate{ti, r, strings.Clone(id)})
				continue
			}
			inBatch[h] = id
			keep[r] = true
		}
		keeps[ti], hashes[ti] = keep, hs
	}
	if len(candidates) > 0 {
		ids := make([]string, len(candidates))
		for i, c := range candidates {
			ids[i] = c.id
		}
		stored, err := w.storedIDs(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, c := range candidates {
			rec := b.Records[c.table]
			t := &w.tables[c.table]
			tp := TopicPartition{
				Topic:     rec.Column(t.Index(colKafkaTopic)).(*array.String).Value(c.row),
				Partition: int(rec.Column(t.Index(colKafkaPartition)).(*array.Int32).Value(c.row)),
			}
			h := hashes[c.table][c.row]
			if prev, ok := inBatch[h]; stored[c.id] || (ok && prev == c.id) {
				countsOf(tp).Duplicates++
				continue
			}
			inBatch[h] = c.id
			keeps[c.table][c.row] = true
		}
	}
	for ti, rec := range b.Records {
		if keeps[ti] == nil {
			continue
		}
		t := &w.tables[ti]
		topics := rec.Column(t.Index(colKafkaTopic)).(*array.String)
		parts := rec.Column(t.Index(colKafkaPartition)).(*array.Int32)
		kept := int64(0)
		for r, k := range keeps[ti] {
			if !k {
				continue
			}
			kept++
			p.newIDs = append(p.newIDs, hashes[ti][r])
			c := countsOf(TopicPartition{Topic: topics.Value(r), Partition: int(parts.Value(r))})
			c.Stored++
			if t.Name == UnknownTable {
				c.Unknown++
			}
		}
		if kept > 0 {
			p.keeps[ti] = withKeep(rec, keeps[ti])
			res.PerTable[t.Name] = kept
		}
	}
	if rec := b.Refused; rec != nil && rec.NumRows() > 0 {
		topics := rec.Column(0).(*array.String)
		parts := rec.Column(1).(*array.Int32)
		offs := rec.Column(2).(*array.Int64)
		keep := make([]bool, rec.NumRows())
		kept := 0
		for r := range keep {
			tp := TopicPartition{Topic: topics.Value(r), Partition: int(parts.Value(r))}
			c := countsOf(tp)
			if w.stale(tp, offs.Value(r)) {
				c.Stale++
				continue
			}
			keep[r] = true
			c.Refused++
			kept++
		}
		if kept > 0 {
			p.refused = withKeep(rec, keep)
		}
	}
	for tp := range b.Ends {
		countsOf(tp)
	}
	for tp, c := range p.counts {
		res.PerPartition[tp] = *c
	}
	return p, nil
}

// stale reports whether a message lies below its partition's stored
// offset: already stored, refused or skipped in an earlier batch.
func (w *Warehouse) stale(tp TopicPartition, offset int64) bool {
	next, ok := w.offsets[tp]
	return ok && offset < next
}

// storedIDs says which of ids are stored in any raw table.
func (w *Warehouse) storedIDs(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(ids); start += 1000 {
		chunk := ids[start:min(start+1000, len(ids))]
		quoted := make([]string, len(chunk))
		for i, id := range chunk {
			quoted[i] = "'" + sqlString(id) + "'"
		}
		rows, err := w.writer.QueryContext(ctx,
			"SELECT DISTINCT event_id FROM raw.events WHERE event_id IN ("+strings.Join(quoted, ",")+")")
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = true
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (w *Warehouse) write(ctx context.Context, b *Batch, p *storePlan) (err error) {
	// DuckDB's now() is the transaction's start, which two quick batches
	// can share; a stamp from Go that never repeats or goes back keeps
	// "ingested after" exact for incremental transforms.
	stamp := time.Now().UTC().Truncate(time.Microsecond)
	if !stamp.After(w.stamp) {
		stamp = w.stamp.Add(time.Microsecond)
	}
	lit := "TIMESTAMPTZ '" + stamp.Format("2006-01-02 15:04:05.999999Z07:00") + "'"
	if _, err := w.writer.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// A failed statement may already have aborted the transaction.
			if _, rbErr := w.writer.ExecContext(context.Background(), "ROLLBACK"); rbErr != nil && !strings.Contains(rbErr.Error(), "no transaction") {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	for ti, rec := range p.keeps {
		if rec == nil {
			continue
		}
		if err := w.insertArrow(ctx, "raw."+w.tables[ti].Name, "ingested_at", lit, rec); err != nil {
			return fmt.Errorf("raw.%s: %w", w.tables[ti].Name, err)
		}
	}
	if p.refused != nil {
		if err := w.insertArrow(ctx, "ops.refused_events", "refused_at", lit, p.refused); err != nil {
			return fmt.Errorf("ops.refused_events: %w", err)
		}
	}
	if len(b.Ends) > 0 {
		// One statement for every partition of the batch: an upsert costs
		// milliseconds, so one per partition would add up.
		var values []string
		var args []any
		for tp, end := range b.Ends {
			c := p.counts[tp]
			values = append(values, "(?, ?, ?, ?, ?, ?, ?, "+lit+")")
			args = append(args, tp.Topic, tp.Partition, end, c.Stored, c.Refused, c.Duplicates, c.Unknown)
		}
		if _, err := w.writer.ExecContext(ctx, `INSERT INTO ops.kafka_offsets AS o
			(topic, partition, next_offset, stored_events, refused_events, duplicate_events, unknown_events, updated_at)
			VALUES `+strings.Join(values, ", ")+`
			ON CONFLICT (topic, partition) DO UPDATE SET
				next_offset = greatest(o.next_offset, excluded.next_offset),
				stored_events = o.stored_events + excluded.stored_events,
				refused_events = o.refused_events + excluded.refused_events,
				duplicate_events = o.duplicate_events + excluded.duplicate_events,
				unknown_events = o.unknown_events + excluded.unknown_events,
				updated_at = excluded.updated_at`, args...); err != nil {
			return fmt.Errorf("ops.kafka_offsets: %w", err)
		}
	}
	if _, err = w.writer.ExecContext(ctx, "COMMIT"); err == nil {
		w.stamp = stamp
	}
	return err
}

// insertArrow inserts the rows of rec whose _keep is true into table,
// setting timeColumn to stamp (a SQL literal).
func (w *Warehouse) insertArrow(ctx context.Context, table, timeColumn, stamp string, rec arrow.RecordBatch) error {
	w.views++
	view := fmt.Sprintf("pulse_ingest_%d", w.views)
	if w.cconn != nil {
		v, err := newArrayView(w.cconn, view, rec)
		if err != nil {
			return err
		}
		defer v.close()
	} else {
		reader, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
		if err != nil {
			return err
		}
		defer reader.Release()
		release, err := w.arrow.RegisterView(reader, view)
		if err != nil {
			return err
		}
		defer release()
	}
	_, err := w.writer.ExecContext(ctx, fmt.Sprintf(
		"INSERT INTO %s BY NAME SELECT * EXCLUDE (%s), %s AS %s FROM %s WHERE %s",
		table, keepColumn, stamp, timeColumn, view, keepColumn))
	if _, dropErr := w.writer.ExecContext(context.Background(), "DROP VIEW IF EXISTS "+view); dropErr != nil && err == nil {
		err = dropErr
	}
	return err
}

func (w *Warehouse) loadEventIDs(ctx context.Context) (_ *idSet, err error) {
	s := newIDSet()
	defer func() {
		if err != nil {
			s.free()
		}
	}()
	for _, t := range w.tables {
		reader, err := w.arrow.QueryContext(ctx, "SELECT event_id FROM raw."+t.Name)
		if err != nil {
			return nil, fmt.Errorf("loading event ids of raw.%s: %w", t.Name, err)
		}
		for reader.Next() {
			col := reader.RecordBatch().Column(0)
			switch ids := col.(type) {
			case *array.String:
				for i := range ids.Len() {
					s.Add(maphash.String(s.seed, ids.Value(i)))
				}
			case *array.StringView:
				for i := range ids.Len() {
					s.Add(maphash.String(s.seed, ids.Value(i)))
				}
			default:
				reader.Release()
				return nil, fmt.Errorf("loading event ids of raw.%s: unexpected Arrow type %s", t.Name, col.DataType())
			}
		}
		err = reader.Err()
		reader.Release()
		if err != nil {
			return nil, fmt.Errorf("loading event ids of raw.%s: %w", t.Name, err)
		}
	}
	return s, nil
}
