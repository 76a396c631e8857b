package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// findChromium is $PULSE_CHROMIUM, else the first Chromium or Chrome on
// PATH ("" when there is none).
func findChromium() string {
	if p := os.Getenv("PULSE_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is one headless Chromium; each session opens its own browser
// context in it (its own cookies, like a separate incognito window).
type browser struct {
	ctx         context.Context
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
}

// startBrowser starts Chromium with the flags a root user in a container
// needs, in a fresh profile, with English as the browser's language so
// that pages start in English.
func startBrowser(path, profile string) (*browser, error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-features", "Translate"),
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// The first run starts the browser and binds it to ctx, so it cannot
	// have a deadline of its own: wait for it here instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	var err error
	select {
	case err = <-started:
	case <-time.After(time.Minute):
		err = errors.New("no answer within a minute")
	}
	if err != nil {
		cancel()
		allocCancel()
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	return &browser{ctx: ctx, cancel: cancel, allocCancel: allocCancel}, nil
}

func (b *browser) close() {
	b.cancel()
	b.allocCancel()
}

// problem is something a page must not do: log an error to the console,
// throw an uncaught exception, or violate the Content Security Policy.
type problem struct {
	kind   string // console.error, exception, log/<source>, csp
	text   string
	url    string
	source string // of a browser log entry: network, security, javascript…
}

func (p problem) String() string {
	if p.url != "" {
		return fmt.Sprintf("%s: %s (%s)", p.kind, p.text, p.url)
	}
	return p.kind + ": " + p.text
}

// session is one signed-in (or not yet) user in their own browser
// context: one tab, its console watched from the first event.
type session struct {
	t    *testing.T
	h    *harness
	role string
	base string
	ctx  context.Context

	mu       sync.Mutex
	problems []problem
}

// cspWatcher runs before any page script: the browser reports CSP
// violations as securitypolicyviolation events as well as in its log.
const cspWatcher = `window.__pulseCSP = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__pulseCSP.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline code') +
    ' at ' + e.sourceFile + ':' + e.lineNumber);
});`

// newSession opens a tab in a new browser context for role; the tab
// closes when the test ends.
func newSession(t *testing.T, h *harness, role, base string) *session {
	t.Helper()
	s := &session{t: t, h: h, role: role, base: base}
	tctx, cancelT := context.WithTimeout(h.browser.ctx, 3*time.Minute)
	ctx, cancel := chromedp.NewContext(tctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(s.listen))
	t.Cleanup(func() {
		cancel()
		cancelT()
	})
	s.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab for %s: %v", role, err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatcher}); err != nil {
		t.Fatalf("installing the CSP watcher: %v", err)
	}
	return s
}

// listen records the tab's errors; it runs in the tab's event loop.
func (s *session) listen(ev any) {
	var p problem
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			switch {
			case len(a.Value) > 0:
				parts = append(parts, string(a.Value))
			default:
				parts = append(parts, a.Description)
			}
		}
		p = problem{kind: "console.error", text: strings.Join(parts, " ")}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		p = problem{kind: "exception", text: text, url: fmt.Sprintf("%s:%d", d.URL, d.LineNumber+1)}
	case *cdplog.EventEntryAdded:
		if ev.Entry == nil || ev.Entry.Level != cdplog.EntryLevelError {
			return
		}
		p = problem{kind: "log/" + string(ev.Entry.Source), text: ev.Entry.Text, url: ev.Entry.URL, source: string(ev.Entry.Source)}
	default:
		return
	}
	s.mu.Lock()
	s.problems = append(s.problems, p)
	s.mu.Unlock()
}

