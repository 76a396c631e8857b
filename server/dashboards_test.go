package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/xuri/excelize/v2"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/dashboard"
	"github.com/pulsekpi/pulse/dashboards"
	"github.com/pulsekpi/pulse/generate"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/transform"
	"github.com/pulsekpi/pulse/warehouse"
)

type collectSink struct{ msgs []generate.Message }

func (s *collectSink) Send(_ context.Context, msgs []generate.Message) error {
	s.msgs = append(s.msgs, msgs...)
	return nil
}

// dashNow is the generated company's present and the server's clock.
var dashNow = time.Date(2026, 4, 5, 10, 0, 0, 0, time.UTC)

// The period the tests look at: March 2026, which the 20 generated days
// cover for its second half.
const dashPeriod = "grain=month&period=2026-03-01"

// dashFixture is a warehouse of a generated company, transformed once with
// the alert rules evaluated, and users of every role: an employee (emp)
// with teammates, their manager (mgr) who does not see everyone, an
// analyst and an executive, and the admin token.
type dashFixture struct {
	db      *sql.DB
	tr      *transform.Transformer
	runID   int64
	users   *auth.Store
	tokens  map[string]string
	emp     string                // the employee's employee id
	mates   []string              // emp's teammates at the period (emp included)
	mgr     string                // the manager's employee id
	scopes  map[string]auth.Scope // by login
	outside string                // an employee the manager may not see
}

