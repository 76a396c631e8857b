package warehouse

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestInsertArrowFreesCMemory: every batch goes into DuckDB through a view
// over an Arrow record. duckdb-go's RegisterView left ~20 KB of C memory
// behind per view of 20 columns (schemas DuckDB asks for and never
// releases), which the soak saw as resident memory climbing by ~1 GB an
// hour; the view must now cost nothing that stays.
func TestInsertArrowFreesCMemory(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, Options{Dir: t.TempDir(), Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.cconn == nil {
		t.Fatal("Arrow batches fall back to RegisterView: duckdb-go's connection layout changed (see arrowscan.go)")
	}

	fields := make([]arrow.Field, 0, 21)
	cols := make([]string, 0, 20)
	for i := range 20 {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("c%d", i), Type: arrow.BinaryTypes.String, Nullable: true})
		cols = append(cols, fmt.Sprintf("c%d VARCHAR", i))
	}
	fields = append(fields, arrow.Field{Name: keepColumn, Type: arrow.FixedWidthTypes.Boolean})
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for r := range 10 {
		for i := range 20 {
			b.Field(i).(*array.StringBuilder).Append(fmt.Sprint(r, i))
		}
		b.Field(20).(*array.BooleanBuilder).Append(r%2 == 0)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if _, err := w.writer.ExecContext(ctx, "CREATE TABLE t (ts TIMESTAMPTZ, "+strings.Join(cols, ", ")+")"); err != nil {
		t.Fatal(err)
	}

	inUse := func() int64 {
		b, ok := cMemoryBytes("glibc", "in_use")
		if !ok {
			t.Fatal("no glibc malloc statistics on this machine")
		}
		return b
	}
	insert := func(n int) {
		for range n {
			if err := w.insertArrow(ctx, "t", "ts", "now()", rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	insert(100) // caches, first-use allocations
	before := inUse()
	const n = 2000
	insert(n)
	perBatch := (inUse() - before) / n
	t.Logf("C memory left per batch: %d bytes", perBatch)
	// DuckDB keeps ~100 bytes of row-version information per uncommitted
	// append until a checkpoint; the leak was 200 times that.
	if perBatch > 1024 {
		t.Errorf("each batch left %d bytes of C memory behind, want under 1 KB", perBatch)
	}
	var rows, kept int
	if err := w.writer.QueryRowContext(ctx, "SELECT count(*), count(*) FILTER (WHERE c0 = '0 0') FROM t").Scan(&rows, &kept); err != nil {
		t.Fatal(err)
	}
	if want := (100 + n) * 5; rows != want || kept != 100+n {
		t.Errorf("stored %d rows (%d of the first), want %d (%d): only rows with _keep", rows, kept, want, 100+n)
	}
}

// cMemoryBytes picks one statistic out of ReadCMemory.
func cMemoryBytes(allocator, state string) (int64, bool) {
	for _, m := range ReadCMemory() {
		if m.Allocator == allocator && m.State == state {
			return m.Bytes, true
		}
	}
	return 0, false
}
