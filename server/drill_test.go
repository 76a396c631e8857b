package server_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/drill"
	"github.com/pulsekpi/pulse/internal/testkit"
	"github.com/pulsekpi/pulse/server"
)

// The drill-down endpoints over a real warehouse: the contract's JSON, the
// rows that make the figure, and each role's reach: an employee drills into
// their own figures and reads their own events only (a teammate's figure is
// 403, a teammate's event 404, as if it did not exist), a manager their
// teams, staff everything.
func TestDrillAPI(t *testing.T) {
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
		ev("v2", "followup.logged", "2026-10-04T10:00:00Z", `{"followup_id":"f2","customer_id":"c2","employee_id":"e2","channel":"phone"}`),
		ev("v3", "followup.logged", "2026-10-03T10:00:00Z", `{"followup_id":"f3","customer_id":"c3","employee_id":"e3","channel":"visit"}`),
	)
	testkit.Load(t, w, "finance.events",
		ev("k1", "contract.signed", "2026-10-05T09:00:00Z", `{"contract_id":"k1","customer_id":"c1","owner_id":"e1","amount":100}`),
		ev("k1b", "contract.signed", "2026-10-20T09:00:00Z", `{"contract_id":"k1b","customer_id":"c1","owner_id":"e1","amount":40.5}`),
		ev("k2", "contract.signed", "2026-10-05T09:00:00Z", `{"contract_id":"k2","customer_id":"c2","owner_id":"e2","amount":150}`),
		ev("k3", "contract.signed", "2026-10-05T09:00:00Z", `{"contract_id":"k3","customer_id":"c3","owner_id":"e3","amount":50}`),
		ev("p2", "payment.received", "2026-10-09T09:00:00Z", `{"payment_id":"p2","invoice_id":"i2","contract_id":"k2","amount":70}`),
	)
	tr := testkit.Transform(t, w, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC))
	dr, err := drill.New(w.DB(), drill.Options{})
	if err != nil {
		t.Fatal(err)
	}
	users, tokens := testkit.Users(t, w,
		auth.User{Login: "emp1", Role: auth.RoleEmployee, EmployeeID: "e1"},
		auth.User{Login: "mgr1", Role: auth.RoleManager, EmployeeID: "m1"},
		auth.User{Login: "ana", Role: auth.RoleAnalyst},
		auth.User{Login: "exec", Role: auth.RoleExecutive},
	)
	tokens["admin"] = "admintok"
	s := server.New(server.Options{AdminToken: "admintok", Warehouse: fakeWarehouse{}, Marts: tr, Transforms: tr,
		Drill: dr, Auth: users})
	get := func(who, path string) (int, map[string]any) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tokens[who])
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s GET %s: not JSON: %s", who, path, rec.Body)
		}
		return rec.Code, v
	}

	// the contract's shape, and rows that add up to the figure
	code, v := get("emp1", "/api/drill?kpi=revenue&grain=month&period=2026-10-15&employee_id=e1&lang=zh-CN")
	if code != 200 {
		t.Fatalf("drill: %d %v", code, v)
	}
	if v["kpi"] != "revenue" || v["grain"] != "month" || v["period_start"] != "2026-10-01" || v["period_end"] != "2026-11-01" ||
		v["value"] != 140.5 || v["truncated"] != false {
		t.Errorf("drill header = %v", v)
	}
	if sub := v["subject"].(map[string]any); sub["type"] != "employee" || sub["id"] != "e1" || sub["name"] != "N e1" {
		t.Errorf("subject = %v", sub)
	}
	var names []string
	for _, c := range v["columns"].([]any) {
		col := c.(map[string]any)
		names = append(names, col["name"].(string))
		label := col["label"].(map[string]any)
		if label["en"] == "" || label["zh-CN"] == "" || col["format"] == "" {
			t.Errorf("column %v", col)
		}
	}
	for _, want := range []string{"contract_id", "customer_id", "amount", "owner_id", "event_id", "kafka_topic", "kafka_partition", "kafka_offset"} {
		if !slices.Contains(names, want) {
			t.Errorf("columns %v lack %s", names, want)
		}
	}
	rows := v["rows"].([]any)
	sum, ids := 0.0, []string{}
	for _, r := range rows {
		row := r.([]any)
		sum += row[slices.Index(names, "value")].(float64)
		ids = append(ids, row[slices.Index(names, "event_id")].(string))
		if row[slices.Index(names, "kafka_topic")] != "finance.events" {
			t.Errorf("row %v: topic", row)
		}
	}
	if sum != 140.5 || !slices.Equal(ids, []string{"k1", "k1b"}) {
		t.Errorf("rows %v: sum %v, events %v", rows, sum, ids)
	}
	// a team's collections come from its members' contracts
	if code, v := get("mgr1", "/api/drill?kpi=collections&period=2026-10-01&team_id=t1"); code != 200 || v["value"] != 70.0 || len(v["rows"].([]any)) != 1 {
		t.Errorf("team collections: %d %v", code, v)
	}

	// an event: its Kafka place and data
	code, v = get("emp1", "/api/events/k1")
	if code != 200 {
		t.Fatalf("event: %d %v", code, v)
	}
	if v["event_id"] != "k1" || v["type"] != "contract.signed" || v["kafka_topic"] != "finance.events" ||
		v["kafka_partition"] == nil || v["kafka_offset"] == nil || v["ingested_at"] == nil || v["occurred_at"] != "2026-10-05T09:00:00Z" {
		t.Errorf("event = %v", v)
	}
	if p := v["payload"].(map[string]any); p["contract_id"] != "k1" || p["owner_id"] != "e1" || p["amount"] != 100.0 {
		t.Errorf("payload = %v", p)
	}

	drillOf := func(q string) string { return "/api/drill?kpi=followups&grain=month&period=2026-10-01" + q }
	for _, c := range []struct {
		who, path string
		want      int
	}{
		{"emp1", drillOf("&employee_id=e1"), 200},
		{"emp1", drillOf("&employee_id=e2"), 403},
		{"emp1", drillOf("&team_id=t1"), 403},
		{"emp1", drillOf(""), 403},
		{"mgr1", drillOf("&employee_id=e2"), 200},
		{"mgr1", drillOf("&team_id=t1"), 200},
		{"mgr1", drillOf("&employee_id=e3"), 403},
		{"mgr1", drillOf("&team_id=t2"), 403},
		{"mgr1", drillOf(""), 403},
		{"ana", drillOf("&employee_id=e3"), 200},
		{"exec", drillOf(""), 200},
		{"admin", drillOf("&team_id=t2"), 200},
		{"nobody", drillOf("&employee_id=e1"), 401},
		// client errors
		{"ana", "/api/drill?kpi=happiness&period=2026-10-01", 400},
		{"ana", "/api/drill?kpi=revenue&grain=year&period=2026-10-01", 400},
		{"ana", "/api/drill?kpi=revenue&period=2026-10-01&employee_id=e1&team_id=t1", 400},
		{"ana", "/api/drill?kpi=revenue&period=2026-10-01&employee_id=ghost", 404},
		// events: one's own, a teammate's (not found, not forbidden), one
		// about one's own contract that names nobody
		{"emp1", "/api/events/v1", 200},
		{"emp1", "/api/events/v2", 404},
		{"emp1", "/api/events/k2", 404},
		{"emp1", "/api/events/ue1", 200},
		{"emp1", "/api/events/ue2", 404},
		{"mgr1", "/api/events/p2", 200},
		{"mgr1", "/api/events/v3", 404},
		{"ana", "/api/events/v3", 200},
		{"exec", "/api/events/p2", 200},
		{"ana", "/api/events/no-such-event", 404},
		{"emp1", "/api/events/no-such-event", 404},
	} {
		code, v := get(c.who, c.path)
		if code != c.want {
			t.Errorf("%s GET %s: %d %v, want %d", c.who, c.path, code, v, c.want)
		}
		if code >= 400 && !strings.Contains(fmt.Sprint(v["error"]), " ") {
			t.Errorf("%s GET %s: error %v does not say why", c.who, c.path, v)
		}
	}
	// a teammate's event answers exactly as one that does not exist
	_, hidden := get("emp1", "/api/events/v2")
	_, missing := get("emp1", "/api/events/v2x")
	if strings.ReplaceAll(fmt.Sprint(hidden["error"]), "v2", "") != strings.ReplaceAll(fmt.Sprint(missing["error"]), "v2x", "") {
		t.Errorf("hidden %v and missing %v differ", hidden, missing)
	}
}
