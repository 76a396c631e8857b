package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/dashboard"
	"github.com/pulsekpi/pulse/dashboards"
	"github.com/pulsekpi/pulse/metric"
	"github.com/pulsekpi/pulse/server"
	"github.com/pulsekpi/pulse/warehouse"
	"github.com/pulsekpi/pulse/web"
)

// env is a UI over a real DuckDB warehouse with a signed-in session per
// role.
type env struct {
	ui      *web.UI
	handler http.Handler
	cookies map[auth.Role]string // session cookie value per role
}

var roles = []auth.Role{auth.RoleAdmin, auth.RoleExecutive, auth.RoleAnalyst, auth.RoleManager, auth.RoleEmployee}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	users := auth.NewStore(w.DB(), auth.StoreOptions{Params: auth.Params{Memory: 8 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	set, err := dashboard.LoadFS(dashboards.Shipped(), "dashboards")
	if err != nil {
		t.Fatal(err)
	}
	ui, err := web.New(web.Options{Auth: users, Dashboards: set})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	ui.Register(e)
	en := &env{ui: ui, handler: e, cookies: map[auth.Role]string{}}
	for _, r := range roles {
		u := auth.User{Login: "u-" + string(r), Role: r, Password: "correct horse battery", DisplayName: "Test " + string(r)}
		if r.NeedsEmployee() {
			u.EmployeeID = "E" + string(r)
		}
		added, err := users.AddUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		p := auth.Principal{UserID: added.ID, Login: added.Login, Role: r, EmployeeID: added.EmployeeID}
		token, _, err := users.CreateSession(ctx, p, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		en.cookies[r] = token
	}
	return en
}

type reqOpt func(*http.Request)

func as(r auth.Role, en *env) reqOpt {
	return func(req *http.Request) { req.AddCookie(&http.Cookie{Name: "pulse_session", Value: en.cookies[r]}) }
}

func header(k, v string) reqOpt { return func(req *http.Request) { req.Header.Set(k, v) } }

func cookie(name, value string) reqOpt {
	return func(req *http.Request) { req.AddCookie(&http.Cookie{Name: name, Value: value}) }
}

func get(h http.Handler, path string, opts ...reqOpt) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// pages and the roles that may open them.
var pages = []struct {
	path  string
	roles []auth.Role
}{
	{"/dashboards/executive", roles},
	{"/dashboards/my_scorecard", roles},
	{"/drill?kpi=revenue&grain=month&period=2026-10-01", roles},
	{"/events/ev-1", roles},
	{"/alerts", roles},
	{"/sql", []auth.Role{auth.RoleAdmin, auth.RoleAnalyst}},
	{"/ingest", []auth.Role{auth.RoleAdmin, auth.RoleExecutive, auth.RoleAnalyst}},
	{"/transforms", []auth.Role{auth.RoleAdmin, auth.RoleExecutive, auth.RoleAnalyst}},
}

// navFor is the menu each role must get, in order.
var navFor = map[auth.Role][]string{
	auth.RoleAdmin:     {"dashboards", "sql", "alerts", "ingest", "transforms"},
	auth.RoleExecutive: {"dashboards", "alerts", "ingest", "transforms"},
	auth.RoleAnalyst:   {"dashboards", "sql", "alerts", "ingest", "transforms"},
	auth.RoleManager:   {"dashboards", "alerts"},
	auth.RoleEmployee:  {"dashboards", "alerts"},
}

var navRe = regexp.MustCompile(`data-nav="([a-z]+)"`)

func TestPagesRenderForEveryRoleInBothLanguages(t *testing.T) {
	en := newEnv(t)
	for _, pg := range pages {
		for _, role := range roles {
			for _, lang := range web.Languages {
				t.Run(pg.path+"/"+string(role)+"/"+lang, func(t *testing.T) {
					rec := get(en.handler, pg.path+sep(pg.path)+"lang="+lang, as(role, en))
					body := rec.Body.String()
					allowed := slices.Contains(pg.roles, role)
					switch {
					case allowed && rec.Code != http.StatusOK:
						t.Fatalf("status %d, want 200: %s", rec.Code, body)
					case !allowed && rec.Code != http.StatusForbidden:
						t.Fatalf("status %d, want 403", rec.Code)
					}
					if !allowed && !strings.Contains(body, `id="forbidden"`) {
						t.Errorf("403 page lacks #forbidden")
					}
					if !strings.Contains(body, `<html lang="`+lang+`">`) {
						t.Errorf("no <html lang=%q>", lang)
					}
					if !strings.Contains(body, `data-role="`+string(role)+`"`) {
						t.Errorf("no body data-role=%q", role)
					}
					if strings.Contains(body, "[[") {
						t.Errorf("a catalogue key is missing: %s", between(body, "[[", "]]"))
					}
					for _, want := range []string{`id="nav"`, `id="lang-switch"`, `id="sign-out"`, `name="csrf-token"`} {
						if !strings.Contains(body, want) {
							t.Errorf("page lacks %s", want)
						}
					}
					var nav []string
					for _, m := range navRe.FindAllStringSubmatch(body, -1) {
						nav = append(nav, m[1])
					}
					if !slices.Equal(nav, navFor[role]) {
						t.Errorf("nav = %v, want %v", nav, navFor[role])
					}
					if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
						t.Errorf("Content-Type %q", ct)
					}
					if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
						t.Errorf("CSP %q", csp)
					}
				})
			}
		}
	}
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

// between is the text after the first a up to the next b.
func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	rest := s[i+len(a):]
	j := strings.Index(rest, b)
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// The page contract's ids and attributes, which the browser tests use.
func TestPageContract(t *testing.T) {
	en := newEnv(t)
	for _, c := range []struct {
		path string
		role auth.Role
		want []string
		not  []string
	}{
		{"/dashboards/executive", auth.RoleExecutive, []string{
			`id="dashboard"`, `data-dashboard="executive"`, `data-loaded="false"`, `id="filters"`,
			`select name="grain"`, `type="date" name="period"`, `select name="team"`,
			`class="tile w3 h2" data-tile="revenue" data-kind="figure" data-state="loading"`,
			`data-kind="line"`, `class="export" data-format="csv"`, `data-format="xlsx"`,
			`<script src="/static/vendor/echarts.min.js" defer></script>`,
		}, []string{`select name="employee"`}},
		{"/dashboards/my_scorecard", auth.RoleEmployee, []string{`select name="employee"`}, []string{`select name="team"`}},
		{"/sql", auth.RoleAnalyst, []string{`id="sql"`, `id="run-query"`, `id="query-result"`, `id="query-error"`,
			`id="download-csv"`, `id="query-history"`, `id="saved-queries"`}, nil},
		{"/alerts", auth.RoleManager, []string{`id="alerts"`, `id="silence-form"`, `name="until"`, `name="reason"`,
			`id="silence-submit"`, `id="silences"`, `"can_silence":true`}, nil},
		{"/alerts", auth.RoleEmployee, []string{`"can_silence":false`}, nil},
		{"/ingest", auth.RoleAdmin, []string{`id="partitions"`, `id="refused"`}, nil},
		{"/transforms", auth.RoleAdmin, []string{`id="runs"`, `id="data-tests"`}, nil},
		{"/drill?kpi=revenue", auth.RoleAdmin, []string{`id="drill-rows"`}, nil},
		{"/events/abc%3Cx", auth.RoleAdmin, []string{`id="event"`, `"event_id":"abc\u003cx"`}, []string{"abc<x"}},
	} {
		t.Run(c.path+"/"+string(c.role), func(t *testing.T) {
			rec := get(en.handler, c.path, as(c.role, en))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			body := rec.Body.String()
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("lacks %s", w)
				}
			}
			for _, w := range c.not {
				if strings.Contains(body, w) {
					t.Errorf("has %s", w)
				}
			}
		})
	}
}

