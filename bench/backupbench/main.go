// Command backupbench measures Warehouse.Backup and Restore on a copy of a
// large warehouse (bench/serverbench's base.duckdb: 10M events and the
// marts of a full rebuild): the backup's time and size, the restore's
// time, and the restored database's size. The warehouse is opened as
// `pulse run` opens it; nothing else runs.
//
//	cp /var/tmp/serverbench/base.duckdb /var/tmp/backupbench/pulse.duckdb
//	GOMAXPROCS=2 go run -tags duckdb_arrow ./bench/backupbench -dir /var/tmp/backupbench
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pulsekpi/pulse/warehouse"
)

func main() {
	dir := flag.String("dir", "/var/tmp/backupbench", "folder holding pulse.duckdb (a copy: it is opened and migrated)")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "backupbench:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	ctx := context.Background()
	st, err := os.Stat(filepath.Join(dir, "pulse.duckdb"))
	if err != nil {
		return err
	}
	start := time.Now()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: dir})
	if err != nil {
		return err
	}
	fmt.Printf("open: %.1fs, database %.0f MB\n", time.Since(start).Seconds(), float64(st.Size())/1e6)
	target := filepath.Join(dir, "backup")
	os.RemoveAll(target)
	start = time.Now()
	m, err := w.Backup(ctx, target)
	if err != nil {
		return err
	}
	took := time.Since(start)
	if err := w.Close(); err != nil {
		return err
	}
	fmt.Printf("backup: %.1fs, %d tables, %d rows, %.0f MB of Parquet\n", took.Seconds(), len(m.Tables), m.TotalRows(), float64(m.TotalBytes())/1e6)
	for _, t := range m.Tables {
		if t.Rows >= 100_000 {
			fmt.Printf("  %-32s %10d rows %8.1f MB\n", t.Qualified(), t.Rows, float64(t.Bytes)/1e6)
		}
	}
	restored := filepath.Join(dir, "restored")
	os.RemoveAll(restored)
	start = time.Now()
	if err := warehouse.Restore(ctx, target, warehouse.Options{Dir: restored}); err != nil {
		return err
	}
	took = time.Since(start)
	st, err = os.Stat(filepath.Join(restored, "pulse.duckdb"))
	if err != nil {
		return err
	}
	fmt.Printf("restore: %.1fs, database %.0f MB (raw and ops only; marts are rebuilt by the first run)\n", took.Seconds(), float64(st.Size())/1e6)
	return nil
}
