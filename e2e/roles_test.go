package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// navRule is what a role's navigation must and must not offer; a link in
// neither list may be there or not (employees may or may not get an
// alerts page of their own alerts).
type navRule struct {
	must, mustNot []string
}

var navRules = map[string]navRule{
	"admin":     {must: []string{"dashboards", "sql", "alerts", "ingest", "transforms"}},
	"executive": {must: []string{"dashboards", "alerts", "ingest", "transforms"}, mustNot: []string{"sql"}},
	"analyst":   {must: []string{"dashboards", "sql", "alerts", "ingest", "transforms"}},
	"manager":   {must: []string{"dashboards", "alerts"}, mustNot: []string{"sql", "ingest", "transforms"}},
	"employee":  {must: []string{"dashboards"}, mustNot: []string{"sql", "ingest", "transforms"}},
}

// seesEverything are the roles whose scope is the whole company.
var seesEverything = map[string]bool{"admin": true, "executive": true, "analyst": true}

// chartKinds are the tile kinds drawn with ECharts.
var chartKinds = map[string]bool{"line": true, "bar": true, "funnel": true, "heatmap": true, "leaderboard": true}

// apiDashboard is what GET /api/dashboards/:id says of a dashboard.
type apiDashboard struct {
	ID    string `json:"id"`
	Tiles []struct {
		ID      string `json:"id"`
		Kind    string `json:"kind"`
		Columns []struct {
			Name   string `json:"name"`
			Hidden bool   `json:"hidden"`
		} `json:"columns"`
		Scope struct {
			Mode   string `json:"mode"`
			Column string `json:"column"`
		} `json:"scope"`
	} `json:"tiles"`
	Options struct {
		Employees []struct {
			ID string `json:"id"`
		} `json:"employees"`
		Default struct {
			Grain    string `json:"grain"`
			Period   string `json:"period"`
			Team     string `json:"team"`
			Employee string `json:"employee"`
		} `json:"default"`
	} `json:"options"`
}

// dashboardRef is a dashboard of GET /api/dashboards.
type dashboardRef struct {
	ID string `json:"id"`
}

// domTile is a tile as the page shows it.
type domTile struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	State   string   `json:"state"`
	Chart   bool     `json:"chart"`   // has a div.chart
	ECharts bool     `json:"echarts"` // ECharts owns that div
	Series  int      `json:"series"`  // series with a non-empty data array
	Error   string   `json:"error"`
	Exports []string `json:"exports"` // data-format of a.export links
}

const readTiles = `Array.from(document.querySelectorAll('#dashboard section.tile')).map(function (s) {
  var c = s.querySelector('div.chart'), inst = null, series = 0, err = '';
  try {
    inst = c && window.echarts ? window.echarts.getInstanceByDom(c) : null;
    if (inst) {
      (inst.getOption().series || []).forEach(function (x) {
        if (Array.isArray(x.data) && x.data.length > 0) series++;
      });
    }
  } catch (e) { err = String(e); }
  return {id: s.dataset.tile || '', kind: s.dataset.kind || '', state: s.dataset.state || '',
    chart: !!c, echarts: !!inst, series: series, error: err,
    exports: Array.from(s.querySelectorAll('a.export[data-format]')).map(function (a) { return a.dataset.format; })};
})`

// TestRoles signs in as each role and opens every dashboard the role is
// offered: every tile settles, none in error, charts hold data for the
// company-wide roles, employees see only their own figures; the
// navigation offers only what the role may use; the language switches;
// no page logs an error.
func TestRoles(t *testing.T) {
	h := need(t)
	for _, role := range roles {
		t.Run(role, func(t *testing.T) {
			s := newSession(t, h, role, h.demo.base)
			s.signIn()
			landing := must[string](s, "location.pathname")
			s.checkPage("home", allowForbiddenTiles)

			var who struct {
				User struct {
					EmployeeID string `json:"employee_id"`
				} `json:"user"`
			}
			if st := s.api("/api/session", &who); st != http.StatusOK {
				t.Fatalf("GET /api/session: %d", st)
			}
			checkNav(t, s)

			var list struct {
				Dashboards []dashboardRef `json:"dashboards"`
			}
			if st := s.api("/api/dashboards", &list); st != http.StatusOK {
				t.Fatalf("GET /api/dashboards: %d", st)
			}
			if len(list.Dashboards) == 0 {
				t.Fatalf("GET /api/dashboards offers %s nothing", role)
			}
			for _, d := range list.Dashboards {
				checkDashboard(t, s, d.ID, who.User.EmployeeID)
			}
			// Signing in lands on the first dashboard, an employee on
			// their scorecard.
			want := "/dashboards/" + list.Dashboards[0].ID
			if role == "employee" {
				want = "/dashboards/my_scorecard"
				if !slices.Contains(list.Dashboards, dashboardRef{ID: "my_scorecard"}) {
					t.Errorf("employee is not offered my_scorecard")
				}
			}
			if landing != want {
				t.Errorf("%s lands on %s after signing in, want %s", role, landing, want)
			}
			checkNavPages(t, s)
			checkLanguageSwitch(t, s, list.Dashboards[0].ID)
			checkSignOut(t, s)
		})
	}
}