func TestUnknownDashboardIs404Page(t *testing.T) {
	en := newEnv(t)
	rec := get(en.handler, "/dashboards/nope", as(auth.RoleAdmin, en))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `id="not-found"`) {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
}

func TestUnauthenticatedPagesRedirectToLogin(t *testing.T) {
	en := newEnv(t)
	for _, c := range []struct {
		path, cookie, want string
	}{
		{"/", "", "/login"},
		{"/dashboards/executive", "", "/login?next=%2Fdashboards%2Fexecutive"},
		{"/sql", "", "/login?next=%2Fsql"},
		{"/alerts", "not-a-session", "/login?next=%2Falerts"},
		{"/ingest", "", "/login?next=%2Fingest"},
		{"/transforms", "", "/login?next=%2Ftransforms"},
		{"/drill?kpi=x", "", "/login?next=" + url.QueryEscape("/drill?kpi=x")},
		{"/events/1", "", "/login?next=%2Fevents%2F1"},
	} {
		var opts []reqOpt
		if c.cookie != "" {
			opts = append(opts, func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "pulse_session", Value: c.cookie}) })
		}
		rec := get(en.handler, c.path, opts...)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != c.want {
			t.Errorf("%s: %d %q, want 303 %q", c.path, rec.Code, rec.Header().Get("Location"), c.want)
		}
	}
	rec := get(en.handler, "/login")
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("/login: %d", rec.Code)
	}
	for _, w := range []string{`id="login-form"`, `id="login"`, `id="password"`, `id="login-submit"`, `id="login-error"`, `id="lang-switch"`} {
		if !strings.Contains(body, w) {
			t.Errorf("/login lacks %s", w)
		}
	}
	if strings.Contains(body, `data-role=`) || strings.Contains(body, `id="nav"`) {
		t.Errorf("/login shows signed-in parts")
	}
}