// checkPage fails the test for every console error, uncaught exception
// and CSP violation since the last check, except those allow accepts
// (nil: none), and keeps a full-page screenshot of the page as
// <role>_<name>.png.
func (s *session) checkPage(name string, allow func(problem) bool) {
	s.t.Helper()
	csp, err := evalJS[[]string](s, `window.__pulseCSP || []`)
	if err != nil {
		s.t.Errorf("%s: reading the CSP violations: %v", name, err)
	}
	s.mu.Lock()
	got := s.problems
	s.problems = nil
	s.mu.Unlock()
	for _, c := range csp {
		got = append(got, problem{kind: "csp", text: c})
	}
	for _, p := range got {
		if allow != nil && allow(p) {
			continue
		}
		if strings.HasSuffix(p.url, "/favicon.ico") {
			s.t.Errorf("%s as %s: %s: the browser asks for /favicon.ico when a page declares no icon, and the 404 is a console error", name, s.role, p)
			continue
		}
		s.t.Errorf("%s as %s: %s", name, s.role, p)
	}
	s.screenshot(name)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// screenshot writes a full-page PNG of the tab to the artefacts folder.
func (s *session) screenshot(name string) {
	s.t.Helper()
	buf, err := chromedp.Run(s.timeout(20*time.Second), chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(s.h.artifacts, unsafeName.ReplaceAllString(s.role+"_"+name, "_")+".png")
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		s.t.Errorf("writing %s: %v", file, err)
	}
}

// timeout is the tab's context limited to d; the caller need not cancel
// it (the tab's own cancellation does).
func (s *session) timeout(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(s.ctx, d)
	time.AfterFunc(d, cancel)
	return ctx
}

// do runs actions, failing the test on error.
func (s *session) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if err := chromedp.Do(s.timeout(30*time.Second), actions...); err != nil {
		s.t.Fatalf("%s as %s: %v", what, s.role, err)
	}
}

// open navigates to path and returns the HTTP status of the document.
func (s *session) open(path string) int64 {
	s.t.Helper()
	resp, err := chromedp.Run(s.timeout(30*time.Second), chromedp.NavigateResponse(s.base+path))
	if err != nil {
		s.t.Fatalf("opening %s as %s: %v", path, s.role, err)
	}
	if resp == nil {
		s.t.Fatalf("opening %s as %s: no response", path, s.role)
	}
	// Without the policy the CSP watch would pass vacuously.
	if s.h.demo != nil && s.base == s.h.demo.base && headerValue(resp.Headers, "Content-Security-Policy") != pulseCSP {
		s.t.Errorf("%s as %s: Content-Security-Policy %q, want %q", path, s.role, headerValue(resp.Headers, "Content-Security-Policy"), pulseCSP)
	}
	return resp.Status
}

// headerValue is a response header, whatever the case of its name.
func headerValue(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v)
		}
	}
	return ""
}

// evalJS evaluates a JavaScript expression in the page. Runtime.evaluate
// is not subject to the page's CSP, unlike chromedp's Poll, which builds
// its predicate with new Function and would be refused by script-src
// 'self'.
func evalJS[T any](s *session, expr string) (T, error) {
	return chromedp.Run(s.timeout(20*time.Second), chromedp.Evaluate[T](expr))
}