// checkNav: the navigation has the links the role must have, none it must
// not, and every link it has opens (no 403).
func checkNav(t *testing.T, s *session) {
	t.Helper()
	type link struct {
		Nav  string `json:"nav"`
		Href string `json:"href"`
	}
	links := must[[]link](s, `Array.from(document.querySelectorAll('nav#nav a[data-nav]')).map(function (a) {
		return {nav: a.dataset.nav, href: a.getAttribute('href') || ''};
	})`)
	have := map[string]string{}
	for _, l := range links {
		have[l.Nav] = l.Href
	}
	rule := navRules[s.role]
	for _, n := range rule.must {
		if _, ok := have[n]; !ok {
			t.Errorf("%s: nav has no a[data-nav=%s]; has %v", s.role, n, have)
		}
	}
	for _, n := range rule.mustNot {
		if _, ok := have[n]; ok {
			t.Errorf("%s: nav offers a[data-nav=%s], which the role may not use", s.role, n)
		}
	}
	for n, href := range have {
		if !strings.HasPrefix(href, "/") {
			t.Errorf("%s: nav link %s goes to %q, not a page of Pulse", s.role, n, href)
			continue
		}
		resp, err := s.client().Get(s.base + href)
		if err != nil {
			t.Errorf("%s: GET %s: %v", s.role, href, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: nav link %s (%s) answers %d", s.role, n, href, resp.StatusCode)
		}
	}
	for _, sel := range []string{"a#lang-switch", "button#sign-out"} {
		if !must[bool](s, "!!document.querySelector('"+sel+"')") {
			t.Errorf("%s: the page has no %s", s.role, sel)
		}
	}
}

// navPages: when each page of the nav has shown its content.
var navPages = map[string]string{
	"sql":        `document.querySelector('textarea#sql') && document.querySelector('button#run-query')`,
	"alerts":     `document.querySelector('table#alerts') && document.querySelector('table#silences')`,
	"ingest":     `document.querySelectorAll('table#partitions tbody tr').length > 0 && document.querySelectorAll('table#refused tbody tr').length > 0`,
	"transforms": `document.querySelectorAll('table#runs tbody tr').length > 0 && document.querySelector('table#data-tests')`,
}

// checkNavPages opens every page of the role's nav but the dashboards
// (which checkDashboard opens) in the browser.
func checkNavPages(t *testing.T, s *session) {
	t.Helper()
	type link struct {
		Nav  string `json:"nav"`
		Href string `json:"href"`
	}
	links := must[[]link](s, `Array.from(document.querySelectorAll('nav#nav a[data-nav]')).map(function (a) {
		return {nav: a.dataset.nav, href: a.getAttribute('href') || ''};
	})`)
	for _, l := range links {
		ready, ok := navPages[l.Nav]
		if !ok {
			continue
		}
		if l.Nav == "alerts" && seesEverything[s.role] {
			// The demo has firing alerts: wait for them, not just the table.
			ready += ` && document.querySelectorAll('table#alerts tr[data-alert-key]').length > 0`
		}
		if st := s.open(l.Href); st != http.StatusOK {
			t.Errorf("%s: %s: status %d", s.role, l.Href, st)
			continue
		}
		s.waitFor("the "+l.Nav+" page", `document.readyState === 'complete' && (`+ready+`)`, 20*time.Second)
		s.checkPage(l.Nav, nil)
	}
}

// checkDashboard opens one dashboard and checks its tiles against what
// the API says the viewer may see.
func checkDashboard(t *testing.T, s *session, id, employeeID string) {
	t.Helper()
	var d apiDashboard
	if st := s.api("/api/dashboards/"+id, &d); st != http.StatusOK {
		t.Errorf("%s: GET /api/dashboards/%s: %d", s.role, id, st)
		return
	}
	if st := s.open("/dashboards/" + id); st != http.StatusOK {
		t.Errorf("%s: /dashboards/%s: status %d", s.role, id, st)
		return
	}
	s.waitFor("dashboard "+id+" to load", `document.querySelector('#dashboard[data-loaded="true"]')`, 45*time.Second)
	if got := must[string](s, `document.querySelector('#dashboard').dataset.dashboard || ''`); got != id {
		t.Errorf("%s: #dashboard[data-dashboard=%q] on /dashboards/%s", s.role, got, id)
	}
	tiles := must[[]domTile](s, readTiles)
	byID := map[string]domTile{}
	for _, tl := range tiles {
		byID[tl.ID] = tl
	}
	unavailable := map[string]bool{}
	for _, at := range d.Tiles {
		tl, ok := byID[at.ID]
		if !ok {
			t.Errorf("%s: %s: no section.tile[data-tile=%s]", s.role, id, at.ID)
			continue
		}
		where := fmt.Sprintf("%s: %s/%s (%s)", s.role, id, at.ID, at.Kind)
		if tl.Kind != at.Kind {
			t.Errorf("%s: data-kind=%q", where, tl.Kind)
		}
		switch tl.State {
		case "ready", "empty", "unavailable":
		default:
			t.Errorf("%s: data-state=%q after #dashboard[data-loaded=true]", where, tl.State)
		}
		if tl.State == "unavailable" {
			unavailable[at.ID] = true
		}
		if tl.State == "ready" && (!slices.Contains(tl.Exports, "csv") || !slices.Contains(tl.Exports, "xlsx")) {
			t.Errorf("%s: export links %v; want a.export[data-format=csv] and [data-format=xlsx]", where, tl.Exports)
		}
		// Who may see the tile: company tiles need the whole company, team
		// tiles a team in scope (an employee has none).
		forbidden := !seesEverything[s.role] && (at.Scope.Mode == "company" || (s.role == "employee" && at.Scope.Mode == "team"))
		switch {
		case forbidden && tl.State != "unavailable":
			t.Errorf("%s: a %s tile shows as %q to the %s role; want unavailable", where, at.Scope.Mode, tl.State, s.role)
		case !forbidden && tl.State == "unavailable":
			t.Errorf("%s: unavailable, but the %s may see %s tiles", where, s.role, at.Scope.Mode)
		}
		if (s.role == "admin" || s.role == "executive") && chartKinds[at.Kind] {
			switch {
			case tl.State == "empty" && periodAge(d.Options.Default.Grain, time.Now()) < 6*time.Hour:
				// The running period began minutes ago (a Monday just after
				// midnight for a week): its days have no data yet, rightly.
				t.Logf("%s: empty, the %s began %v ago", where, d.Options.Default.Grain,
					periodAge(d.Options.Default.Grain, time.Now()).Round(time.Minute))
			case tl.State != "ready":
				t.Errorf("%s: chart is %q; want ready with data (the demo has 90 days of history)", where, tl.State)
			case !tl.Chart:
				t.Errorf("%s: no div.chart", where)
			case !tl.ECharts:
				t.Errorf("%s: div.chart has no ECharts instance %s", where, tl.Error)
			case tl.Series == 0:
				t.Errorf("%s: the ECharts option has no series with data", where)
			}
		}
	}
	if s.role == "employee" {
		checkOnlyOwnFigures(t, s, d, employeeID)
	}
	// The page fetches every tile; tiles outside the viewer's scope answer
	// 403, which the browser logs: that is the contract, not an error.
	s.checkPage("dashboard_"+id, func(p problem) bool {
		if p.source != "network" || !strings.Contains(p.text, "403") {
			return false
		}
		for tile := range unavailable {
			if strings.Contains(p.url, "/api/dashboards/"+id+"/tiles/"+tile) {
				return true
			}
		}
		return false
	})
}

// checkOnlyOwnFigures: the employee filter offers the employee only, and
// every employee-scoped tile's rows are theirs.
func checkOnlyOwnFigures(t *testing.T, s *session, d apiDashboard, self string) {
	t.Helper()
	if self == "" {
		t.Errorf("employee: the session names no employee")
		return
	}
	for _, e := range d.Options.Employees {
		if e.ID != self {
			t.Errorf("employee %s: %s offers employee %s", self, d.ID, e.ID)
		}
	}
	opts := must[[]string](s, `Array.from(document.querySelectorAll('form#filters select[name=employee] option')).map(function (o) { return o.value; }).filter(Boolean)`)
	for _, o := range opts {
		if o != self {
			t.Errorf("employee %s: %s's employee filter offers %s", self, d.ID, o)
		}
	}
	def := d.Options.Default
	for _, at := range d.Tiles {
		if at.Scope.Mode != "employee" {
			continue
		}
		var res struct {
			Columns []struct {
				Name string `json:"name"`
			} `json:"columns"`
			Rows [][]any `json:"rows"`
		}
		path := "/api/dashboards/" + d.ID + "/tiles/" + at.ID + query("grain", def.Grain, "period", def.Period, "team", def.Team, "employee", def.Employee)
		if st := s.api(path, &res); st != http.StatusOK {
			t.Errorf("employee: GET %s: %d", path, st)
			continue
		}
		col := slices.IndexFunc(res.Columns, func(c struct {
			Name string `json:"name"`
		}) bool {
			return c.Name == at.Scope.Column
		})
		if col < 0 {
			t.Errorf("employee: %s/%s: the scope column %q is not in the result", d.ID, at.ID, at.Scope.Column)
			continue
		}
		for _, r := range res.Rows {
			if fmt.Sprint(r[col]) != self {
				t.Errorf("employee %s: %s/%s shows a row of %v", self, d.ID, at.ID, r[col])
			}
		}
	}
}

var han = regexp.MustCompile(`\p{Han}`)

// checkLanguageSwitch: the switch turns the page into Simplified Chinese
// (the nav included) and back.
func checkLanguageSwitch(t *testing.T, s *session, dash string) {
	t.Helper()
	if st := s.open("/dashboards/" + dash); st != http.StatusOK {
		t.Fatalf("/dashboards/%s: %d", dash, st)
	}
	s.waitFor("dashboard "+dash+" to load", `document.querySelector('#dashboard[data-loaded="true"]')`, 45*time.Second)
	s.checkPage("dashboard_"+dash+"_en", allowForbiddenTiles)
	for _, want := range []string{"zh-CN", "en"} {
		s.do("switching the language", clickCSS("a#lang-switch"))
		s.waitFor("<html lang="+want+">", `document.documentElement.lang === `+jsString(want)+` && document.readyState === 'complete'`, 15*time.Second)
		s.waitFor("dashboard "+dash+" to load in "+want, `document.querySelector('#dashboard[data-loaded="true"]')`, 45*time.Second)
		labels := must[[]string](s, `Array.from(document.querySelectorAll('nav#nav a[data-nav]')).map(function (a) { return a.textContent.trim(); })`)
		for _, l := range labels {
			if chinese := han.MatchString(l); chinese != (want == "zh-CN") {
				t.Errorf("%s: in %s the nav says %q", s.role, want, l)
			}
		}
		name := "dashboard_" + dash + "_" + want
		if want == "en" {
			name += "_again"
		}
		s.checkPage(name, allowForbiddenTiles)
	}
}

// allowForbiddenTiles accepts the 403s of tiles outside the viewer's
// scope (checkDashboard checks which tiles those are).
func allowForbiddenTiles(p problem) bool {
	return p.source == "network" && strings.Contains(p.text, "403") && strings.Contains(p.url, "/tiles/")
}

// checkSignOut: the sign-out button ends the session.
func checkSignOut(t *testing.T, s *session) {
	t.Helper()
	c := s.client()
	s.do("signing out", clickCSS("button#sign-out"))
	s.waitFor("the sign-in page", `location.pathname === '/login' && document.readyState === 'complete'`, 15*time.Second)
	resp, err := c.Get(s.base + "/api/session")
	if err != nil {
		t.Fatalf("GET /api/session after signing out: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("%s: GET /api/session with the old cookie after signing out: %d, want 401", s.role, resp.StatusCode)
	}
	s.checkPage("signed_out", nil)
}

// periodAge is how long ago the running period of grain began, in UTC (the
// demo's time zone).
func periodAge(grain string, now time.Time) time.Duration {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	start := day
	switch grain {
	case "week":
		start = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	case "month":
		start = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	case "quarter":
		start = time.Date(now.Year(), (now.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
	}
	return now.Sub(start)
}