func TestHomeAndSignedInLogin(t *testing.T) {
	en := newEnv(t)
	for _, c := range []struct {
		role auth.Role
		want string
	}{
		{auth.RoleEmployee, "/dashboards/my_scorecard"},
		{auth.RoleAdmin, "/dashboards/executive"},
		{auth.RoleExecutive, "/dashboards/executive"},
	} {
		rec := get(en.handler, "/", as(c.role, en))
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != c.want {
			t.Errorf("%s: / → %d %q, want %q", c.role, rec.Code, rec.Header().Get("Location"), c.want)
		}
	}
	for next, want := range map[string]string{"/sql": "/sql", "//evil.example": "/", "https://evil.example/": "/", "/\\evil": "/"} {
		rec := get(en.handler, "/login?next="+url.QueryEscape(next), as(auth.RoleAdmin, en))
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
			t.Errorf("/login?next=%s signed in: %d %q, want %q", next, rec.Code, rec.Header().Get("Location"), want)
		}
	}
}

func TestLanguage(t *testing.T) {
	en := newEnv(t)
	langOf := func(rec *httptest.ResponseRecorder) string {
		return `<html lang="` + between(rec.Body.String(), `<html lang="`, `"`) + `">`
	}
	for _, c := range []struct {
		name string
		opts []reqOpt
		want string
	}{
		{"default", nil, `<html lang="en">`},
		{"accept zh", []reqOpt{header("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")}, `<html lang="zh-CN">`},
		{"accept zh-TW", []reqOpt{header("Accept-Language", "zh-TW")}, `<html lang="zh-CN">`},
		{"accept en first", []reqOpt{header("Accept-Language", "en-GB,en;q=0.9,zh;q=0.5")}, `<html lang="en">`},
		{"accept q order", []reqOpt{header("Accept-Language", "en;q=0.3, zh;q=0.8")}, `<html lang="zh-CN">`},
		{"accept other", []reqOpt{header("Accept-Language", "fr-FR,de;q=0.8")}, `<html lang="en">`},
		{"cookie beats header", []reqOpt{header("Accept-Language", "en"), cookie(web.LangCookie, "zh-CN")}, `<html lang="zh-CN">`},
	} {
		if got := langOf(get(en.handler, "/login", c.opts...)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	// ?lang= switches and is remembered in the cookie.
	rec := get(en.handler, "/dashboards/executive?lang=zh-CN&grain=week", as(auth.RoleAdmin, en))
	if got := langOf(rec); got != `<html lang="zh-CN">` {
		t.Errorf("?lang=zh-CN: %s", got)
	}
	var ck *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == web.LangCookie {
			ck = c
		}
	}
	if ck == nil || ck.Value != "zh-CN" || ck.Path != "/" {
		t.Fatalf("lang cookie %+v", ck)
	}
	body := rec.Body.String()
	if !strings.Contains(body, "经营总览") || !strings.Contains(body, "退出登录") {
		t.Errorf("zh-CN page lacks Chinese title or sign-out")
	}
	// The switch leads to the other language and keeps the filters.
	sw := between(body, `id="lang-switch" href="`, `"`)
	if !strings.Contains(sw, "lang=en") || !strings.Contains(sw, "grain=week") {
		t.Errorf("lang switch %q", sw)
	}
	rec = get(en.handler, "/alerts", as(auth.RoleAdmin, en), cookie(web.LangCookie, "zh-CN"))
	if got := langOf(rec); got != `<html lang="zh-CN">` {
		t.Errorf("cookie: %s", got)
	}
}

// readCatalogue reads a language's file from the package folder.
func readCatalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("i18n", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", lang, err)
	}
	return m
}

