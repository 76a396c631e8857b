package ingest

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pulsekpi/pulse/event"
	"github.com/pulsekpi/pulse/warehouse"
)

// message is what the batcher needs of a Kafka message.
type message struct {
	Topic         string
	Partition     int
	Offset        int64
	HighWaterMark int64
	Key           []byte
	Value         []byte
}

// batch accumulates decoded events as Arrow columns, one record builder per
// raw table, until it is flushed. It is owned by one goroutine.
type batch struct {
	tables   []warehouse.RawTable
	builders []*array.RecordBuilder
	refused  *array.RecordBuilder
	rows     int
	bytes    int64
	ends     map[warehouse.TopicPartition]int64
	hwm      map[warehouse.TopicPartition]int64
	maxRaw   int
}

func newBatch(tables []warehouse.RawTable, maxRaw int) *batch {
	return &batch{
		tables:   tables,
		builders: make([]*array.RecordBuilder, len(tables)),
		ends:     map[warehouse.TopicPartition]int64{},
		hwm:      map[warehouse.TopicPartition]int64{},
		maxRaw:   maxRaw,
	}
}

func (b *batch) empty() bool { return b.rows == 0 && len(b.ends) == 0 }

// track records that a message was read, whatever becomes of it.
func (b *batch) track(m *message) {
	tp := warehouse.TopicPartition{Topic: m.Topic, Partition: m.Partition}
	if m.Offset+1 > b.ends[tp] {
		b.ends[tp] = m.Offset + 1
	}
	if m.HighWaterMark > b.hwm[tp] {
		b.hwm[tp] = m.HighWaterMark
	}
	b.rows++
	b.bytes += int64(len(m.Value)) + int64(len(m.Key))
}

func (b *batch) builder(i int) *array.RecordBuilder {
	if b.builders[i] == nil {
		b.builders[i] = array.NewRecordBuilder(memory.DefaultAllocator, b.tables[i].Schema)
	}
	return b.builders[i]
}

// addEvent appends a valid event; table is the raw table index (the event
// type index, or the last table for unknown types).
func (b *batch) addEvent(m *message, ev *event.Event, table int) {
	b.track(m)
	rb := b.builder(table)
	f := rb.Fields()
	appendBytes(f[0], ev.ID)
	f[1].(*array.TimestampBuilder).Append(arrow.Timestamp(ev.OccurredAt))
	f[2].(*array.TimestampBuilder).Append(arrow.Timestamp(ev.RecordedAt))
	col := 3
	if ev.Type < 0 {
		appendBytes(f[col], ev.TypeName)
		col++
	} else {
		fields := b.tables[table].Type.Fields
		for i := range fields {
			appendValue(f[col], fields[i].Kind, &ev.Values[i])
			col++
		}
	}
	appendBytes(f[col], ev.Extra)
	appendBytes(f[col+1], ev.EnvelopeExtra)
	appendKafka(f[col+2:], m)
}

func appendKafka(f []array.Builder, m *message) {
	f[0].(*array.StringBuilder).Append(m.Topic)
	f[1].(*array.Int32Builder).Append(int32(m.Partition))
	f[2].(*array.Int64Builder).Append(m.Offset)
	appendBytes(f[3], validUTF8(m.Key))
}

// addRefused records a message that broke the contract.
func (b *batch) addRefused(m *message, r *event.Refusal) {
	b.track(m)
	if b.refused == nil {
		b.refused = array.NewRecordBuilder(memory.DefaultAllocator, warehouse.RefusedSchema())
	}
	f := b.refused.Fields()
	appendKafka(f[:4], m)
	raw := m.Value
	if len(raw) > b.maxRaw {
		raw = raw[:b.maxRaw]
	}
	f[4].(*array.BinaryBuilder).Append(raw)
	f[5].(*array.Int64Builder).Append(int64(len(m.Value)))
	f[6].(*array.StringBuilder).Append(r.Code)
	f[7].(*array.StringBuilder).Append(r.Reason)
}

// finish turns the builders into a warehouse batch. The caller releases it
// with releaseBatch after storing.
func (b *batch) finish() *warehouse.Batch {
	out := &warehouse.Batch{Records: make([]arrow.RecordBatch, len(b.tables)), Ends: b.ends}
	for i, rb := range b.builders {
		if rb != nil {
			out.Records[i] = rb.NewRecordBatch()
			rb.Release()
		}
	}
	if b.refused != nil {
		out.Refused = b.refused.NewRecordBatch()
		b.refused.Release()
	}
	return out
}

func releaseBatch(wb *warehouse.Batch) {
	for _, r := range wb.Records {
		if r != nil {
			r.Release()
		}
	}
	if wb.Refused != nil {
		wb.Refused.Release()
	}
}

func appendBytes(bld array.Builder, v []byte) {
	sb := bld.(*array.StringBuilder)
	if v == nil {
		sb.AppendNull()
		return
	}
	sb.BinaryBuilder.Append(v)
}

func appendValue(bld array.Builder, kind event.Kind, v *event.Value) {
	if v.Null {
		bld.AppendNull()
		return
	}
	switch kind {
	case event.KindID, event.KindText, event.KindEnum:
		bld.(*array.StringBuilder).BinaryBuilder.Append(v.Bytes)
	case event.KindTime:
		bld.(*array.TimestampBuilder).Append(arrow.Timestamp(v.Int))
	case event.KindDate, event.KindMonth:
		bld.(*array.Date32Builder).Append(arrow.Date32(v.Int))
	case event.KindMoney:
		bld.(*array.Decimal128Builder).Append(decimal128.FromI64(v.Int))
	case event.KindBool:
		bld.(*array.BooleanBuilder).Append(v.Int != 0)
	case event.KindInt:
		bld.(*array.Int64Builder).Append(v.Int)
	case event.KindNumber:
		bld.(*array.Float64Builder).Append(v.Float)
	default:
		panic(fmt.Sprintf("kind %v has no Arrow builder", kind))
	}
}

// validUTF8 keeps keys storable as VARCHAR; the raw bytes of a refused
// message are kept as a BLOB, untouched.
func validUTF8(b []byte) []byte {
	if b == nil || utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}
