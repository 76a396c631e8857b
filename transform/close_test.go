package transform_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/transform"
)

func contract(id, owner string, amount float64, at string) []byte {
	return []byte(fmt.Sprintf(`{"event_id":%q,"event_type":"contract.signed","occurred_at":%q,"data":{"contract_id":%q,"customer_id":"cu-%s","owner_id":%q,"amount":%v}}`,
		id, at, id, id, owner, amount))
}

func employee(id, team string, at string) []byte {
	return []byte(fmt.Sprintf(`{"event_id":"up-%s","event_type":"employee.upserted","occurred_at":%q,"data":{"employee_id":%q,"name":"Name %s","role":"sales","team_id":%q,"active":true}}`,
		id, at, id, id, team))
}

func kpiValue(t *testing.T, tr *transform.Transformer, grain, period, emp, kpi string) *float64 {
	t.Helper()
	res, err := tr.KPIs(context.Background(), transform.KPIQuery{Grain: grain, Period: period, SubjectType: "employee", SubjectID: emp})
	if err != nil {
		t.Fatalf("KPIs %s %s %s: %v", grain, period, emp, err)
	}
	return res.KPIs[kpi]
}

// A month is frozen once its grace has passed and ingest has caught up;
// a late event then changes the live figures and is listed as a late
// change, while the published figures stay as they stood. Reopening by
// hand publishes the live figures again; closing by hand freezes them.
func TestPeriodCloseFreezesAndListsLateChanges(t *testing.T) {
	ctx := context.Background()
	w := openWarehouse(t)
	load(t, w,
		employee("e1", "t1", "2026-09-01T00:00:00Z"),
		contract("k1", "e1", 100, "2026-10-10T10:00:00Z"),
		contract("k2", "e1", 50, "2026-11-02T10:00:00Z"))
	clock := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	lag := int64(5)
	tr, err := transform.New(w.DB(), transform.Options{
		// the alert rules are models too; they read their settings from macros
		Macros:     alert.Statements(alert.DefaultRules()),
		Now:        func() time.Time { return clock },
		CloseGrace: 72 * time.Hour,
		Lag:        func(context.Context) (int64, error) { return lag, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	closedCount := func() int64 {
		return queryInt(t, w, `SELECT count(*) FROM ops.closed_periods WHERE grain = 'month' AND period_start = DATE '2026-10-01'`)
	}
	// Within the grace: open.
	runNow(t, tr, transform.RunRequest{})
	if n := closedCount(); n != 0 {
		t.Fatalf("October closed %d times within its grace", n)
	}
	// Past the grace but ingest lags: still open.
	clock = time.Date(2026, 11, 4, 1, 0, 0, 0, time.UTC)
	runNow(t, tr, transform.RunRequest{})
	if n := closedCount(); n != 0 {
		t.Fatal("October closed while ingest lagged")
	}
	// Caught up: closed, with the figures as they stood.
	lag = 0
	runNow(t, tr, transform.RunRequest{})
	if n := closedCount(); n != 1 {
		t.Fatalf("October not closed once caught up past its grace (%d)", n)
	}
	if v := kpiValue(t, tr, "month", "2026-10-01", "e1", "revenue"); v == nil || *v != 100 {
		t.Fatalf("frozen revenue = %v, want 100", v)
	}

	// A late contract for October lands.
	load(t, w, contract("k3", "e1", 30, "2026-10-20T10:00:00Z"))
	clock = clock.Add(time.Hour)
	runNow(t, tr, transform.RunRequest{})
	if v := kpiValue(t, tr, "month", "2026-10-01", "e1", "revenue"); v == nil || *v != 100 {
		t.Fatalf("frozen revenue moved to %v after a late event, want 100", v)
	}
	var frozen, live, change float64
	if err := w.DB().QueryRowContext(ctx, `SELECT frozen_value, live_value, change FROM marts.late_changes
		WHERE grain = 'month' AND period_start = DATE '2026-10-01' AND subject_type = 'employee' AND subject_id = 'e1' AND kpi = 'revenue'`).
		Scan(&frozen, &live, &change); err != nil {
		t.Fatalf("late change of revenue: %v", err)
	}
	if frozen != 100 || live != 130 || change != 30 {
		t.Fatalf("late change = %v -> %v (%v), want 100 -> 130 (30)", frozen, live, change)
	}
	if n := queryInt(t, w, `SELECT count(*) FROM marts.late_events WHERE grain = 'month' AND period_start = DATE '2026-10-01' AND event_id = 'k3'`); n != 1 {
		t.Fatalf("late event k3 listed %d times, want 1", n)
	}
	// The company's published figure is frozen too; the quarter is still open.
	var company float64
	if err := w.DB().QueryRowContext(ctx, `SELECT value FROM marts.company_kpis WHERE grain = 'month' AND period_start = DATE '2026-10-01' AND kpi = 'revenue'`).Scan(&company); err != nil || company != 100 {
		t.Fatalf("company October revenue = %v (%v), want frozen 100", company, err)
	}
	if v := kpiValue(t, tr, "quarter", "2026-10-01", "e1", "revenue"); v == nil || *v != 180 {
		t.Fatalf("open quarter revenue = %v, want 180", v)
	}

	// Reopened by hand: live again, and automatic closing leaves it alone.
	if err := tr.Reopen(ctx, "month", "2026-10-01", "test"); err != nil {
		t.Fatal(err)
	}
	runNow(t, tr, transform.RunRequest{})
	if v := kpiValue(t, tr, "month", "2026-10-01", "e1", "revenue"); v == nil || *v != 130 {
		t.Fatalf("reopened revenue = %v, want live 130", v)
	}
	if n := closedCount(); n != 0 {
		t.Fatal("a reopened period was closed again automatically")
	}
	// Closed by hand: frozen at 130.
	if err := tr.Close(ctx, "month", "2026-10-01", "test"); err != nil {
		t.Fatal(err)
	}
	load(t, w, contract("k4", "e1", 1, "2026-10-21T10:00:00Z"))
	runNow(t, tr, transform.RunRequest{Full: true})
	if v := kpiValue(t, tr, "month", "2026-10-01", "e1", "revenue"); v == nil || *v != 130 {
		t.Fatalf("revenue after manual close and a full rebuild = %v, want frozen 130", v)
	}
	// Bad requests say why.
	for _, c := range []struct{ grain, period string }{
		{"week", "2026-10-05"}, {"month", "2026-10-02"}, {"quarter", "2026-11-01"}, {"month", "2026-11-01"}, {"month", "2026-10-01"},
	} {
		if err := tr.Close(ctx, c.grain, c.period, "test"); !errors.Is(err, transform.ErrPeriod) {
			t.Errorf("Close(%s, %s) = %v, want ErrPeriod", c.grain, c.period, err)
		}
	}
}