// must is evalJS that fails the test on error.
func must[T any](s *session, expr string) T {
	s.t.Helper()
	v, err := evalJS[T](s, expr)
	if err != nil {
		s.t.Fatalf("as %s: evaluating %s: %v", s.role, expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it is true; on timeout the
// test fails with what, and the page's screenshot is kept. Errors while
// a page is being replaced (no execution context) are retried.
func (s *session) waitFor(what, cond string, d time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	var last error
	for {
		ok, err := evalJS[bool](s, "Boolean("+cond+")")
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) || s.ctx.Err() != nil {
			s.screenshot("timeout")
			loc, _ := evalJS[string](s, "location.href")
			shown, _ := evalJS[[]string](s, `Array.from(document.querySelectorAll('.error, [role=alert]')).filter(function (e) {
				return !e.hidden && e.textContent.trim();
			}).map(function (e) { return (e.id ? '#' + e.id + ': ' : '') + e.textContent.trim(); })`)
			s.t.Fatalf("as %s on %s: waited %s for %s (%s); the page shows errors %q; last evaluation error: %v", s.role, loc, d, what, cond, shown, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signIn signs in through /login and waits for the landing page.
func (s *session) signIn() {
	s.t.Helper()
	cred, ok := s.h.demo.logins[s.role]
	if !ok {
		s.t.Fatalf("the demo printed no sign-in for %s", s.role)
	}
	if st := s.open("/login"); st != http.StatusOK {
		s.t.Fatalf("/login: status %d", st)
	}
	s.waitFor("the sign-in form", `document.querySelector('form#login-form input#login') && document.querySelector('input#password') && document.querySelector('button#login-submit')`, 10*time.Second)
	s.checkPage("login", nil)
	s.do("signing in",
		chromedp.SendKeys(chromedp.CSS("input#login"), cred.Login),
		chromedp.SendKeys(chromedp.CSS("input#password"), cred.Password),
		chromedp.Click(chromedp.CSS("button#login-submit")),
	)
	deadline := time.Now().Add(15 * time.Second)
	for {
		// The landing page: signed in, the role on the body.
		state, _ := evalJS[string](s, `location.pathname !== '/login' && document.readyState === 'complete' && document.body ? (document.body.dataset.role || '?') :
			((document.querySelector('#login-error') || {}).textContent || '').trim() ? 'error: ' + document.querySelector('#login-error').textContent.trim() : ''`)
		switch {
		case state == s.role:
			// A landing dashboard first settles, so that its late answers
			// are not blamed on the next page.
			s.waitFor("the landing page to settle", `!document.querySelector('#dashboard') || document.querySelector('#dashboard[data-loaded="true"]')`, 45*time.Second)
			return
		case strings.HasPrefix(state, "error: "):
			s.t.Fatalf("signing in as %s: %s", s.role, state)
		case state != "" && state != "?":
			s.t.Fatalf("signed in as %s but <body data-role=%q>", s.role, state)
		}
		if time.Now().After(deadline) {
			s.screenshot("login_timeout")
			s.t.Fatalf("signing in as %s: no landing page within 15s (state %q)", s.role, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// client is an HTTP client that carries the tab's session cookie, to ask
// the API what the page should show.
func (s *session) client() *http.Client {
	s.t.Helper()
	res, err := chromedp.Call(s.timeout(10*time.Second), network.GetCookies, network.GetCookiesParams{URLs: []string{s.base + "/"}})
	if err != nil {
		s.t.Fatalf("reading the session cookie: %v", err)
	}
	var cookies []*http.Cookie
	for _, c := range res.Cookies {
		cookies = append(cookies, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: cookieTransport{cookies: cookies}}
}

type cookieTransport struct{ cookies []*http.Cookie }

func (c cookieTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	return http.DefaultTransport.RoundTrip(req)
}

// api GETs path with the session and decodes the JSON answer into out
// (when the status is 200); it returns the status.
func (s *session) api(path string, out any) int {
	s.t.Helper()
	resp, err := s.client().Get(s.base + path)
	if err != nil {
		s.t.Fatalf("GET %s as %s: %v", path, s.role, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("GET %s as %s: %v", path, s.role, err)
	}
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			s.t.Fatalf("GET %s as %s: decoding %.300q: %v", path, s.role, body, err)
		}
	}
	return resp.StatusCode
}

// browserContextID is the session's browser context, for browser-wide
// commands such as the download folder.
func (s *session) browserContextID() cdp.BrowserContextID {
	return chromedp.FromContext(s.ctx).BrowserContextID
}

// query builds a query string from pairs of key and value, leaving out
// empty values.
func query(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// jsString quotes s for JavaScript source.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// cssString quotes s for a CSS attribute selector ([href="…"]); CSS
// escapes are not JSON's, so only the quote and the backslash are
// escaped.
func cssString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// clickCSS clicks the first element that matches a CSS selector.
func clickCSS(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(sel))
}
