// Command medianbench measures the C memory DuckDB's median() takes outside
// its buffer pool, against two exact ways to get the same medians: soak run
// 7 traced the glibc peaks of long transform runs to median()'s state, a
// std::vector holding every value of its group, which memory_limit does not
// see. Each query takes the median per employee and for everyone (ROLLUP)
// over n values in 60 groups, in a warehouse opened as `pulse run` opens
// it; a goroutine samples glibc's bytes in use (and mapped) every 2 ms.
//
//	GOMAXPROCS=2 go run -tags duckdb_arrow ./bench/medianbench -n 20000000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/pulsekpi/pulse/warehouse"
)

func main() {
	n := flag.Int("n", 20_000_000, "values")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "medianbench:", err)
		os.Exit(1)
	}
}

// The three must give the same medians; run checks that they do.
var queries = []struct{ name, sql string }{
	{"median()", `SELECT emp, median(x) AS m FROM t GROUP BY ROLLUP (emp)`},
	{"list_median(list())", `SELECT emp, list_median(list(x)) AS m FROM t GROUP BY ROLLUP (emp)`},
	{"row_number() window", `SELECT emp, avg(x) AS m FROM (
		SELECT emp, x, row_number() OVER (PARTITION BY emp ORDER BY x) AS rn, count(*) OVER (PARTITION BY emp) AS c
		FROM (SELECT emp, x FROM t UNION ALL SELECT NULL, x FROM t))
	WHERE rn IN ((c + 1) // 2, (c + 2) // 2) GROUP BY emp`},
}

func run(n int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "medianbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: dir, Threads: 1, MemoryLimit: "1GB", CheckpointThreshold: "256MB"})
	if err != nil {
		return err
	}
	defer w.Close()
	if _, err := w.DB().ExecContext(ctx, fmt.Sprintf(
		`CREATE TABLE t AS SELECT (i %% 60)::INTEGER AS emp, round(random() * 1000, 1)::DOUBLE AS x FROM range(%d) r(i)`, n)); err != nil {
		return err
	}
	fmt.Printf("%d values in 60 groups, plus everyone; DuckDB threads=1, memory_limit=1GB\n\n", n)
	fmt.Println("| query | time | glibc peak above the start |")
	fmt.Println("| --- | ---: | ---: |")
	var want map[any]float64
	for _, q := range queries {
		base := glibc()
		var peak atomic.Int64
		done := make(chan struct{})
		go func() {
			for t := time.NewTicker(2 * time.Millisecond); ; {
				select {
				case <-done:
					t.Stop()
					return
				case <-t.C:
					if v := glibc(); v > peak.Load() {
						peak.Store(v)
					}
				}
			}
		}()
		start := time.Now()
		got, err := medians(ctx, w, q.sql)
		took := time.Since(start)
		close(done)
		if err != nil {
			return fmt.Errorf("%s: %w", q.name, err)
		}
		if want == nil {
			want = got
		}
		for k, v := range want {
			if got[k] != v {
				return fmt.Errorf("%s: median of group %v is %v, median() says %v", q.name, k, got[k], v)
			}
		}
		fmt.Printf("| %s | %.2f s | %d MiB |\n", q.name, took.Seconds(), max(0, peak.Load()-base)>>20)
	}
	return nil
}

func medians(ctx context.Context, w *warehouse.Warehouse, q string) (map[any]float64, error) {
	rows, err := w.DB().QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[any]float64{}
	for rows.Next() {
		var emp any
		var m float64
		if err := rows.Scan(&emp, &m); err != nil {
			return nil, err
		}
		out[emp] = m
	}
	return out, rows.Err()
}

// glibc is the C library's bytes in use plus those it mapped on their own.
func glibc() int64 {
	var b int64
	for _, m := range warehouse.ReadCMemory() {
		if m.Allocator == "glibc" && (m.State == "in_use" || m.State == "mapped") {
			b += m.Bytes
		}
	}
	return b
}
