package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/internal/testkit"
	"github.com/pulsekpi/pulse/query"
	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/transform"
)

// Each role through the endpoints: an employee sees their own figures
// only, a manager their team, analysts everything and SQL; the admin
// endpoints are the admin's.
func TestRolesAndScopes(t *testing.T) {
	ctx := context.Background()
	w := testkit.Warehouse(t)
	ev := testkit.Event
	emp := func(id, role, team, mgr string) []byte {
		return ev("u"+id, "employee.upserted", "2026-09-01T00:00:00Z",
			fmt.Sprintf(`{"employee_id":%q,"name":"N %s","role":%q,"team_id":%q,"manager_id":%q,"active":true}`, id, id, role, team, mgr))
	}
	testkit.Load(t, w, "crm.events",
		emp("m1", "manager", "t0", "boss"), emp("e1", "sales", "t1", "m1"), emp("e2", "sales", "t1", "m1"),
		emp("m2", "manager", "t0", "boss"), emp("e3", "sales", "t2", "m2"),
		ev("v1", "followup.logged", "2026-10-03T10:00:00Z", `{"followup_id":"f1","customer_id":"c1","employee_id":"e1","channel":"visit"}`),
		ev("v3", "followup.logged", "2026-10-03T10:00:00Z", `{"followup_id":"f3","customer_id":"c3","employee_id":"e3","channel":"visit"}`),
	)
	testkit.Load(t, w, "finance.events",
		ev("k1", "contract.signed", "2026-10-05T09:00:00Z", `{"contract_id":"k1","customer_id":"c1","owner_id":"e1","amount":100}`),
		ev("k2", "contract.signed", "2026-10-05T09:00:00Z", `{"contract_id":"k2","customer_id":"c2","owner_id":"e2","amount":150}`),
		ev("k3", "contract.signed", "2026-10-05T09:00:00Z", `{"contract_id":"k3","customer_id":"c3","owner_id":"e3","amount":50}`),
	)
	tr := testkit.Transform(t, w, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC))
	users, tokens := testkit.Users(t, w,
		auth.User{Login: "emp1", Role: auth.RoleEmployee, EmployeeID: "e1"},
		auth.User{Login: "mgr1", Role: auth.RoleManager, EmployeeID: "m1"},
		auth.User{Login: "ana", Role: auth.RoleAnalyst},
		auth.User{Login: "exec", Role: auth.RoleExecutive},
	)
	qr, err := query.New(w.DB(), query.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := alert.NewStore(w.DB(), alert.StoreOptions{Rules: func() []string { return []string{"login_gap", "sla_breach"} }})
	s := server.New(server.Options{AdminToken: "admintok", Warehouse: fakeWarehouse{}, Marts: tr, Transforms: tr,
		Alerts: store, Query: qr, Auth: users})
	do := func(who, method, path, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		tok := tokens[who]
		if who == "admin" {
			tok = "admintok"
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	kpi := "/api/kpis?grain=month&period=2026-10-01"
	for _, c := range []struct {
		who, method, path string
		want              int
	}{
		{"emp1", "GET", kpi + "&employee_id=e1", 200},
		{"emp1", "GET", kpi + "&employee_id=e2", 403},
		{"emp1", "GET", kpi + "&team_id=t1", 403},
		{"emp1", "GET", kpi, 403},
		{"mgr1", "GET", kpi + "&employee_id=e2", 200},
		{"mgr1", "GET", kpi + "&team_id=t1", 200},
		{"mgr1", "GET", kpi + "&employee_id=e3", 403},
		{"mgr1", "GET", kpi + "&team_id=t2", 403},
		{"mgr1", "GET", kpi, 403},
		{"ana", "GET", kpi + "&employee_id=e3", 200},
		{"exec", "GET", kpi, 200},
		{"emp1", "POST", "/api/query", 403},
		{"mgr1", "POST", "/api/query", 403},
		{"exec", "POST", "/api/query", 403},
		{"ana", "POST", "/api/query", 200},
		{"admin", "POST", "/api/query", 200},
		{"emp1", "POST", "/api/transforms/run", 403},
		{"ana", "POST", "/api/transforms/run", 403},
		{"emp1", "GET", "/api/ingest/status", 403},
		{"emp1", "GET", "/api/silences", 403},
		{"emp1", "GET", "/api/alerts/notifications", 403},
		{"mgr1", "POST", "/api/silences", 403},
		{"nobody", "GET", kpi + "&employee_id=e1", 401},
	} {
		body := ""
		switch c.path {
		case "/api/query":
			body = `{"sql":"SELECT employee_id FROM marts.employee_kpis LIMIT 1"}`
		case "/api/silences":
			body = `{"subject":"e3","duration":"1h","comment":"not mine"}`
		}
		if code, got := do(c.who, c.method, c.path, body); code != c.want {
			t.Errorf("%s %s %s: %d %s, want %d", c.who, c.method, c.path, code, got, c.want)
		}
	}

	// A manager silences a ticket's alert when the ticket is their
	// person's, and not another team's ticket.
	if _, err := w.DB().Exec(`INSERT INTO alerts.sla_breach BY NAME SELECT * FROM (VALUES
			('ticket', 'K1', 'K1', '', 'e1', 't1', 95.0, 60.0, 'Ticket K1 has waited 95 minutes.', '工单 K1 已等待 95 分钟。'),
			('ticket', 'K3', 'K3', '', 'e3', 't2', 95.0, 60.0, 'Ticket K3 has waited 95 minutes.', '工单 K3 已等待 95 分钟。'))
			AS t(subject_type, subject_id, subject_name, alert_window, employee_id, team_id, value, threshold, summary_en, summary_zh)`); err != nil {
		t.Fatal(err)
	}
	eval, err := alert.New(w.DB(), alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eval.Evaluate(ctx, 1, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), map[string]bool{"sla_breach": true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"rule":"sla_breach","subject_type":"ticket","subject":"K1","duration":"1h","comment":"mine"}`, 201},
		{`{"rule":"sla_breach","subject_type":"ticket","subject":"K3","duration":"1h","comment":"not mine"}`, 403},
		{`{"rule":"sla_breach","subject":"K1","duration":"1h","comment":"no type: taken as a person or team"}`, 403},
		{`{"rule":"sla_breach","subject_type":"ticket","subject":"K404","duration":"1h","comment":"no such alert"}`, 403},
	} {
		if code, got := do("mgr1", "POST", "/api/silences", c.body); code != c.want {
			t.Errorf("mgr1 POST /api/silences %s: %d %s, want %d", c.body, code, got, c.want)
		}
	}

	// Scorecards: one's own in full, teammates' names and scores only,
	// nobody else's.
	_, body := do("emp1", "GET", "/api/scorecards?grain=month&period=2026-10-01&role=sales", "")
	var res transform.ScorecardResult
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(body)
	}
	seen := map[string]int{}
	for _, sc := range res.Scorecards {
		seen[sc.EmployeeID] = len(sc.Lines)
	}
	if len(seen) != 2 || seen["e1"] == 0 || seen["e2"] != 0 {
		t.Errorf("employee e1 sees scorecards %v (lines per employee): want e1 whole and e2 without lines", seen)
	}
	_, body = do("mgr1", "GET", "/api/scorecards?grain=month&period=2026-10-01&role=sales", "")
	res = transform.ScorecardResult{}
	json.Unmarshal([]byte(body), &res)
	seen = map[string]int{}
	for _, sc := range res.Scorecards {
		seen[sc.EmployeeID] = len(sc.Lines)
	}
	if len(seen) != 2 || seen["e1"] == 0 || seen["e2"] == 0 {
		t.Errorf("manager m1 sees scorecards %v: want e1 and e2 whole, not e3", seen)
	}
}
