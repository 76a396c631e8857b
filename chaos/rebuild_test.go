package chaos

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

// checkMartsEqualRebuild copies the stopped warehouse, rebuilds every
// model of the copy whole, in-process, at the instant of Pulse's last run,
// and compares marts.kpis_computed as Pulse left it (incremental runs,
// kills mid-run and all) with the rebuild.
func checkMartsEqualRebuild(t *testing.T, dbPath string, last transform.Run) {
	t.Helper()
	dir := t.TempDir()
	for _, suffix := range []string{"", ".wal"} {
		if err := copyFile(dbPath+suffix, filepath.Join(dir, "pulse.duckdb"+suffix)); err != nil && !(suffix != "" && os.IsNotExist(err)) {
			t.Fatalf("copying the warehouse: %v", err)
		}
	}
	ctx := context.Background()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: dir})
	if err != nil {
		t.Fatalf("opening the copy: %v", err)
	}
	defer w.Close()
	db := w.DB()
	if _, err := db.ExecContext(ctx, `CREATE TABLE main.chaos_incremental AS SELECT * FROM marts.kpis_computed`); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default() // what the binary ran with: no file, no settings of the transforms
	tr, err := transform.New(db, transform.Options{Params: transform.DefaultParams(),
		Macros: alert.Statements(cfg.AlertRules()), Now: func() time.Time { return last.AsOf }})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	run, err := tr.RunNow(ctx, transform.RunRequest{Full: true})
	if err != nil || run.Status != transform.StatusOK {
		t.Fatalf("full rebuild of the copy: %v %s %s", err, run.Status, run.Error)
	}
	// The rebuild saw what the last run saw, with the same parameters.
	var lastParams, rebuildParams string
	db.QueryRowContext(ctx, `SELECT params_hash FROM ops.transform_runs WHERE run_id = ?`, last.ID).Scan(&lastParams)
	db.QueryRowContext(ctx, `SELECT params_hash FROM ops.transform_runs WHERE run_id = ?`, run.ID).Scan(&rebuildParams)
	if lastParams != rebuildParams || lastParams == "" {
		t.Fatalf("the rebuild's parameters (%s) are not the binary's (%s): the comparison would mean nothing", rebuildParams, lastParams)
	}
	if last.Cut == nil || run.Cut == nil || !last.Cut.Equal(*run.Cut) {
		t.Fatalf("the rebuild's cut %v is not the last run's %v", run.Cut, last.Cut)
	}

	cols, err := db.QueryContext(ctx, `SELECT column_name, data_type FROM duckdb_columns()
		WHERE schema_name = 'marts' AND table_name = 'kpis_computed' ORDER BY column_index`)
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for cols.Next() {
		var name, typ string
		if err := cols.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		c := `"` + name + `"`
		if typ == "DOUBLE" || typ == "FLOAT" {
			c = fmt.Sprintf("printf('%%.10g', %s)", c) // sums taken in another order differ in their last bits
		}
		list = append(list, c)
	}
	cols.Close()
	sel := strings.Join(list, ", ")
	var rows, onlyIncr, onlyFull int64
	q := func(a, b string) string {
		return fmt.Sprintf("SELECT count(*) FROM (SELECT %s FROM %s EXCEPT ALL SELECT %s FROM %s)", sel, a, sel, b)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM marts.kpis_computed`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, q("main.chaos_incremental", "marts.kpis_computed")).Scan(&onlyIncr); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, q("marts.kpis_computed", "main.chaos_incremental")).Scan(&onlyFull); err != nil {
		t.Fatal(err)
	}
	if rows == 0 {
		t.Error("the full rebuild made no KPI rows: nothing was compared")
	}
	if onlyIncr != 0 || onlyFull != 0 {
		var sample []string
		r, _ := db.QueryContext(ctx, fmt.Sprintf(`SELECT 'pulse: ' || CAST(x AS VARCHAR) FROM (SELECT %s FROM main.chaos_incremental EXCEPT ALL SELECT %s FROM marts.kpis_computed) x LIMIT 3`, sel, sel))
		for r != nil && r.Next() {
			var s string
			r.Scan(&s)
			sample = append(sample, s)
		}
		t.Errorf("marts.kpis_computed: %d rows only in Pulse's, %d only in the full rebuild (of %d); e.g.\n%s",
			onlyIncr, onlyFull, rows, strings.Join(sample, "\n"))
	}
	t.Logf("marts.kpis_computed: %d rows, equal to a full rebuild of the copy (%.1fs)", rows, time.Since(start).Seconds())
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