func buildDashFixture(t *testing.T) *dashFixture {
	t.Helper()
	ctx := context.Background()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: t.TempDir(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	gen := generate.New(generate.Options{Seed: 1, Days: 20, Employees: 40, Now: dashNow, BadRate: 0.01})
	var sink collectSink
	if _, err := gen.History(ctx, &sink); err != nil {
		t.Fatal(err)
	}
	byTopic := map[string][][]byte{}
	var topics []string
	for _, m := range sink.msgs {
		if _, ok := byTopic[m.Topic]; !ok {
			topics = append(topics, m.Topic)
		}
		byTopic[m.Topic] = append(byTopic[m.Topic], m.Value)
	}
	for _, topic := range topics {
		if _, err := ingest.Load(ctx, w, topic, byTopic[topic]); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := alert.New(w.DB(), alert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transform.New(w.DB(), transform.Options{Macros: ev.Macros(), Now: func() time.Time { return dashNow },
		AfterRun: ev.AfterRun})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Stop() })
	run, err := tr.RunNow(ctx, transform.RunRequest{})
	if err != nil || run.Status != transform.StatusOK {
		t.Fatalf("transform run: %v %+v", err, run)
	}
	f := &dashFixture{db: w.DB(), tr: tr, runID: run.ID, tokens: map[string]string{}, scopes: map[string]auth.Scope{}}

	// A salesperson with sales teammates, and a manager of theirs.
	err = f.db.QueryRowContext(ctx, `
		SELECT m.employee_id, e.manager_id
		FROM staging.period_members AS m JOIN staging.employees AS e USING (employee_id)
		WHERE m.grain = 'month' AND m.period_start = DATE '2026-03-01' AND m.role = 'sales'
		  AND e.manager_id IS NOT NULL
		  AND (SELECT count(*) FROM staging.period_members AS o WHERE o.grain = m.grain
		       AND o.period_start = m.period_start AND o.team_id = m.team_id AND o.role = 'sales') >= 2
		ORDER BY m.employee_id LIMIT 1`).Scan(&f.emp, &f.mgr)
	if err != nil {
		t.Fatalf("no salesperson with teammates and a manager in the generated company: %v", err)
	}
	rows, err := f.db.QueryContext(ctx, `
		SELECT o.employee_id FROM staging.period_members AS m JOIN staging.period_members AS o
		  ON o.grain = m.grain AND o.period_start = m.period_start AND o.team_id = m.team_id
		WHERE m.grain = 'month' AND m.period_start = DATE '2026-03-01' AND m.employee_id = ?
		ORDER BY 1`, f.emp)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		f.mates = append(f.mates, id)
	}
	rows.Close()

	f.users = auth.NewStore(f.db, auth.StoreOptions{Params: auth.Params{Memory: 8 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	for _, u := range []auth.User{
		{Login: "emp", Role: auth.RoleEmployee, EmployeeID: f.emp},
		{Login: "mgr", Role: auth.RoleManager, EmployeeID: f.mgr},
		{Login: "ana", Role: auth.RoleAnalyst},
		{Login: "exec", Role: auth.RoleExecutive},
	} {
		u.Password = "correct horse battery"
		if _, err := f.users.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		tok, err := f.users.CreateToken(ctx, u.Login, "test")
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[u.Login] = tok
		sc, err := auth.ScopeFor(ctx, f.db, auth.Principal{Role: u.Role, EmployeeID: u.EmployeeID})
		if err != nil {
			t.Fatal(err)
		}
		f.scopes[u.Login] = sc
	}
	f.scopes["admin"] = auth.Scope{All: true}
	var all []string
	rows, err = f.db.QueryContext(ctx, `SELECT employee_id FROM staging.employees ORDER BY role <> 'sales', 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		all = append(all, id)
	}
	rows.Close()
	for _, id := range all {
		if !f.scopes["mgr"].CanSeeEmployee(id) {
			f.outside = id
			break
		}
	}
	if f.outside == "" {
		t.Fatalf("manager %s sees everyone %v: the test needs someone outside", f.mgr, all)
	}
	return f
}

type staticDashboards struct {
	mu  sync.Mutex
	set *dashboard.Set
}

func (d *staticDashboards) Current() *dashboard.Set {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set
}

func (d *staticDashboards) swap(s *dashboard.Set) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.set = s
}

// withCompanyTile is the shipped set plus a dashboard holding a
// company-wide tile.
func withCompanyTile(t *testing.T) *dashboard.Set {
	t.Helper()
	dir := t.TempDir()
	files, _ := fsGlob(dashboards.Shipped())
	for name, data := range files {
		writeFile(t, dir+"/"+name, data)
	}
	writeFile(t, dir+"/company.yaml", []byte(`title: {en: Company, zh-CN: 公司}
order: 9
filters:
  period: {default: current}
tiles:
  - id: total
    title: {en: Total revenue, zh-CN: 总销售额}
    kind: figure
    scope: company
    params: [period_start]
    size: {w: 3, h: 2}
    columns:
      - {name: value, label: {en: Revenue, zh-CN: 销售额}, format: money}
    sql: |
      SELECT revenue AS value FROM marts.kpis_wide
      WHERE grain = 'month' AND period_start = $period_start AND subject_type = 'company'
`))
	set, err := dashboard.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

type tileAnswer struct {
	Dashboard   string `json:"dashboard"`
	Tile        string `json:"tile"`
	Kind        string `json:"kind"`
	Grain       string `json:"grain"`
	PeriodStart string `json:"period_start"`
	PeriodEnd   string `json:"period_end"`
	Columns     []struct {
		Name   string `json:"name"`
		Label  string `json:"label"`
		Format string `json:"format"`
		Hidden bool   `json:"hidden"`
		KPI    string `json:"kpi"`
	} `json:"columns"`
	Rows      [][]any `json:"rows"`
	Truncated bool    `json:"truncated"`
	Cached    bool    `json:"cached"`
	RunID     int64   `json:"run_id"`
}

func (a tileAnswer) col(name string) int {
	for i, c := range a.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// values are the column's values as strings ("" for null).
func (a tileAnswer) values(name string) []string {
	i := a.col(name)
	if i < 0 {
		return nil
	}
	out := make([]string, len(a.Rows))
	for n, row := range a.Rows {
		if row[i] != nil {
			out[n] = fmt.Sprint(row[i])
		}
	}
	return out
}

// Every role through the dashboard endpoints over a generated company:
// what each may open, the filter choices, every tile's rows kept to the
// viewer's scope (also after an admin warmed the cache), company tiles
// refused, leaderboards of teammates' names and values, exports with the
// JSON's rows, the cache and its invalidation, and errors.
func TestDashboardAPI(t *testing.T) {
	f := buildDashFixture(t)
	set := withCompanyTile(t)
	src := &staticDashboards{set: set}
	reg := prometheus.NewRegistry()
	s := server.New(server.Options{AdminToken: "admintok", Warehouse: fakeWarehouse{}, Auth: f.users,
		Dashboards: src, Gatherer: reg,
		Tiles: server.TileOptions{DB: f.db, Now: func() time.Time { return dashNow }, Metrics: server.NewTileMetrics(reg)}})
	do := func(who, path string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		tok := f.tokens[who]
		if who == "admin" {
			tok = "admintok"
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
	tile := func(who, path string) (int, tileAnswer) {
		t.Helper()
		rec := do(who, path)
		var a tileAnswer
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
				t.Fatalf("%s %s: %v: %s", who, path, err, rec.Body)
			}
		}
		return rec.Code, a
	}
	roles := []string{"admin", "exec", "ana", "mgr", "emp"}

	t.Run("list", func(t *testing.T) {
		for who, want := range map[string][]string{
			"admin": {"executive", "sales", "service", "data_quality", "my_scorecard", "alerts", "company"},
			"exec":  {"executive", "sales", "service", "data_quality", "my_scorecard", "alerts", "company"},
			"mgr":   {"executive", "sales", "service", "data_quality", "my_scorecard", "alerts"},
			"emp":   {"sales", "service", "data_quality", "my_scorecard", "alerts"},
		} {
			rec := do(who, "/api/dashboards")
			var v struct {
				Dashboards []struct {
					ID    string         `json:"id"`
					Title dashboard.Text `json:"title"`
				} `json:"dashboards"`
			}
			json.Unmarshal(rec.Body.Bytes(), &v)
			var got []string
			for _, d := range v.Dashboards {
				got = append(got, d.ID)
				if d.Title.EN == "" || d.Title.ZhCN == "" {
					t.Errorf("%s: dashboard %s without both titles", who, d.ID)
				}
			}
			if rec.Code != 200 || !slices.Equal(got, want) {
				t.Errorf("%s: GET /api/dashboards = %d %v, want %v", who, rec.Code, got, want)
			}
		}
		if rec := do("emp", "/api/dashboards/executive"); rec.Code != http.StatusForbidden {
			t.Errorf("employee opening executive: %d, want 403", rec.Code)
		}
		if rec := do("mgr", "/api/dashboards/nope"); rec.Code != http.StatusNotFound {
			t.Errorf("unknown dashboard: %d, want 404", rec.Code)
		}
	})

	t.Run("options", func(t *testing.T) {
		for _, who := range roles {
			rec := do(who, "/api/dashboards/sales")
			var v struct {
				ID      string                      `json:"id"`
				Tiles   []struct{ ID, Kind string } `json:"tiles"`
				Options struct {
					Grains    []string `json:"grains"`
					Teams     []struct{ ID, Name string }
					Employees []struct {
						ID     string `json:"id"`
						TeamID string `json:"team_id"`
					} `json:"employees"`
					Default struct{ Grain, Period, Team, Employee string } `json:"default"`
				} `json:"options"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || rec.Code != 200 {
				t.Fatalf("%s: GET /api/dashboards/sales = %d %s", who, rec.Code, rec.Body)
			}
			if v.ID != "sales" || len(v.Tiles) == 0 || !slices.Equal(v.Options.Grains, []string{"week", "month", "quarter"}) ||
				v.Options.Default.Grain != "month" || v.Options.Default.Period != "2026-04-01" {
				t.Errorf("%s: dashboard = %+v", who, v)
			}
			sc := f.scopes[who]
			for _, tm := range v.Options.Teams {
				if !sc.CanSeeTeam(tm.ID) {
					t.Errorf("%s is offered team %s outside their scope", who, tm.ID)
				}
			}
			if who == "emp" && len(v.Options.Teams) != 0 {
				t.Errorf("employee is offered teams %v", v.Options.Teams)
			}
			if who == "mgr" && (len(v.Options.Teams) == 0 || v.Options.Default.Team == "") {
				t.Errorf("manager: teams %v, default team %q: want their team", v.Options.Teams, v.Options.Default.Team)
			}
		}
		var exec struct {
			Tiles []struct{ ID, KPI string } `json:"tiles"`
		}
		json.Unmarshal(do("mgr", "/api/dashboards/executive").Body.Bytes(), &exec)
		if len(exec.Tiles) == 0 || exec.Tiles[0].ID != "revenue" || exec.Tiles[0].KPI != "revenue" {
			t.Errorf("executive tiles = %+v, want revenue first with its kpi", exec.Tiles)
		}
		rec := do("emp", "/api/dashboards/my_scorecard")
		var v struct {
			Options struct {
				Employees []struct{ ID string }     `json:"employees"`
				Default   struct{ Employee string } `json:"default"`
			} `json:"options"`
		}
		json.Unmarshal(rec.Body.Bytes(), &v)
		if len(v.Options.Employees) != 1 || v.Options.Employees[0].ID != f.emp || v.Options.Default.Employee != f.emp {
			t.Errorf("employee's my_scorecard options = %s", rec.Body)
		}
	})

	// An admin warms the cache first for each tile and filters; nobody
	// else may then get the admin's rows.
	t.Run("every tile, every role", func(t *testing.T) {
		filled := map[string]int{} // tiles with rows, by viewer
		defer func() {
			t.Logf("tiles with rows: %v", filled)
			for _, who := range []string{"mgr", "emp"} {
				if filled[who] < 5 {
					t.Errorf("%s sees rows in %d tiles only: the scope checks are too thin", who, filled[who])
				}
			}
		}()
		for _, d := range set.Dashboards {
			for _, tl := range d.Tiles {
				for _, who := range roles {
					path := fmt.Sprintf("/api/dashboards/%s/tiles/%s?%s", d.ID, tl.ID, dashPeriod)
					if d.ID == "my_scorecard" && (who == "admin" || who == "exec" || who == "ana") {
						path += "&employee=" + f.emp
					}
					code, a := tile(who, path)
					sc := f.scopes[who]
					switch {
					case tl.Scope.Mode == dashboard.ScopeCompany && !sc.All:
						if code != http.StatusForbidden {
							t.Errorf("%s %s: %d, want 403 for a company tile", who, path, code)
						}
						continue
					case tl.Scope.Mode == dashboard.ScopeTeam && !sc.All && len(sc.TeamIDs()) == 0:
						if code != http.StatusForbidden {
							t.Errorf("%s %s: %d, want 403 for a team tile to a viewer with no team in scope", who, path, code)
						}
						continue
					case code != http.StatusOK:
						t.Errorf("%s %s: %d %s", who, path, code, do(who, path).Body)
						continue
					}
					if a.Dashboard != d.ID || a.Tile != tl.ID || a.Kind != tl.Kind || a.PeriodStart != "2026-03-01" ||
						a.PeriodEnd != "2026-04-01" || a.RunID != f.runID {
						t.Errorf("%s %s: header %+v", who, path, a)
					}
					if len(a.Columns) == 0 {
						t.Errorf("%s %s: no columns", who, path)
					}
					checkScope(t, who, path, sc, f, tl, a)
					if len(a.Rows) > 0 {
						filled[who]++
					}
					// The exports hold the same rows.
					if rec := do(who, path+"&format=csv"); rec.Code != 200 {
						t.Errorf("%s %s csv: %d", who, path, rec.Code)
					} else if recs, err := csv.NewReader(rec.Body).ReadAll(); err != nil || len(recs) != len(a.Rows)+1 {
						t.Errorf("%s %s csv: %d records (%v), JSON %d rows", who, path, len(recs), err, len(a.Rows))
					}
					rec := do(who, path+"&format=xlsx")
					x, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
					if rec.Code != 200 || err != nil {
						t.Errorf("%s %s xlsx: %d %v", who, path, rec.Code, err)
						continue
					}
					if xrows, _ := x.GetRows("Sheet1"); len(xrows) != len(a.Rows)+1 {
						t.Errorf("%s %s xlsx: %d rows, JSON %d", who, path, len(xrows)-1, len(a.Rows))
					}
					x.Close()
				}
			}
		}
	})

	t.Run("rows per role", func(t *testing.T) {
		s.InvalidateTiles()
		people := "/api/dashboards/sales/tiles/people?" + dashPeriod
		_, admin := tile("admin", people)
		if _, again := tile("admin", people); !again.Cached {
			t.Errorf("second identical call not cached")
		}
		_, mgr := tile("mgr", people)
		_, emp := tile("emp", people)
		if mgr.Cached || emp.Cached {
			t.Errorf("manager or employee answered from the admin's cache entry: %v %v", mgr.Cached, emp.Cached)
		}
		if ids := emp.values("employee_id"); !slices.Equal(ids, []string{f.emp}) {
			t.Errorf("employee sees people %v, want only %s", ids, f.emp)
		}
		if len(admin.Rows) <= len(mgr.Rows) {
			t.Errorf("admin sees %d people, manager %d: want fewer for the manager", len(admin.Rows), len(mgr.Rows))
		}
		if slices.Contains(mgr.values("employee_id"), f.outside) {
			t.Errorf("manager sees %s outside their scope", f.outside)
		}
		t.Logf("sales/people: admin sees %d, manager %d, employee %d", len(admin.Rows), len(mgr.Rows), len(emp.Rows))
		if i := admin.col("revenue"); i < 0 || admin.Columns[i].Label != "Revenue" || admin.Columns[i].Format != "money" {
			t.Errorf("columns = %+v", admin.Columns)
		}
		_, zh := tile("admin", people+"&lang=zh-CN")
		if i := zh.col("revenue"); i < 0 || zh.Columns[i].Label != "销售额" || zh.Cached {
			t.Errorf("zh-CN columns = %+v cached %v", zh.Columns, zh.Cached)
		}
		if i := admin.col("revenue"); admin.Columns[i].KPI != "revenue" {
			t.Errorf("revenue column's kpi = %q, want revenue (for the drill-down link)", admin.Columns[i].KPI)
		}
		if i := admin.col("employee_id"); i < 0 || !admin.Columns[i].Hidden {
			t.Errorf("employee_id not hidden: %+v", admin.Columns)
		}
		// Asking for someone else is refused, not answered empty.
		for _, c := range []struct {
			who, path string
			want      int
		}{
			{"emp", "/api/dashboards/my_scorecard/tiles/score?" + dashPeriod + "&employee=" + f.mates[len(f.mates)-1], 403},
			{"emp", "/api/dashboards/my_scorecard/tiles/score?" + dashPeriod + "&employee=" + f.outside, 403},
			{"mgr", "/api/dashboards/my_scorecard/tiles/score?" + dashPeriod + "&employee=" + f.outside, 403},
			{"emp", "/api/dashboards/my_scorecard/tiles/score?" + dashPeriod, 200},
			{"mgr", "/api/dashboards/my_scorecard/tiles/score?" + dashPeriod + "&employee=" + f.emp, 200},
			{"admin", "/api/dashboards/my_scorecard/tiles/score?" + dashPeriod, 400},
			{"emp", "/api/dashboards/company/tiles/total?" + dashPeriod, 403},
			{"mgr", "/api/dashboards/company/tiles/total?" + dashPeriod, 403},
			{"exec", "/api/dashboards/company/tiles/total?" + dashPeriod, 200},
		} {
			if c.who == "emp" && strings.HasSuffix(c.path, "&employee="+f.emp) {
				continue
			}
			rec := do(c.who, c.path)
			if rec.Code != c.want || (c.want != 200 && !strings.Contains(rec.Body.String(), `"error"`)) {
				t.Errorf("%s %s: %d %s, want %d", c.who, c.path, rec.Code, rec.Body, c.want)
			}
		}
		_, score := tile("emp", "/api/dashboards/my_scorecard/tiles/score?"+dashPeriod)
		if ids := score.values("employee_id"); len(ids) != 1 || ids[0] != f.emp {
			t.Errorf("employee's own score rows: %v", score.Rows)
		}
	})

	t.Run("values", func(t *testing.T) {
		_, trend := tile("admin", "/api/dashboards/executive/tiles/revenue_trend?"+dashPeriod)
		if len(trend.Rows) == 0 {
			t.Fatal("no revenue trend")
		}
		for _, x := range trend.values("x") {
			if _, err := time.Parse(time.DateOnly, x); err != nil {
				t.Errorf("date cell %q is not YYYY-MM-DD", x)
			}
		}
		for _, row := range trend.Rows {
			if _, ok := row[trend.col("y")].(float64); !ok && row[trend.col("y")] != nil {
				t.Errorf("revenue %v (%T) is not a JSON number", row[trend.col("y")], row[trend.col("y")])
			}
		}
		_, refused := tile("admin", "/api/dashboards/data_quality/tiles/refused_latest?"+dashPeriod)
		if len(refused.Rows) == 0 {
			t.Fatal("no refused events")
		}
		for _, at := range refused.values("refused_at") {
			if _, err := time.Parse(time.RFC3339, at); err != nil {
				t.Errorf("timestamp cell %q is not RFC 3339", at)
			}
		}
		// A manager picks their team; another team is refused.
		mgrTeam := ""
		for _, id := range f.scopes["mgr"].TeamIDs() {
			mgrTeam = id
		}
		code, rev := tile("mgr", "/api/dashboards/executive/tiles/revenue?"+dashPeriod+"&team="+mgrTeam)
		if code != 200 || len(rev.Rows) != 1 || rev.values("team_id")[0] != mgrTeam {
			t.Errorf("manager's team revenue: %d %+v", code, rev)
		}
		code, rev = tile("mgr", "/api/dashboards/executive/tiles/revenue?"+dashPeriod)
		if code != 200 || len(rev.Rows) != 0 {
			t.Errorf("manager's company revenue: %d %+v, want no rows", code, rev.Rows)
		}
		var other string
		f.db.QueryRow(`SELECT team_id FROM staging.employees WHERE team_id <> ? ORDER BY 1 LIMIT 1`, mgrTeam).Scan(&other)
		if rec := do("mgr", "/api/dashboards/executive/tiles/revenue?"+dashPeriod+"&team="+other); rec.Code != http.StatusForbidden {
			t.Errorf("manager asking for team %s: %d, want 403", other, rec.Code)
		}
		if rec := do("emp", "/api/dashboards/sales/tiles/people?"+dashPeriod+"&team="+mgrTeam); rec.Code != http.StatusForbidden {
			t.Errorf("employee asking for their team's table: %d, want 403", rec.Code)
		}

	})

	t.Run("leaderboard", func(t *testing.T) {
		lb := "/api/dashboards/sales/tiles/revenue_leaderboard?" + dashPeriod
		_, admin := tile("admin", lb) // warm the cache with everyone's rows
		code, emp := tile("emp", lb)
		if code != 200 || emp.Cached {
			t.Fatalf("employee leaderboard: %d cached %v", code, emp.Cached)
		}
		names := map[string]string{} // name -> id, from the admin's view
		for _, row := range admin.Rows {
			names[fmt.Sprint(row[admin.col("name")])] = fmt.Sprint(row[admin.col("employee_id")])
		}
		var seenSelf bool
		for _, row := range emp.Rows {
			id := names[fmt.Sprint(row[emp.col("name")])]
			if !slices.Contains(f.mates, id) {
				t.Errorf("employee's leaderboard shows %s, not a teammate (%v)", id, f.mates)
			}
			if got := row[emp.col("employee_id")]; id == f.emp {
				seenSelf = got == f.emp
			} else if got != nil {
				t.Errorf("teammate %s's row carries employee_id %v: want name, value and rank only", id, got)
			}
		}
		if !seenSelf || len(emp.Rows) < 2 {
			t.Errorf("employee's leaderboard = %v: want themself and teammates", emp.Rows)
		}
	})

	t.Run("exports", func(t *testing.T) {
		for _, who := range []string{"mgr", "emp", "admin"} {
			path := "/api/dashboards/sales/tiles/people?" + dashPeriod
			_, js := tile(who, path)
			var shown []int
			var header []string
			for i, c := range js.Columns {
				if !c.Hidden {
					shown, header = append(shown, i), append(header, c.Label)
				}
			}
			rec := do(who, path+"&format=csv")
			if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Disposition"), "attachment") {
				t.Fatalf("%s csv: %d %v", who, rec.Code, rec.Header())
			}
			body, hasBOM := strings.CutPrefix(rec.Body.String(), "\ufeff")
			if !hasBOM {
				t.Errorf("%s csv: no UTF-8 byte order mark (Excel then garbles Chinese)", who)
			}
			recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(recs[0], header) || slices.Contains(recs[0], "employee_id") {
				t.Errorf("%s csv header %v, want %v", who, recs[0], header)
			}
			if len(recs)-1 != len(js.Rows) {
				t.Fatalf("%s csv has %d rows, JSON %d", who, len(recs)-1, len(js.Rows))
			}
			for n, row := range js.Rows {
				for k, i := range shown {
					want := ""
					if row[i] != nil {
						want = fmt.Sprint(row[i])
					}
					if got := recs[n+1][k]; !sameNumber(got, want) {
						t.Errorf("%s csv row %d %s = %q, JSON %q", who, n, header[k], got, want)
					}
				}
			}

			rec = do(who, path+"&format=xlsx&lang=zh-CN")
			if rec.Code != 200 {
				t.Fatalf("%s xlsx: %d %s", who, rec.Code, rec.Body)
			}
			x, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			xrows, err := x.GetRows("Sheet1", excelize.Options{RawCellValue: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(xrows)-1 != len(js.Rows) || xrows[0][0] != "姓名" {
				t.Fatalf("%s xlsx: %d rows (JSON %d), header %v", who, len(xrows)-1, len(js.Rows), xrows[0])
			}
			for n, row := range js.Rows {
				for k, i := range shown {
					want := ""
					if row[i] != nil {
						want = fmt.Sprint(row[i])
					}
					got := ""
					if k < len(xrows[n+1]) {
						got = xrows[n+1][k]
					}
					if !sameNumber(got, want) {
						t.Errorf("%s xlsx row %d %s = %q, JSON %q", who, n, header[k], got, want)
					}
				}
			}
			// Typed cells: revenue is a number with a money format,
			// attainment a percent.
			if len(js.Rows) > 0 {
				for k, i := range shown {
					cell, _ := excelize.CoordinatesToCellName(k+1, 2)
					typ, _ := x.GetCellType("Sheet1", cell)
					switch js.Columns[i].Name {
					case "name":
						if typ == excelize.CellTypeNumber {
							t.Errorf("name typed as a number")
						}
					case "revenue", "contracts":
						if js.Rows[0][i] != nil && typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
							t.Errorf("%s cell type %v, want a number", js.Columns[i].Name, typ)
						}
					case "attainment_revenue":
						if js.Rows[0][i] != nil {
							st, _ := x.GetCellStyle("Sheet1", cell)
							style, _ := x.GetStyle(st)
							if style == nil || style.CustomNumFmt == nil || !strings.Contains(*style.CustomNumFmt, "%") {
								t.Errorf("attainment cell style %+v, want a percent format", style)
							}
						}
					}
				}
			}
			x.Close()
		}
		// Dates stay dates in the workbook.
		rec := do("admin", "/api/dashboards/executive/tiles/revenue_trend?"+dashPeriod+"&format=xlsx")
		x, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := x.GetCellValue("Sheet1", "A2"); !strings.HasPrefix(v, "2026-0") && !strings.HasPrefix(v, "2025-") {
			t.Errorf("revenue_trend A2 = %q, want a date shown as YYYY-MM-DD", v)
		}
		if raw, _ := x.GetCellValue("Sheet1", "A2", excelize.Options{RawCellValue: true}); strings.Contains(raw, "-") {
			t.Errorf("revenue_trend A2 raw = %q, want a date serial", raw)
		}
		x.Close()
	})

	t.Run("cache", func(t *testing.T) {
		path := "/api/dashboards/executive/tiles/revenue?" + dashPeriod
		s.InvalidateTiles()
		if _, a := tile("exec", path); a.Cached {
			t.Errorf("first call cached")
		}
		if _, a := tile("exec", path); !a.Cached {
			t.Errorf("second call not cached")
		}
		if _, a := tile("ana", path); !a.Cached {
			t.Errorf("analyst (who also sees everyone) not served from the same entry")
		}
		if _, a := tile("exec", "/api/dashboards/executive/tiles/revenue?grain=quarter&period=2026-03-01"); a.Cached || a.Grain != "quarter" {
			t.Errorf("other filters served from the cache: %+v", a)
		}
		s.InvalidateTiles()
		if _, a := tile("exec", path); a.Cached {
			t.Errorf("cached after invalidation")
		}
		// A reload of the set drops the cache too.
		src.swap(withCompanyTile(t))
		if _, a := tile("exec", path); a.Cached {
			t.Errorf("cached after a reload")
		}
		// Concurrent identical requests share one query and all answer.
		s.InvalidateTiles()
		var wg sync.WaitGroup
		codes := make([]int, 8)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = do("exec", path).Code
			}()
		}
		wg.Wait()
		for _, c := range codes {
			if c != 200 {
				t.Errorf("concurrent call: %d", c)
			}
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, mf := range mfs {
			found[mf.GetName()] = true
		}
		for _, name := range []string{"pulse_dashboard_tile_seconds", "pulse_dashboard_tile_cache_hits_total", "pulse_dashboard_tile_cache_misses_total"} {
			if !found[name] {
				t.Errorf("metric %s not registered", name)
			}
		}
	})

	// A figure's previous value, like for like, counted from the contracts
	// themselves: on Thursday 2 April the week of 30 March is 4 days old,
	// so it is set against 23-26 March; the week of 23 March is over, so
	// against the whole week before.
	t.Run("previous period to date", func(t *testing.T) {
		thursday := time.Date(2026, 4, 2, 10, 0, 0, 0, time.UTC)
		s2 := server.New(server.Options{AdminToken: "admintok", Warehouse: fakeWarehouse{}, Auth: f.users, Dashboards: src,
			Tiles: server.TileOptions{DB: f.db, Now: func() time.Time { return thursday }}})
		for _, c := range []struct{ period, from, to string }{
			{"2026-03-30", "2026-03-23", "2026-03-27"},
			{"2026-03-23", "2026-03-16", "2026-03-23"},
		} {
			var want float64
			if err := f.db.QueryRow(`SELECT coalesce(sum(amount), 0) FROM staging.contracts
				WHERE local_date >= CAST(? AS DATE) AND local_date < CAST(? AS DATE)`, c.from, c.to).Scan(&want); err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/api/dashboards/executive/tiles/revenue?grain=week&period="+c.period, nil)
			req.Header.Set("Authorization", "Bearer admintok")
			rec := httptest.NewRecorder()
			s2.Handler().ServeHTTP(rec, req)
			var fig tileAnswer
			if err := json.Unmarshal(rec.Body.Bytes(), &fig); err != nil || len(fig.Rows) != 1 {
				t.Fatalf("revenue figure for the week of %s: %d %s", c.period, rec.Code, rec.Body)
			}
			got, _ := fig.Rows[0][fig.col("previous")].(float64)
			if want == 0 || math.Abs(got-want) > 0.005 {
				t.Errorf("week of %s: previous %v, want %v (contracts of [%s, %s))", c.period, got, want, c.from, c.to)
			}
		}
	})

	t.Run("max rows and circle self", func(t *testing.T) {
		s2 := server.New(server.Options{AdminToken: "admintok", Warehouse: fakeWarehouse{}, Auth: f.users, Dashboards: src,
			Tiles: server.TileOptions{DB: f.db, Now: func() time.Time { return dashNow }, MaxRows: 2, LeaderboardCircle: server.CircleSelf}})
		get := func(who, path string) tileAnswer {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			tok := f.tokens[who]
			if who == "admin" {
				tok = "admintok"
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			s2.Handler().ServeHTTP(rec, req)
			var a tileAnswer
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil || rec.Code != 200 {
				t.Fatalf("%s %s: %d %s", who, path, rec.Code, rec.Body)
			}
			return a
		}
		if a := get("admin", "/api/dashboards/sales/tiles/people?"+dashPeriod); len(a.Rows) != 2 || !a.Truncated {
			t.Errorf("max_rows 2: %d rows, truncated %v", len(a.Rows), a.Truncated)
		}
		if a := get("emp", "/api/dashboards/sales/tiles/revenue_leaderboard?"+dashPeriod); len(a.Rows) != 1 ||
			a.values("employee_id")[0] != f.emp || a.Truncated {
			t.Errorf("circle self: employee sees %v", a.Rows)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		s3 := server.New(server.Options{AdminToken: "admintok", Warehouse: fakeWarehouse{}, Auth: f.users, Dashboards: src,
			Tiles: server.TileOptions{DB: f.db, Now: func() time.Time { return dashNow }, Timeout: time.Nanosecond}})
		req := httptest.NewRequest(http.MethodGet, "/api/dashboards/sales/tiles/people?"+dashPeriod, nil)
		req.Header.Set("Authorization", "Bearer admintok")
		rec := httptest.NewRecorder()
		s3.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusGatewayTimeout || !strings.Contains(rec.Body.String(), "took too long") {
			t.Errorf("a tile past its timeout: %d %s, want 504", rec.Code, rec.Body)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		base := "/api/dashboards/sales/tiles/people?"
		for path, want := range map[string]int{
			base + "grain=fortnight":                          400,
			base + "grain=day":                                400, // not offered by sales
			base + "period=2026-13-01":                        400,
			base + "period=March":                             400,
			base + "lang=fr":                                  400,
			base + "format=pdf":                               400,
			base + "employee=" + f.emp:                        400, // sales has no employee filter
			"/api/dashboards/my_scorecard/tiles/score?team=t": 400,
			"/api/dashboards/nope/tiles/people":               404,
			"/api/dashboards/sales/tiles/nope":                404,
		} {
			rec := do("admin", path)
			var v map[string]string
			json.Unmarshal(rec.Body.Bytes(), &v)
			if rec.Code != want || !strings.Contains(v["error"], " ") {
				t.Errorf("GET %s = %d %s, want %d with a reason", path, rec.Code, rec.Body, want)
			}
		}
	})
}

// checkScope asserts a tile's rows are the viewer's: every id column
// names someone (or a team) in scope, except the masked rows of an
// employee leaderboard, which carry no id at all.
func checkScope(t *testing.T, who, path string, sc auth.Scope, f *dashFixture, tl *dashboard.Tile, a tileAnswer) {
	t.Helper()
	if sc.All {
		return
	}
	for _, name := range []string{"employee_id", "owner_id"} {
		for _, id := range a.values(name) {
			if id == "" && tl.Kind == "leaderboard" {
				continue
			}
			if id != "" && !sc.CanSeeEmployee(id) {
				t.Errorf("%s %s: row of %s %s outside their scope", who, path, name, id)
			}
		}
	}
	for _, id := range a.values("team_id") {
		if !sc.CanSeeTeam(id) {
			t.Errorf("%s %s: row of team %q outside their scope", who, path, id)
		}
	}
	if tl.Kind == "leaderboard" && tl.Scope.Mode == dashboard.ScopeEmployee {
		for _, row := range a.Rows {
			for i, c := range a.Columns {
				if c.Name != "name" && c.Name != "value" && c.Name != "rank" && row[a.col("employee_id")] == nil && row[i] != nil {
					t.Errorf("%s %s: a masked row shows %s", who, path, c.Name)
				}
			}
		}
	}
}

// sameNumber compares a cell as exported with the JSON value: equal
// strings, or equal numbers however written.
func sameNumber(got, want string) bool {
	if got == want {
		return true
	}
	var g, w float64
	if _, err := fmt.Sscan(got, &g); err != nil {
		return false
	}
	if _, err := fmt.Sscan(want, &w); err != nil {
		return false
	}
	d := g - w
	return d < 1e-9 && d > -1e-9
}

func fsGlob(fsys fs.FS) (map[string][]byte, error) {
	out := map[string][]byte{}
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		out[n] = b
	}
	return out, nil
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
