package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/internal/testkit"
	"github.com/pulsekpi/pulse/metric"
	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/transform"
)

// The KPI and scorecard endpoints over a real warehouse and transformer:
// every KPI by name, null for NULL, the period named by its first date,
// frozen periods answered with frozen figures, and errors that say why.
func TestKPIAndScorecardAPI(t *testing.T) {
	ctx := context.Background()
	w := testkit.Warehouse(t)
	ev := testkit.Event
	testkit.Load(t, w, "crm.events",
		ev("u1", "employee.upserted", "2026-09-01T00:00:00+08:00", `{"employee_id":"e1","name":"Li Wei","role":"sales","team_id":"t1","team_name":"East","active":true}`),
		ev("u2", "employee.upserted", "2026-09-01T00:00:00+08:00", `{"employee_id":"e2","name":"Wang Fang","role":"sales","team_id":"t1","active":true}`),
		ev("g1", "target.set", "2026-09-20T00:00:00+08:00", `{"employee_id":"e1","month":"2026-10","metric":"revenue","value":200}`),
		ev("g2", "target.set", "2026-09-20T00:00:00+08:00", `{"employee_id":"e2","month":"2026-10","metric":"revenue","value":100}`),
		ev("v1", "followup.logged", "2026-10-03T10:00:00+08:00", `{"followup_id":"f1","customer_id":"c1","employee_id":"e1","channel":"visit"}`),
	)
	testkit.Load(t, w, "finance.events",
		// 23:30 on 31 October in Shanghai is still October there.
		ev("k1", "contract.signed", "2026-10-31T23:30:00+08:00", `{"contract_id":"k1","customer_id":"c1","owner_id":"e1","amount":100}`),
		ev("k2", "contract.signed", "2026-10-05T09:00:00+08:00", `{"contract_id":"k2","customer_id":"c2","owner_id":"e2","amount":150}`),
	)
	p := transform.DefaultParams()
	p.Timezone = "Asia/Shanghai"
	tr, err := transform.New(w.DB(), transform.Options{Params: p, Macros: alert.Statements(alert.DefaultRules()), Now: func() time.Time { return time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	if run, err := tr.RunNow(ctx, transform.RunRequest{}); err != nil || run.Status != "ok" {
		t.Fatalf("run: %v %+v", err, run)
	}
	s := server.New(server.Options{AdminToken: "tok", Warehouse: fakeWarehouse{}, Marts: tr, Transforms: tr})
	get := func(path string) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer tok")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("GET %s: not JSON: %s", path, rec.Body)
		}
		return rec.Code, v
	}

	code, v := get("/api/kpis?grain=month&period=2026-10-15&employee_id=e1")
	if code != http.StatusOK {
		t.Fatalf("kpis: %d %v", code, v)
	}
	if v["grain"] != "month" || v["period"] != "2026-10-01" || v["subject"] != "e1" || v["subject_name"] != "Li Wei" {
		t.Errorf("kpis header = %v", v)
	}
	kpis := v["kpis"].(map[string]any)
	for _, k := range metric.KPIs() {
		if _, ok := kpis[k]; !ok {
			t.Errorf("kpis lacks %s", k)
		}
	}
	if kpis["revenue"] != 100.0 || kpis["visits"] != 1.0 || kpis["attainment_revenue"] != 0.5 {
		t.Errorf("e1 revenue, visits, attainment = %v, %v, %v; want 100, 1, 0.5", kpis["revenue"], kpis["visits"], kpis["attainment_revenue"])
	}
	if kpis["win_rate"] != nil {
		t.Errorf("win_rate without deals = %v, want null", kpis["win_rate"])
	}
	_, v = get("/api/kpis?grain=month&period=2026-10-01&team_id=t1")
	if k := v["kpis"].(map[string]any); k["revenue"] != 250.0 || k["attainment_revenue"] != 250.0/300 || v["subject_name"] != "East" {
		t.Errorf("team t1 = %v", v)
	}
	_, v = get("/api/kpis?grain=month&period=2026-10")
	if k := v["kpis"].(map[string]any); v["subject"] != "company" || k["contracts"] != 2.0 || k["avg_deal_size"] != 125.0 {
		t.Errorf("company = %v", v)
	}

	if _, err := tr.Scorecards(ctx, transform.ScorecardQuery{Grain: "month", Period: "2026-10-01", Role: "sales"}); err != nil {
		t.Fatal(err)
	}
	code, v = get("/api/scorecards?grain=month&period=2026-10-01&role=sales")
	if code != http.StatusOK {
		t.Fatalf("scorecards: %d %v", code, v)
	}
	cards := v["scorecards"].([]any)
	if len(cards) != 2 {
		t.Fatalf("scorecards = %d, want 2: %v", len(cards), v)
	}
	first := cards[0].(map[string]any)
	// e1: revenue 100/200 → 50 (w 40), visits 1/20 → 5 (w 20); coverage,
	// timeliness and completeness are NULL (no customers owned, no due
	// follow-ups) and leave: (40×50 + 20×5) / 60 = 35. e2: revenue 150/100
	// → 120 capped (w 40), visits 0 → 0 (w 20): 4800 / 60 = 80.
	if first["employee_id"] != "e2" || first["score"] != 80.0 || first["rank_in_role"] != 1.0 {
		t.Errorf("best scorecard = %v, want e2 with 80, rank 1", first)
	}
	second := cards[1].(map[string]any)
	if second["employee_id"] != "e1" || second["score"] != 35.0 || second["renormalised"] != true {
		t.Errorf("second scorecard = %v, want e1 with 35, renormalised", second)
	}
	if lines := second["lines"].([]any); len(lines) != 5 || lines[0].(map[string]any)["sub_score"] != 50.0 {
		t.Errorf("e1's lines = %v", lines)
	}

	for path, want := range map[string]int{
		"/api/kpis?grain=fortnight":                              http.StatusBadRequest,
		"/api/kpis?period=October":                               http.StatusBadRequest,
		"/api/kpis?employee_id=e1&team_id=t1":                    http.StatusBadRequest,
		"/api/kpis?grain=month&period=2026-10-01&employee_id=zz": http.StatusNotFound,
		"/api/kpis?grain=month&period=2020-01-01":                http.StatusNotFound,
	} {
		code, v := get(path)
		if code != want || !strings.Contains(fmt.Sprint(v["error"]), " ") {
			t.Errorf("GET %s = %d %v, want %d with a reason", path, code, v, want)
		}
	}
}
