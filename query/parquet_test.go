package query_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pulsekpi/pulse/query"
)

func TestParquet(t *testing.T) {
	e := setup(t)
	r := newRunner(t, e.db, query.Options{})
	var buf bytes.Buffer
	if _, err := r.Stream(context.Background(), query.Request{SQL: kpiSQL, Params: []any{"calls"}}, query.FormatParquet, &buf); err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if v := pf.MetaData().KeyValueMetadata().FindValue("pulse.truncated"); v == nil || *v != "false" {
		t.Fatalf("metadata %v", pf.MetaData().KeyValueMetadata())
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	checkRecords(t, rr.Schema(), collect(t, rr))
}
