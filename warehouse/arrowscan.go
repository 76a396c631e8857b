package warehouse

// Batches reach DuckDB as Arrow through a view over the record. duckdb-go's
// Arrow.RegisterView leaks: it hands DuckDB an ArrowArrayStream exported by
// arrow-go, whose get_schema exports a fresh ArrowSchema on every call, and
// DuckDB's duckdb_arrow_scan asks for the schema about five times per view
// and releases none of them (by design of its C API: the root schema's
// release is nulled, "the caller's responsibility"). With a raw table's ~20
// columns that is ~20 KB of C memory per batch, never returned: +1 GB an
// hour at 10,000 events/s in the soak. duckdb_arrow_array_scan instead wraps
// one schema and one array that the caller owns and frees, so nothing is
// allocated per call. duckdb-go does not expose it, nor the C connection it
// needs; cConnection reads that from duckdb-go's connection, and Open falls
// back to RegisterView (with a warning) if duckdb-go's layout ever changes.

/*
#include <stdlib.h>

// From duckdb.h (DuckDB's C API, linked in through duckdb-go-bindings);
// declared here with opaque pointers so that this package needs no include
// path into the module cache.
extern int duckdb_arrow_array_scan(void *connection, const char *table_name, void *arrow_schema, void *arrow_array, void **out_stream);
extern void duckdb_destroy_arrow_stream(void **stream_p);

static int pulse_arrow_array_scan(void *conn, const char *name, void *schema, void *array, void **stream) {
	return duckdb_arrow_array_scan(conn, name, schema, array, stream);
}

static void pulse_destroy_arrow_stream(void *stream) {
	duckdb_destroy_arrow_stream(&stream);
}
*/
import "C"

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/cdata"
)

// cConnection returns the duckdb_connection under a duckdb-go connection:
// the field conn of *duckdb.Conn, a duckdb-go-bindings Connection holding
// the C pointer. It checks the shape it relies on and errs if it changed.
func cConnection(dc driver.Conn) (unsafe.Pointer, error) {
	v := reflect.ValueOf(dc)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("duckdb-go connection is a %T, not a pointer to a struct", dc)
	}
	f := v.Elem().FieldByName("conn")
	if !f.IsValid() || f.Kind() != reflect.Struct || f.Type().Name() != "Connection" ||
		f.Type().PkgPath() != "github.com/duckdb/duckdb-go-bindings" ||
		f.NumField() != 1 || f.Type().Field(0).Name != "Ptr" || f.Field(0).Kind() != reflect.UnsafePointer {
		return nil, errors.New("duckdb-go's connection no longer holds a duckdb-go-bindings Connection in its field conn")
	}
	p := *(*unsafe.Pointer)(unsafe.Pointer(f.UnsafeAddr()))
	if p == nil {
		return nil, errors.New("duckdb-go connection has no C connection")
	}
	return p, nil
}

// arrayView is a view over one Arrow record, made by duckdb_arrow_array_scan.
// The schema, the array and the stream DuckDB wraps around them are ours to
// free, which close does.
type arrayView struct {
	schema *cdata.CArrowSchema
	array  *cdata.CArrowArray
	stream unsafe.Pointer
}

// newArrayView exports rec and makes DuckDB's view name over it on conn. The
// record is retained by the export until close.
func newArrayView(conn unsafe.Pointer, name string, rec arrow.RecordBatch) (*arrayView, error) {
	// The structs live in C memory: DuckDB keeps pointers to them after
	// the call returns, which Go memory may not be given to.
	v := &arrayView{
		schema: (*cdata.CArrowSchema)(C.calloc(1, C.size_t(unsafe.Sizeof(cdata.CArrowSchema{})))),
		array:  (*cdata.CArrowArray)(C.calloc(1, C.size_t(unsafe.Sizeof(cdata.CArrowArray{})))),
	}
	cdata.ExportArrowRecordBatch(rec, v.array, v.schema)
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var stream unsafe.Pointer
	state := C.pulse_arrow_array_scan(conn, cname, unsafe.Pointer(v.schema), unsafe.Pointer(v.array), &stream)
	v.stream = stream
	if state != 0 {
		v.close()
		return nil, fmt.Errorf("duckdb_arrow_array_scan could not make view %s", name)
	}
	return v, nil
}

// close frees DuckDB's stream, then the exported array and schema (which
// releases the record).
func (v *arrayView) close() {
	if v.stream != nil {
		C.pulse_destroy_arrow_stream(v.stream)
		v.stream = nil
	}
	cdata.ReleaseCArrowArray(v.array)
	cdata.ReleaseCArrowSchema(v.schema)
	C.free(unsafe.Pointer(v.array))
	C.free(unsafe.Pointer(v.schema))
}
