// Package web is Pulse's web UI: server-rendered pages (html/template) in
// English and Simplified Chinese, with small vanilla ES modules that call
// the JSON API and draw charts with ECharts. Templates, scripts, styles and
// the vendored ECharts are embedded in the binary, so a single file serves
// the whole product. Pages carry no inline script and no event-handler
// attributes: the server's Content-Security-Policy forbids them.
package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/dashboard"
)

//go:embed templates static i18n
var files embed.FS

// echartsPath is where make assets copies ECharts inside static/.
const echartsPath = "vendor/echarts.min.js"

// CSP is the Content-Security-Policy of every page: scripts from the
// server only, so an injected string can never run.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

// Dashboards gives the dashboards in force; a *dashboard.Watcher reloads
// them when their files change, so the UI asks for the current set on
// every request.
type Dashboards interface {
	Current() *dashboard.Set
}

// sessionReader resolves the session cookie; *auth.Store implements it.
type sessionReader interface {
	GetSession(ctx context.Context, token string) (auth.Session, error)
}

// Options configure New. Zero values get defaults.
type Options struct {
	// Auth resolves session cookies; nil means nobody can sign in (pages
	// then always show the sign-in form, which explains it).
	Auth *auth.Store
	// Dashboards is nil when no dashboards are loaded.
	Dashboards Dashboards
	// CookieName is the session cookie's name; it must match the
	// auth.Options the API uses (default pulse_session).
	CookieName string
	Logger     *slog.Logger
}

// UI serves the pages and their static files.
type UI struct {
	opts     Options
	sessions sessionReader
	pages    map[string]*template.Template
	cat      catalogue
	static   fs.FS
	etags    map[string]string
	gzipped  map[string][]byte // static files worth compressing, compressed once
	charts   bool              // echarts.min.js is embedded
}

// New parses the templates and the catalogue; an error here is a bug in
// the embedded files.
func New(opts Options) (*UI, error) {
	if opts.CookieName == "" {
		opts.CookieName = "pulse_session"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	u := &UI{opts: opts, pages: map[string]*template.Template{}}
	if opts.Auth != nil {
		u.sessions = opts.Auth
	}
	cat, err := loadCatalogue(files)
	if err != nil {
		return nil, err
	}
	u.cat = cat
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	u.static = static
	if u.etags, err = hashFiles(static); err != nil {
		return nil, err
	}
	if u.gzipped, err = compressFiles(static); err != nil {
		return nil, err
	}
	_, u.charts = u.etags[echartsPath]
	for _, name := range pageNames {
		t, err := template.New("layout.html").ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		u.pages[name] = t
	}
	return u, nil
}

// ChartsMissing reports whether ECharts was left out of the build (make
// assets was not run); pages then say so.
func (u *UI) ChartsMissing() bool { return !u.charts }

func hashFiles(static fs.FS) (map[string]string, error) {
	etags := map[string]string{}
	err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		etags[p] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: hashing static files: %w", err)
	}
	return etags, nil
}

// compressFiles gzips the scripts and styles once: ECharts alone is a
// megabyte, a third of that compressed, which matters on a phone.
func compressFiles(static fs.FS) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (path.Ext(p) != ".js" && path.Ext(p) != ".css") {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return err
		}
		if _, err := zw.Write(b); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		out[p] = buf.Bytes()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: compressing static files: %w", err)
	}
	return out, nil
}

// acceptsGzip reports whether the client takes gzip (q=0 refuses it).
func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			v, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
			if !ok {
				return true
			}
			q, err := strconv.ParseFloat(v, 64)
			return err == nil && q > 0
		}
	}
	return false
}

// Register mounts the pages on e. They live outside /api, /healthz,
// /readyz and /metrics, so nothing of the API is shadowed.
func (u *UI) Register(e *echo.Echo) {
	e.GET("/static/*", u.serveStatic)
	e.GET("/login", u.loginPage)
	e.POST("/login", u.loginNoScript)
	e.GET("/", u.home)
	e.GET("/dashboards", u.home)
	e.GET("/dashboards/:id", u.page("dashboard", anyRole))
	e.GET("/drill", u.page("drill", anyRole))
	e.GET("/events/:id", u.page("event", anyRole))
	e.GET("/sql", u.page("sql", sqlRoles))
	e.GET("/alerts", u.page("alerts", anyRole))
	e.GET("/ingest", u.page("ingest", staffRoles))
	e.GET("/transforms", u.page("transforms", staffRoles))
}

