package server

import (
	"database/sql"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/pulsekpi/pulse/dashboard"
	"github.com/pulsekpi/pulse/dashboards"
)

// At most Tiles.MaxConcurrent tile queries run at once; a tile that does
// not get its turn within the tile timeout answers 503, and runs once a
// turn is free.
func TestTileTurns(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE SCHEMA ops`,
		`CREATE TABLE ops.transform_runs (run_id BIGINT, status VARCHAR)`,
		`CREATE SCHEMA staging`,
		`CREATE TABLE staging.employees AS SELECT 'e1' AS employee_id, 'Li Wei' AS name, 'sales' AS role,
			't1' AS team_id, 'Team 1' AS team_name, true AS active`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	set, err := dashboard.LoadFS(dashboards.Shipped(), "dashboards")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{AdminToken: "tok", Dashboards: set,
		Tiles: TileOptions{DB: db, Timeout: 200 * time.Millisecond, MaxConcurrent: 1, CacheEntries: -1}})
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api/dashboards/executive/tiles/revenue?grain=month", nil)
		req.Header.Set("Authorization", "Bearer tok")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
	s.tileTurns <- struct{}{} // the one turn is taken
	start := time.Now()
	rec := get()
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "busy") {
		t.Errorf("while the turn is taken: %d %s, want 503 busy", rec.Code, rec.Body)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("gave up after %v, before the tile timeout", waited)
	}
	<-s.tileTurns
	if rec := get(); rec.Code == http.StatusServiceUnavailable {
		t.Errorf("with the turn free: %d %s", rec.Code, rec.Body)
	}
}
