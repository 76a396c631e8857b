package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulsekpi/pulse/internal/testkit"
	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/warehouse"
)

// TestBackupAndRestoreCommands: pulse backup asks the running server
// (token from PULSE_ADMIN_TOKEN) and pulse restore builds a database that
// opens; restoring over it again is refused.
func TestBackupAndRestoreCommands(t *testing.T) {
	ctx := context.Background()
	w := testkit.Warehouse(t)
	testkit.Load(t, w, "crm.events", testkit.Event("e1", "employee.upserted", "2026-09-01T00:00:00Z",
		`{"employee_id":"e1","name":"N","role":"sales","team_id":"t1","manager_id":"m1","active":true}`))
	base := t.TempDir()
	ts := httptest.NewServer(server.New(server.Options{AdminToken: "tok", Warehouse: w, Backup: w, BackupDir: base}).Handler())
	defer ts.Close()

	if out, err := runCmd(ctx, t, nil, "backup", "--server", ts.URL); err == nil || !strings.Contains(err.Error(), "PULSE_ADMIN_TOKEN") {
		t.Errorf("without a token: %v %s", err, out)
	}
	if _, err := runCmd(ctx, t, nil, "backup", "--server", ts.URL, "--token", "wrong", "--name", "x"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong token: %v", err)
	}
	out, err := runCmd(ctx, t, []string{"PULSE_ADMIN_TOKEN=tok"}, "backup", "--server", ts.URL, "--name", "nightly")
	if err != nil || !strings.Contains(out, filepath.Join(base, "nightly")) {
		t.Fatalf("backup: %v %s", err, out)
	}

	data := t.TempDir()
	out, err = runCmd(ctx, t, nil, "restore", "--from", filepath.Join(base, "nightly"), "--data", data)
	if err != nil || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %v %s", err, out)
	}
	r, err := warehouse.Open(ctx, warehouse.Options{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	r.DB().QueryRow("SELECT count(*) FROM raw.employee_upserted").Scan(&n)
	r.Close()
	if n != 1 {
		t.Errorf("restored %d employees, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(data, "pulse.duckdb")); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(ctx, t, nil, "restore", "--from", filepath.Join(base, "nightly"), "--data", data); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("restore over a database: %v", err)
	}
}