// pageNames are the templates besides the layout.
var pageNames = []string{"login", "dashboard", "drill", "event", "sql", "alerts", "ingest", "transforms", "forbidden", "notfound"}

var (
	anyRole    = []auth.Role{auth.RoleAdmin, auth.RoleExecutive, auth.RoleAnalyst, auth.RoleManager, auth.RoleEmployee}
	staffRoles = []auth.Role{auth.RoleAdmin, auth.RoleExecutive, auth.RoleAnalyst}
	sqlRoles   = []auth.Role{auth.RoleAdmin, auth.RoleAnalyst}
	// silencers may create and end silences (as the API allows).
	silencers = []auth.Role{auth.RoleAdmin, auth.RoleExecutive, auth.RoleAnalyst, auth.RoleManager}
)

// navItems are the sections of the menu and who may use each.
var navItems = []struct {
	key   string
	href  string
	roles []auth.Role
}{
	{"dashboards", "/dashboards", anyRole},
	{"sql", "/sql", sqlRoles},
	{"alerts", "/alerts", anyRole},
	{"ingest", "/ingest", staffRoles},
	{"transforms", "/transforms", staffRoles},
}

// navFor maps page templates to the menu entry they belong to.
var navFor = map[string]string{"dashboard": "dashboards", "drill": "dashboards", "event": "dashboards",
	"sql": "sql", "alerts": "alerts", "ingest": "ingest", "transforms": "transforms"}

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

func (u *UI) serveStatic(c echo.Context) error {
	p := path.Clean(strings.TrimPrefix(c.Param("*"), "/"))
	etag, ok := u.etags[p]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no such file")
	}
	h := c.Response().Header()
	setSecurityHeaders(h)
	h.Set("ETag", etag)
	// Revalidate every time: a new binary may carry new files, and the
	// ETag answers unchanged ones with 304 cheaply.
	h.Set(echo.HeaderCacheControl, "no-cache")
	if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		return c.NoContent(http.StatusNotModified)
	}
	h.Add("Vary", "Accept-Encoding")
	if gz, ok := u.gzipped[p]; ok && acceptsGzip(c.Request().Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		return c.Blob(http.StatusOK, contentType(p), gz)
	}
	b, err := fs.ReadFile(u.static, p)
	if err != nil {
		return fmt.Errorf("reading static %s: %w", p, err)
	}
	return c.Blob(http.StatusOK, contentType(p), b)
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".md":
		return "text/plain; charset=utf-8"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// principal is the signed-in user of a page request, from the session
// cookie; ok is false without a valid session.
func (u *UI) principal(c echo.Context) (auth.Session, bool, error) {
	if u.sessions == nil {
		return auth.Session{}, false, nil
	}
	cookie, err := c.Request().Cookie(u.opts.CookieName)
	if err != nil || cookie.Value == "" {
		return auth.Session{}, false, nil
	}
	sess, err := u.sessions.GetSession(c.Request().Context(), cookie.Value)
	if errors.Is(err, auth.ErrNoSession) {
		return auth.Session{}, false, nil
	}
	if err != nil {
		return auth.Session{}, false, fmt.Errorf("reading session: %w", err)
	}
	return sess, true, nil
}

// toLogin sends an unauthenticated page request to the sign-in page,
// remembering where it was going.
func toLogin(c echo.Context) error {
	next := c.Request().URL.RequestURI()
	if next == "/" || next == "" {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(next))
}

// safeNext keeps a post-sign-in target on this site: a path, never a
// scheme-relative or absolute URL.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// home sends the viewer to their first dashboard.
func (u *UI) home(c echo.Context) error {
	sess, ok, err := u.principal(c)
	if err != nil {
		return err
	}
	if !ok {
		return toLogin(c)
	}
	return c.Redirect(http.StatusSeeOther, "/dashboards/"+url.PathEscape(u.firstDashboard(sess.Role)))
}

// firstDashboard is where the viewer lands: an employee on their
// scorecard, others on the first dashboard of the menu.
func (u *UI) firstDashboard(role auth.Role) string {
	const scorecard = "my_scorecard"
	set := u.set()
	if role == auth.RoleEmployee || set == nil || len(set.Dashboards) == 0 {
		return scorecard
	}
	ds := slices.Clone(set.Dashboards)
	slices.SortStableFunc(ds, func(a, b *dashboard.Dashboard) int { return a.Order - b.Order })
	if role == auth.RoleManager {
		// Managers see their teams: skip dashboards made of company-wide
		// tiles only, which would show them nothing.
		for _, d := range ds {
			for _, t := range d.Tiles {
				if t.Scope.Mode != dashboard.ScopeCompany {
					return d.ID
				}
			}
		}
	}
	return ds[0].ID
}

