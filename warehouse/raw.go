package warehouse

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pulsekpi/pulse/event"
)

// Column is one column of a raw table.
type Column struct {
	Name    string
	SQLType string // as information_schema.columns.data_type spells it
	NotNull bool
	Arrow   arrow.DataType
}

// RawTable is the layout of one raw table, derived from the event contract.
// Ingest builds Arrow records with Schema; the migrations create the table;
// Open checks that the two agree.
type RawTable struct {
	Name    string     // table name inside schema raw
	Type    event.Type // zero for unknown_events
	Columns []Column
	Schema  *arrow.Schema
}

// Positions of the columns every raw table has, so that the store can read
// them out of a record without looking them up.
const (
	ColEventID    = 0
	ColOccurredAt = 1
	ColRecordedAt = 2
)

// Envelope and Kafka column names shared by every raw table.
const (
	colKafkaTopic     = "kafka_topic"
	colKafkaPartition = "kafka_partition"
	colKafkaOffset    = "kafka_offset"
	colKafkaKey       = "kafka_key"
	colIngestedAt     = "ingested_at"
	// UnknownTable keeps events of types the contract does not name.
	UnknownTable = "unknown_events"
)

var (
	tsType    = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	moneyType = &arrow.Decimal128Type{Precision: 18, Scale: 2}
)

func kindColumn(f event.Field) Column {
	c := Column{Name: f.Name, NotNull: f.Required || f.DefaultFalse}
	switch f.Kind {
	case event.KindID, event.KindText, event.KindEnum:
		c.SQLType, c.Arrow = "VARCHAR", arrow.BinaryTypes.String
	case event.KindTime:
		c.SQLType, c.Arrow = "TIMESTAMP WITH TIME ZONE", tsType
	case event.KindDate, event.KindMonth:
		c.SQLType, c.Arrow = "DATE", arrow.FixedWidthTypes.Date32
	case event.KindMoney:
		c.SQLType, c.Arrow = "DECIMAL(18,2)", moneyType
	case event.KindBool:
		c.SQLType, c.Arrow = "BOOLEAN", arrow.FixedWidthTypes.Boolean
	case event.KindInt:
		c.SQLType, c.Arrow = "BIGINT", arrow.PrimitiveTypes.Int64
	case event.KindNumber:
		c.SQLType, c.Arrow = "DOUBLE", arrow.PrimitiveTypes.Float64
	default:
		panic(fmt.Sprintf("field %s: kind %v has no column type", f.Name, f.Kind))
	}
	return c
}

// RawTables returns the layout of every raw table: one per known event type
// in contract order, then unknown_events.
func RawTables() []RawTable {
	str := arrow.BinaryTypes.String
	head := []Column{
		{Name: "event_id", SQLType: "VARCHAR", NotNull: true, Arrow: str},
		{Name: "occurred_at", SQLType: "TIMESTAMP WITH TIME ZONE", NotNull: true, Arrow: tsType},
		{Name: "recorded_at", SQLType: "TIMESTAMP WITH TIME ZONE", NotNull: true, Arrow: tsType},
	}
	tail := []Column{
		{Name: "extra", SQLType: "JSON", Arrow: str},
		{Name: "envelope_extra", SQLType: "JSON", Arrow: str},
		{Name: colKafkaTopic, SQLType: "VARCHAR", NotNull: true, Arrow: str},
		{Name: colKafkaPartition, SQLType: "INTEGER", NotNull: true, Arrow: arrow.PrimitiveTypes.Int32},
		{Name: colKafkaOffset, SQLType: "BIGINT", NotNull: true, Arrow: arrow.PrimitiveTypes.Int64},
		{Name: colKafkaKey, SQLType: "VARCHAR", Arrow: str},
	}
	var out []RawTable
	for _, t := range event.Types() {
		cols := append([]Column(nil), head...)
		for _, f := range t.Fields {
			cols = append(cols, kindColumn(f))
		}
		cols = append(cols, tail...)
		out = append(out, newRawTable(t.Table, t, cols))
	}
	unknown := append([]Column(nil), head...)
	unknown = append(unknown, Column{Name: "event_type", SQLType: "VARCHAR", NotNull: true, Arrow: str})
	// An unknown type keeps its whole data object, queryable as JSON.
	unknown = append(unknown, Column{Name: "data", SQLType: "JSON", Arrow: str})
	unknown = append(unknown, tail[1:]...)
	out = append(out, newRawTable(UnknownTable, event.Type{}, unknown))
	return out
}

func newRawTable(name string, t event.Type, cols []Column) RawTable {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Arrow, Nullable: !c.NotNull}
	}
	return RawTable{Name: name, Type: t, Columns: cols, Schema: arrow.NewSchema(fields, nil)}
}

// Index returns the position of a column, or -1.
func (t RawTable) Index(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// DDL is the CREATE TABLE statement of the table, as the migrations hold it.
func (t RawTable) DDL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE raw.%s (\n", t.Name)
	for _, c := range t.Columns {
		nn := ""
		if c.NotNull {
			nn = " NOT NULL"
		}
		fmt.Fprintf(&b, "    %s %s%s,\n", c.Name, sqlDeclType(c.SQLType), nn)
	}
	fmt.Fprintf(&b, "    %s TIMESTAMPTZ NOT NULL\n);\n", colIngestedAt)
	return b.String()
}

func sqlDeclType(t string) string {
	if t == "TIMESTAMP WITH TIME ZONE" {
		return "TIMESTAMPTZ"
	}
	return t
}

// refusedColumns is the layout of ops.refused_events (refused_at is set on
// insert).
var refusedColumns = []Column{
	{Name: colKafkaTopic, SQLType: "VARCHAR", NotNull: true, Arrow: arrow.BinaryTypes.String},
	{Name: colKafkaPartition, SQLType: "INTEGER", NotNull: true, Arrow: arrow.PrimitiveTypes.Int32},
	{Name: colKafkaOffset, SQLType: "BIGINT", NotNull: true, Arrow: arrow.PrimitiveTypes.Int64},
	{Name: colKafkaKey, SQLType: "VARCHAR", Arrow: arrow.BinaryTypes.String},
	{Name: "raw", SQLType: "BLOB", Arrow: arrow.BinaryTypes.Binary},
	{Name: "raw_size", SQLType: "BIGINT", NotNull: true, Arrow: arrow.PrimitiveTypes.Int64},
	{Name: "reason_code", SQLType: "VARCHAR", NotNull: true, Arrow: arrow.BinaryTypes.String},
	{Name: "reason", SQLType: "VARCHAR", NotNull: true, Arrow: arrow.BinaryTypes.String},
}

// RefusedSchema returns the Arrow schema of refused-event batches.
func RefusedSchema() *arrow.Schema {
	return newRawTable("refused_events", event.Type{}, refusedColumns).Schema
}