var hanRe = regexp.MustCompile(`\p{Han}`)

func TestCatalogueComplete(t *testing.T) {
	cats := map[string]map[string]string{}
	for _, lang := range web.Languages {
		cats[lang] = readCatalogue(t, lang)
	}
	enCat, zh := cats["en"], cats["zh-CN"]
	for k, v := range enCat {
		if strings.TrimSpace(v) == "" {
			t.Errorf("en %s is empty", k)
		}
		z, ok := zh[k]
		if !ok {
			t.Errorf("zh-CN lacks %s", k)
			continue
		}
		if strings.TrimSpace(z) == "" {
			t.Errorf("zh-CN %s is empty", k)
		}
		// Chinese strings are Chinese, apart from pure formats and the
		// switch that names the other language.
		if !hanRe.MatchString(z) && k != "lang.switch" && !strings.HasPrefix(z, "{") {
			t.Errorf("zh-CN %s = %q has no Chinese", k, z)
		}
		if placeholders(v) != placeholders(z) {
			t.Errorf("%s: placeholders differ: en %q, zh-CN %q", k, v, z)
		}
	}
	for k := range zh {
		if _, ok := enCat[k]; !ok {
			t.Errorf("en lacks %s", k)
		}
	}

	// Every key the templates and scripts use is in the catalogue, and so
	// is every key built from a known set of values.
	used := map[string]bool{}
	tmplKey := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	jsKey := regexp.MustCompile(`\bt\('([a-z0-9_]+\.[a-z0-9_.]+)'`)
	jsAlt := regexp.MustCompile(`'((?:sql|event|nav)\.[a-z0-9_]+)'`)
	walk(t, "templates", func(s string) {
		for _, m := range tmplKey.FindAllStringSubmatch(s, -1) {
			used[m[1]] = true
		}
	})
	walk(t, "static/js", func(s string) {
		for _, re := range []*regexp.Regexp{jsKey, jsAlt} {
			for _, m := range re.FindAllStringSubmatch(s, -1) {
				used[m[1]] = true
			}
		}
	})
	for _, g := range dashboard.Grains {
		used["grain."+g] = true
	}
	for _, r := range roles {
		used["role."+string(r)] = true
	}
	for _, p := range []string{"login", "dashboard", "drill", "event", "sql", "alerts", "ingest", "transforms", "forbidden", "notfound"} {
		used[p+".title"] = true
	}
	for _, s := range []string{"info", "warning", "critical"} {
		used["severity."+s] = true
	}
	for _, s := range []string{"pending", "firing", "resolved"} {
		used["state."+s] = true
	}
	for _, k := range metric.KPIs() { // the drill-down page names its KPI
		used["kpi."+k] = true
	}
	if len(used) < 100 {
		t.Fatalf("found only %d keys in use: the scan is broken", len(used))
	}
	for k := range used {
		if _, ok := enCat[k]; !ok {
			t.Errorf("key %s is used but not in the catalogue", k)
		}
	}
}

var placeholderRe = regexp.MustCompile(`\{[a-z]+\}`)

func placeholders(s string) string {
	m := placeholderRe.FindAllString(s, -1)
	slices.Sort(m)
	return strings.Join(m, ",")
}

