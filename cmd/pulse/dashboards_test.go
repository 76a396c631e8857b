package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bad dashboard file stops `pulse run` before it serves anything,
// naming the file and line.
func TestBadDashboardStopsRun(t *testing.T) {
	dir := t.TempDir()
	bad := "title: {en: Bad, zh-CN: 坏}\ntiles:\n  - id: x\n    title: {en: X, zh-CN: X}\n    kind: pie\n"
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := runCmd(context.Background(), t, []string{"PULSE_DASHBOARDS_DIR=" + dir},
		"run", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--log-level", "warn")
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:5") {
		t.Fatalf("pulse run with a bad dashboard: %v, want an error naming bad.yaml:5", err)
	}
}

// checkDashboardTile reads a shipped dashboard's tile from a running
// pulse: served, and filled after the given transform run.
func checkDashboardTile(t *testing.T, addr string, runID int64) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/dashboards/sales/tiles/people?grain=month&period=2026-10-01", nil)
	req.Header.Set("Authorization", "Bearer tok")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v struct {
		Rows  [][]any `json:"rows"`
		RunID int64   `json:"run_id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET sales/people: %s %v", res.Status, err)
	}
	if len(v.Rows) == 0 || v.RunID < runID {
		t.Errorf("sales/people: %d rows, run_id %d (want rows, run_id >= %d)", len(v.Rows), v.RunID, runID)
	}
}
