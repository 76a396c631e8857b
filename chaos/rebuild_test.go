package chaos

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/internal/testkit"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

// checkMartsEqualRebuild copies the stopped warehouse, rebuilds every
// model of the copy whole, in-process, at the instant of Pulse's last run,
// and compares every table of staging and marts as Pulse left them
// (incremental runs, kills mid-run and all) with the rebuild.
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
	tables := testkit.Snapshot(ctx, t, db)
	cfg := config.Default() // what the binary ran with: no file, no settings of the transforms
	tr, err := transform.New(db, transform.Options{Params: transform.DefaultParams(),
		Macros: alert.Statements(cfg.AlertRules()), Now: func() time.Time { return last.AsOf }})
	if err != nil {
		t.Fatal(err)
	}
	skip, err := testkit.RunStateModels(tr)
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
	compared, rows := testkit.SameAsSnapshot(ctx, t, db, tables, skip)
	var kpis int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM marts.kpis_computed`).Scan(&kpis); err != nil {
		t.Fatal(err)
	}
	if kpis == 0 {
		t.Error("the full rebuild made no KPI rows: nothing was compared")
	}
	t.Logf("staging and marts: %d tables, %d rows (%d in marts.kpis_computed), equal to a full rebuild of the copy (%.1fs)",
		compared, rows, kpis, time.Since(start).Seconds())
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