func (u *UI) set() *dashboard.Set {
	if u.opts.Dashboards == nil {
		return nil
	}
	return u.opts.Dashboards.Current()
}

func (u *UI) loginPage(c echo.Context) error {
	if _, ok, err := u.principal(c); err != nil {
		return err
	} else if ok {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	p := u.newPage(c, "login", auth.Session{}, false)
	p.Data = map[string]any{"next": safeNext(c.QueryParam("next")), "enabled": u.sessions != nil}
	return u.render(c, http.StatusOK, p)
}

// loginNoScript answers the sign-in form posted without JavaScript (the
// form posts here so a password never lands in a URL).
func (u *UI) loginNoScript(c echo.Context) error {
	p := u.newPage(c, "login", auth.Session{}, false)
	p.Data = map[string]any{"next": "/", "enabled": u.sessions != nil}
	p.Error = p.T("login.needs_js")
	return u.render(c, http.StatusOK, p)
}

// page serves a signed-in page for the roles given; others get a 403 page.
func (u *UI) page(name string, roles []auth.Role) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, ok, err := u.principal(c)
		if err != nil {
			return err
		}
		if !ok {
			return toLogin(c)
		}
		if !slices.Contains(roles, sess.Role) {
			return u.render(c, http.StatusForbidden, u.newPage(c, "forbidden", sess, true))
		}
		p := u.newPage(c, name, sess, true)
		switch name {
		case "dashboard":
			return u.dashboardPage(c, p)
		case "event":
			p.Data = map[string]any{"event_id": c.Param("id")}
		case "alerts":
			p.Data = map[string]any{"can_silence": slices.Contains(silencers, sess.Role)}
		}
		return u.render(c, http.StatusOK, p)
	}
}

// tileView is a tile's skeleton on the dashboard page; the script fills it.
type tileView struct {
	ID, Kind, Title, Help string
	W, H                  int
}

// dashboardView is the dashboard page's server-rendered part.
type dashboardView struct {
	ID, Title, Description string
	Grains                 []string
	Period, Grain          bool
	Team, Employee         bool
	Tiles                  []tileView
	Others                 []menuEntry
}

type menuEntry struct {
	ID, Title string
	Active    bool
}

func (u *UI) dashboardPage(c echo.Context, p *page) error {
	set := u.set()
	id := c.Param("id")
	var d *dashboard.Dashboard
	if set != nil {
		d, _ = set.Get(id)
	}
	if d == nil {
		p.Name, p.TitleKey = "notfound", "notfound.title"
		return u.render(c, http.StatusNotFound, p)
	}
	v := dashboardView{ID: d.ID, Title: d.Title.In(p.Lang), Description: d.Description.In(p.Lang),
		Period: d.Filters.Period != nil, Grain: d.Filters.Grain != nil,
		Team: d.Filters.Team != nil, Employee: d.Filters.Employee != nil}
	if d.Filters.Grain != nil {
		v.Grains = d.Filters.Grain.Options
	}
	if len(v.Grains) == 0 {
		v.Grains = dashboard.Grains
	}
	for _, t := range d.Tiles {
		v.Tiles = append(v.Tiles, tileView{ID: t.ID, Kind: t.Kind, Title: t.Title.In(p.Lang), Help: t.Help.In(p.Lang),
			W: clamp(t.Size.W, 1, 12, 4), H: clamp(t.Size.H, 1, 8, 3)})
	}
	p.Title = v.Title
	p.Dashboard = &v
	p.Data = map[string]any{"dashboard": d.ID, "charts": u.charts}
	return u.render(c, http.StatusOK, p)
}

func clamp(v, lo, hi, def int) int {
	if v == 0 {
		return def
	}
	return max(lo, min(hi, v))
}

// render executes a page into a buffer first, so a template failure (a
// bug) still gets a clean 500 instead of half a page.
func (u *UI) render(c echo.Context, status int, p *page) error {
	t := u.pages[p.Name]
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout.html", p); err != nil {
		u.opts.Logger.Error("page failed to render", "page", p.Name, "err", err)
		return fmt.Errorf("rendering page %s: %w", p.Name, err)
	}
	h := c.Response().Header()
	setSecurityHeaders(h)
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set("Content-Language", p.Lang)
	return c.HTMLBlob(status, []byte(b.String()))
}
