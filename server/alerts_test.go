package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/warehouse"
)

func TestAlertAndSilenceAPI(t *testing.T) {
	ctx := context.Background()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rules := fstest.MapFS{"alerts/login_gap.sql": {Data: []byte("SELECT 1")}, "alerts/sla_breach.sql": {Data: []byte("SELECT 1")}}
	ev, err := alert.New(w.DB(), alert.Options{Models: rules, Rules: map[string]alert.Rule{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE alerts.login_gap AS SELECT * FROM (VALUES
			('employee', 'e1', 'Li Wei', '2026-11-16', 'e1', 't1', 5.0, 3.0, 'Li Wei has not logged in for 5 working days.', '李伟已连续 5 个工作日未登录。'),
			('employee', 'e2', 'Wang Fang', '2026-11-18', 'e2', 't2', 3.0, 3.0, 'Wang Fang has not logged in for 3 working days.', '王芳已连续 3 个工作日未登录。'))
			AS t(subject_type, subject_id, subject_name, alert_window, employee_id, team_id, value, threshold, summary_en, summary_zh)`,
		`CREATE TABLE alerts.sla_breach AS SELECT * FROM (VALUES
			('ticket', 'K1', 'K1', '', 'e2', 't2', 95.0, 60.0, 'Ticket K1 has waited 95 minutes.', '工单 K1 已等待 95 分钟。'))
			AS t(subject_type, subject_id, subject_name, alert_window, employee_id, team_id, value, threshold, summary_en, summary_zh)`,
	} {
		if _, err := w.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	if _, err := ev.Evaluate(ctx, 1, at, map[string]bool{"login_gap": true, "sla_breach": true}); err != nil {
		t.Fatal(err)
	}
	store := alert.NewStore(w.DB(), alert.StoreOptions{Rules: func() []string { return []string{"login_gap", "sla_breach"} }, Language: "en"})
	s := server.New(server.Options{AdminToken: "tok", Warehouse: fakeWarehouse{}, Alerts: store})
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %s", method, path, rec.Body)
		}
		return rec.Code, v
	}
	list := func(path string) []map[string]any {
		t.Helper()
		code, v := do("GET", path, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %v", path, code, v)
		}
		var out []map[string]any
		for _, a := range v["alerts"].([]any) {
			out = append(out, a.(map[string]any))
		}
		if int(v["count"].(float64)) != len(out) {
			t.Fatalf("count %v for %d alerts", v["count"], len(out))
		}
		return out
	}

	all := list("/api/alerts?state=firing")
	if len(all) != 3 {
		t.Fatalf("firing: %v", all)
	}
	got := list("/api/alerts?state=firing&rule=login_gap&subject=e1")
	if len(got) != 1 {
		t.Fatalf("filtered: %v", got)
	}
	a := got[0]
	for k, want := range map[string]any{"rule": "login_gap", "key": "login_gap/employee:e1/2026-11-16", "subject": "e1",
		"subject_type": "employee", "subject_name": "Li Wei", "state": "firing", "value": 5.0, "threshold": 3.0,
		"summary": "Li Wei has not logged in for 5 working days.", "first_seen": "2026-11-23T09:00:00Z",
		"last_seen": "2026-11-23T09:00:00Z", "severity": "warning", "window": "2026-11-16"} {
		if a[k] != want {
			t.Errorf("%s = %v, want %v", k, a[k], want)
		}
	}
	if zh := list("/api/alerts?key=sla_breach/ticket:K1&lang=zh-CN"); len(zh) != 1 || zh[0]["summary"] != "工单 K1 已等待 95 分钟。" {
		t.Errorf("zh-CN: %v", zh)
	}
	if got := list("/api/alerts?state=resolved"); len(got) != 0 {
		t.Errorf("resolved: %v", got)
	}
	for path, want := range map[string]string{
		"/api/alerts?state=burning": `state "burning" is not pending, firing or resolved`,
		"/api/alerts?lang=fr":       `lang "fr" is not en or zh-CN`,
		"/api/alerts?limit=x":       `limit: "x" is not a whole number`,
		"/api/alerts?severity=loud": `severity "loud"`,
	} {
		if code, v := do("GET", path, ""); code != 400 || !strings.Contains(v["error"].(string), want) {
			t.Errorf("GET %s: %d %v, want 400 …%s…", path, code, v, want)
		}
	}

	code, v := do("POST", "/api/silences", `{"rule":"login_gap","subject":"e1","duration":"2h","comment":"on leave","created_by":"zhang.san"}`)
	if code != 201 || v["rule"] != "login_gap" || v["subject"] != "e1" || v["created_by"] != "zhang.san" || v["active"] != true {
		t.Fatalf("POST /api/silences: %d %v", code, v)
	}
	id := v["id"].(float64)
	if got := list("/api/alerts?subject=e1"); got[0]["silenced_by"] != id {
		t.Errorf("silenced_by %v, want %v", got[0]["silenced_by"], id)
	}
	code, v = do("POST", "/api/silences", `{"subject":"K1","ends_at":"2030-01-01T00:00:00Z","comment":"vendor outage"}`)
	if code != 201 || v["created_by"] != "admin-token" {
		t.Fatalf("POST with ends_at: %d %v", code, v)
	}
	for body, want := range map[string]string{
		`{"rule":"login_gap","duration":"2h"}`:                                  "comment: why it is silenced",
		`{"rule":"login_gap","duration":"2h","comment":"x","colour":"red"}`:     `unknown field "colour"`,
		`{"rule":"login_gap","duration":"-1h","comment":"x"}`:                   "not a positive duration",
		`{"rule":"login_gap","duration":"1h","ends_at":"2030-01-01T00:00:00Z"}`: "not both",
		`{"duration":"1h","comment":"x"}`:                                       "name a rule, a subject or both",
		`not json`:                                                              "body:",
	} {
		if code, v := do("POST", "/api/silences", body); code != 400 || !strings.Contains(v["error"].(string), want) {
			t.Errorf("POST %s: %d %v, want 400 …%s…", body, code, v, want)
		}
	}
	if code, v := do("GET", "/api/silences", ""); code != 200 || v["count"].(float64) != 2 {
		t.Fatalf("GET /api/silences: %d %v", code, v)
	}
	if code, v := do("DELETE", fmt.Sprintf("/api/silences/%d", int64(id)), ""); code != 200 || v["active"] != false || v["ended_by"] != "admin-token" {
		t.Fatalf("DELETE: %d %v", code, v)
	}
	if code, v := do("GET", "/api/silences", ""); code != 200 || v["count"].(float64) != 1 {
		t.Fatalf("GET /api/silences after DELETE: %d %v", code, v)
	}
	if code, v := do("GET", "/api/silences?all=true", ""); code != 200 || v["count"].(float64) != 2 {
		t.Fatalf("GET /api/silences?all=true: %d %v", code, v)
	}
	if code, _ := do("DELETE", "/api/silences/999", ""); code != 404 {
		t.Errorf("DELETE unknown: %d", code)
	}
	if code, _ := do("DELETE", "/api/silences/abc", ""); code != 400 {
		t.Errorf("DELETE abc: %d", code)
	}
	if code, v := do("GET", "/api/alerts/notifications?key=login_gap/employee:e1/2026-11-16", ""); code != 200 || v["count"].(float64) != 0 {
		t.Errorf("notifications: %d %v (no router: none queued)", code, v)
	}
	// no token, no alerts
	req := httptest.NewRequest("GET", "/api/alerts", nil)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", rec.Code)
	}
}
