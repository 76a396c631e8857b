package dashboard_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/dashboard"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A changed file is picked up; a bad change keeps the last good set and
// logs why; fixing it reloads again.
func TestWatchReloads(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("../dashboards/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// the alerts' drill-down opens my_scorecard
	sc, err := os.ReadFile("../dashboards/my_scorecard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "my_scorecard.yaml"), sc, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "alerts.yaml")
	write := func(body []byte, age time.Duration) {
		t.Helper()
		if err := os.WriteFile(file, body, 0o644); err != nil {
			t.Fatal(err)
		}
		// a distinct modification time even on coarse file systems
		mt := time.Now().Add(age)
		if err := os.Chtimes(file, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	write(good, -time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log syncBuf
	changes := make(chan *dashboard.Set, 4)
	w, err := dashboard.Watch(ctx, dir, 10*time.Millisecond, func(s *dashboard.Set) { changes <- s },
		dashboard.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	if err != nil {
		t.Fatal(err)
	}
	title := func(s *dashboard.Set) string { d, _ := s.Get("alerts"); return d.Title.EN }
	if got := title(w.Current()); got != "Alerts" {
		t.Fatalf("title %q", got)
	}
	wait := func() *dashboard.Set {
		t.Helper()
		select {
		case s := <-changes:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("no reload within 5 s")
			return nil
		}
	}

	// a good change
	write(bytes.Replace(good, []byte("en: Alerts,"), []byte("en: Alerts now,"), 1), -30*time.Minute)
	if s := wait(); title(s) != "Alerts now" || title(w.Current()) != "Alerts now" {
		t.Fatalf("after the change: %q, current %q", title(s), title(w.Current()))
	}

	// a bad change: the last good set stays, the reason is logged
	write(bytes.Replace(good, []byte("kind: heatmap"), []byte("kind: pie"), 1), -20*time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for w.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if w.Err() == nil || !strings.Contains(w.Err().Error(), `"pie" is not one of`) {
		t.Fatalf("bad change: error %v", w.Err())
	}
	if title(w.Current()) != "Alerts now" {
		t.Fatalf("bad change replaced the set: %q", title(w.Current()))
	}
	if !strings.Contains(log.String(), "keeping the previous dashboards") || !strings.Contains(log.String(), "pie") {
		t.Fatalf("log: %s", log.String())
	}
	select {
	case <-changes:
		t.Fatal("onChange called for a bad change")
	default:
	}

	// fixed: reloaded
	write(good, -10*time.Minute)
	if s := wait(); title(s) != "Alerts" || w.Err() != nil {
		t.Fatalf("after the fix: %q, %v", title(s), w.Err())
	}
	cancel()
	<-w.Done()
}

// Render places the period and binds only the tile's parameters; Scoped
// wraps by the scope column or refuses company tiles.
func TestRenderAndScope(t *testing.T) {
	set, err := dashboard.Load("../dashboards")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 14, 9, 0, 0, 0, time.UTC)
	q, err := set.Render("executive", "revenue", dashboard.Values{Grain: "quarter"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if q.PeriodStart != time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC) || q.PeriodEnd != time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC) {
		t.Errorf("quarter of %s: [%s, %s)", now, q.PeriodStart, q.PeriodEnd)
	}
	// 44 days into the quarter: the same 44 days of the quarter before.
	if len(q.Args) != 5 || q.Args[3].(sql.NamedArg).Value != time.Date(2026, 2, 14, 0, 0, 0, 0, time.UTC) {
		t.Errorf("args %v, want grain, period_start, prev_period_start, prev_period_cut (2026-02-14), team_id", q.Args)
	}
	if _, err := set.Render("executive", "revenue", dashboard.Values{Grain: "day"}, now); err == nil {
		t.Error("a grain the dashboard does not offer was accepted")
	}
	if _, err := set.Render("executive", "revenue", dashboard.Values{EmployeeID: "E0001"}, now); err == nil {
		t.Error("an employee on a dashboard without the filter was accepted")
	}
	if _, err := set.Render("my_scorecard", "score", dashboard.Values{}, now); err != dashboard.ErrNeedsEmployee {
		t.Errorf("my scorecard without viewer: %v", err)
	}
	q, err = set.Render("sales", "people", dashboard.Values{Period: time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC), Grain: "week"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if q.PeriodStart != time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC) {
		t.Errorf("week of 2026-03-18 starts %s", q.PeriodStart)
	}
	sq, err := q.Scoped(dashboard.ViewerScope{EmployeeIDs: []string{"E0003"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sq.SQL, `list_contains($scope_employee_ids, tile."employee_id")`) || len(sq.Args) != len(q.Args)+2 {
		t.Errorf("scoped: %s %v", sq.SQL, sq.Args)
	}
}
