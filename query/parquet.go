package query

import (
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

func writeParquet(w io.Writer, schema *arrow.Schema, recs []arrow.RecordBatch) error {
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	// Check the schema converts before writing a byte.
	if _, err := pqarrow.ToParquet(schema, props, pqarrow.DefaultWriterProps()); err != nil {
		return errorf(ErrNotAcceptable, "the result cannot be written as Parquet: %v", err)
	}
	fw, err := pqarrow.NewFileWriter(schema, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return abort(err)
	}
	for _, rec := range recs {
		if err := fw.WriteBuffered(rec); err != nil {
			return abort(err)
		}
	}
	if err := fw.Close(); err != nil {
		return abort(err)
	}
	return nil
}
