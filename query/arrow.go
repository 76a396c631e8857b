package query

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// arrowOut writes a result as Parquet or Arrow IPC.
type arrowOut struct {
	format Format
	w      io.Writer
}

// streamArrow runs q through DuckDB's Arrow interface. The record batches
// (at most MaxRows+1 rows, as the query carries that LIMIT) are held until
// the end so that truncation can go into the Arrow schema metadata, and so
// that nothing is written if reading fails.
func (r *Runner) streamArrow(ctx context.Context, c *duckdb.Conn, q string, params []any, o *arrowOut, sum *Summary, start time.Time) error {
	a, err := duckdb.NewArrowFromConn(c)
	if err != nil {
		return err
	}
	// q was just prepared and checked to be one SELECT statement, so
	// Arrow.QueryContext (which executes all statements but the last)
	// runs exactly that.
	rr, err := a.QueryContext(ctx, q, params...)
	if err != nil {
		return err
	}
	defer rr.Release()
	schema := rr.Schema()
	var recs []arrow.RecordBatch
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	for rr.Next() {
		rec := rr.RecordBatch()
		n := int(rec.NumRows())
		left := r.opts.MaxRows - sum.RowCount
		if n > left {
			sum.Truncated = true
			if left > 0 {
				recs = append(recs, rec.NewSlice(0, int64(left)))
				sum.RowCount += left
			}
			break
		}
		rec.Retain()
		recs = append(recs, rec)
		sum.RowCount += n
	}
	if err := rr.Err(); err != nil && !sum.Truncated {
		return err
	}
	for _, f := range schema.Fields() {
		sum.Columns = append(sum.Columns, Column{Name: f.Name, Type: f.Type.String()})
	}
	md := arrow.NewMetadata(
		[]string{"pulse.truncated", "pulse.row_count"},
		[]string{strconv.FormatBool(sum.Truncated), strconv.Itoa(sum.RowCount)})
	schema = arrow.NewSchema(schema.Fields(), &md)
	sum.Elapsed = time.Since(start)

	switch o.format {
	case FormatArrow:
		w := ipc.NewWriter(o.w, ipc.WithSchema(schema))
		for _, rec := range recs {
			if err := w.Write(rec); err != nil {
				return abort(err)
			}
		}
		if err := w.Close(); err != nil {
			return abort(err)
		}
	case FormatParquet:
		if err := writeParquet(o.w, schema, recs); err != nil {
			return err
		}
	default:
		return errors.New("query: not an Arrow format")
	}
	return nil
}