func walk(t *testing.T, dir string, fn func(string)) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, filepath.Join("static", "vendor")) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fn(string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var (
	scriptRe  = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	handlerRe = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	jsURLRe   = regexp.MustCompile(`(?i)(href|src|action)\s*=\s*"\s*javascript:`)
)

// checkNoInlineCode fails on inline script code, on* handler attributes
// and javascript: URLs, none of which the CSP lets run.
func checkNoInlineCode(t *testing.T, name, html string) {
	t.Helper()
	for _, m := range scriptRe.FindAllStringSubmatch(html, -1) {
		attrs, content := m[1], strings.TrimSpace(m[2])
		if strings.Contains(attrs, `type="application/json"`) {
			continue
		}
		if !strings.Contains(attrs, "src=") || content != "" {
			t.Errorf("%s: inline script: <script%s>%.60s", name, attrs, content)
		}
	}
	if m := handlerRe.FindString(html); m != "" {
		t.Errorf("%s: inline event handler %q", name, m)
	}
	if jsURLRe.MatchString(html) {
		t.Errorf("%s: javascript: URL", name)
	}
}

func TestNoInlineScriptsOrHandlers(t *testing.T) {
	walk(t, "templates", func(s string) { checkNoInlineCode(t, "template", s) })
	en := newEnv(t)
	for _, pg := range pages {
		rec := get(en.handler, pg.path, as(auth.RoleAdmin, en))
		checkNoInlineCode(t, pg.path, rec.Body.String())
	}
	checkNoInlineCode(t, "/login", get(en.handler, "/login").Body.String())
}

func TestStaticFiles(t *testing.T) {
	en := newEnv(t)
	rec := get(en.handler, "/static/js/app.js")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("app.js: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if rec := get(en.handler, "/static/js/app.js", header("If-None-Match", etag)); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", rec.Code)
	}
	if rec := get(en.handler, "/static/css/app.css"); rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Errorf("app.css: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, p := range []string{"/static/nope.js", "/static/../web.go", "/static/%2e%2e/web.go", "/static/"} {
		if rec := get(en.handler, p); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, rec.Code)
		}
	}
	// Scripts go compressed to clients that take gzip, plain to others.
	plain := get(en.handler, "/static/js/dashboard.js").Body.Bytes()
	rec = get(en.handler, "/static/js/dashboard.js", header("Accept-Encoding", "br, gzip"))
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %q", rec.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain) || len(plain) == 0 {
		t.Errorf("gzipped script differs from the plain one (%v)", err)
	}
	if rec := get(en.handler, "/static/js/dashboard.js", header("Accept-Encoding", "gzip;q=0")); rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip sent to a client that refused it")
	}
	// Every page's script is there.
	for _, p := range []string{"login", "dashboard", "drill", "event", "sql", "alerts", "ingest", "transforms", "forbidden", "notfound"} {
		if rec := get(en.handler, "/static/js/"+p+".js"); rec.Code != http.StatusOK {
			t.Errorf("%s.js: %d", p, rec.Code)
		}
	}
}

// Without make assets the pages say what to do instead of failing.
func TestChartsMissingBanner(t *testing.T) {
	en := newEnv(t)
	_, err := os.Stat(filepath.Join("static", "vendor", "echarts.min.js"))
	present := err == nil
	if en.ui.ChartsMissing() == present {
		t.Fatalf("ChartsMissing() = %v with echarts.min.js present = %v", en.ui.ChartsMissing(), present)
	}
	body := get(en.handler, "/dashboards/executive", as(auth.RoleAdmin, en)).Body.String()
	if got := strings.Contains(body, `id="assets-missing"`); got != !present {
		t.Errorf("banner shown = %v, want %v", got, !present)
	}
	if got := strings.Contains(body, "echarts.min.js"); got != present {
		t.Errorf("echarts script included = %v, want %v", got, present)
	}
	if !present && !strings.Contains(body, "make assets") {
		t.Errorf("banner does not say to run make assets")
	}
}

// Mounted on the real server, the pages leave the API, health and metrics
// alone.
func TestMountedOnServer(t *testing.T) {
	en := newEnv(t)
	store := en.ui // the same UI, on the server this time
	ctx := context.Background()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	s := server.New(server.Options{Warehouse: w, Auth: auth.NewStore(w.DB(), auth.StoreOptions{}), Web: store})
	h := s.Handler()
	for _, c := range []struct {
		path   string
		status int
		ctype  string
	}{
		{"/healthz", 200, "application/json"},
		{"/metrics", 200, "text/plain"},
		{"/api/session", 401, "application/json"},
		{"/api/dashboards", 401, "application/json"},
		{"/login", 200, "text/html"},
		{"/dashboards/executive", 303, ""},
		{"/static/js/app.js", 200, "text/javascript"},
	} {
		rec := get(h, c.path)
		if rec.Code != c.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), c.ctype) {
			t.Errorf("%s: %d %q, want %d %q", c.path, rec.Code, rec.Header().Get("Content-Type"), c.status, c.ctype)
		}
	}
}
