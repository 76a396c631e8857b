package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/auth"
)

// testServer mounts the middleware and handlers as the server would.
func testServer(st *auth.Store, opts auth.Options) *echo.Echo {
	e := echo.New()
	e.POST("/api/session", auth.SignIn(st, opts))
	api := e.Group("/api", auth.Middleware(st, "admin-secret", opts))
	api.GET("/session", auth.WhoAmI(st, opts))
	api.DELETE("/session", auth.SignOut(st, opts))
	me := func(c echo.Context) error {
		p, _ := auth.FromContext(c)
		return c.JSON(http.StatusOK, p)
	}
	api.GET("/me", me)
	api.POST("/me", me)
	api.POST("/admin", me, auth.RequireRole(auth.RoleAdmin))
	return e
}

type call struct {
	method, path, body string
	header             map[string]string
	cookie             *http.Cookie
	form               url.Values
}

func do(e *echo.Echo, c call) *httptest.ResponseRecorder {
	var req *http.Request
	switch {
	case c.form != nil:
		req = httptest.NewRequest(c.method, c.path, strings.NewReader(c.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	default:
		req = httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer %d is not JSON: %q", rec.Code, rec.Body.String())
	}
	return v
}

func sessionCookie(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == "pulse_session" {
			return c
		}
	}
	return nil
}

func TestMiddleware(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st, _ := newStore(t, auth.StoreOptions{Now: clk.Now, IdleTimeout: 30 * time.Minute})
	mustAdd(t, st, auth.User{Login: "m1", DisplayName: "Mona", Role: auth.RoleManager, EmployeeID: "M1"})
	tok, err := st.CreateToken(ctx, "m1", "script")
	if err != nil {
		t.Fatal(err)
	}
	e := testServer(st, auth.Options{})
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

	// No credentials, or wrong ones.
	for _, c := range []call{
		{method: "GET", path: "/api/me"},
		{method: "POST", path: "/api/me"},
		{method: "GET", path: "/api/me", header: bearer("wrong")},
		{method: "GET", path: "/api/me", header: map[string]string{"Authorization": "Basic YTpi"}},
		{method: "GET", path: "/api/me", cookie: &http.Cookie{Name: "pulse_session", Value: "forged"}},
		{method: "GET", path: "/api/me", header: bearer("wrong"), cookie: &http.Cookie{Name: "pulse_session", Value: "forged"}},
	} {
		rec := do(e, c)
		if rec.Code != http.StatusUnauthorized || decode(t, rec)["error"] == nil {
			t.Errorf("%s %s %v: %d %s", c.method, c.path, c.header, rec.Code, rec.Body)
		}
	}

	// The admin token: admin, no user; no CSRF token needed.
	rec := do(e, call{method: "POST", path: "/api/admin", header: bearer("admin-secret")})
	if v := decode(t, rec); rec.Code != 200 || v["role"] != "admin" || v["via"] != "admin-token" || v["user_id"] != nil {
		t.Errorf("admin token: %d %v", rec.Code, v)
	}
	// A user token.
	rec = do(e, call{method: "POST", path: "/api/me", header: bearer(tok)})
	if v := decode(t, rec); rec.Code != 200 || v["login"] != "m1" || v["via"] != "token" || v["employee_id"] != "M1" {
		t.Errorf("user token: %d %v", rec.Code, v)
	}
	if rec := do(e, call{method: "POST", path: "/api/admin", header: bearer(tok)}); rec.Code != http.StatusForbidden {
		t.Errorf("a manager on an admin route: %d", rec.Code)
	}

	// Sign in.
	rec = do(e, call{method: "POST", path: "/api/session", body: `{"login": "M1", "password": "wrong password"}`})
	if rec.Code != http.StatusUnauthorized || sessionCookie(rec) != nil {
		t.Errorf("wrong password: %d %v", rec.Code, rec.Result().Cookies())
	}
	rec = do(e, call{method: "POST", path: "/api/session", form: url.Values{"login": {"m1"}, "password": {"correct horse battery"}}})
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("sign-in by form: %d", rec.Code)
	}
	rec = do(e, call{method: "POST", path: "/api/session", body: `{"login": "M1", "password": "correct horse battery"}`})
	v := decode(t, rec)
	csrf, _ := v["csrf_token"].(string)
	cookie := sessionCookie(rec)
	if rec.Code != 200 || csrf == "" || cookie == nil || v["user"].(map[string]any)["login"] != "m1" {
		t.Fatalf("sign-in: %d %v", rec.Code, v)
	}
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.Path != "/" || cookie.MaxAge <= 0 {
		t.Errorf("cookie %+v", cookie)
	}
	if strings.Contains(rec.Body.String(), cookie.Value) {
		t.Error("the session secret is in the body")
	}
	// X-Forwarded-Proto alone, which any client can send, does not make
	// the cookie Secure; the Secure hook (the server's trusted-proxy
	// check) does.
	rec = do(e, call{method: "POST", path: "/api/session", body: `{"login": "m1", "password": "correct horse battery"}`,
		header: map[string]string{"X-Forwarded-Proto": "https"}})
	if c := sessionCookie(rec); c == nil || c.Secure {
		t.Errorf("untrusted X-Forwarded-Proto: cookie %+v", c)
	}
	behindProxy := testServer(st, auth.Options{Secure: func(r *http.Request) bool {
		return r.Header.Get("X-Forwarded-Proto") == "https"
	}})
	rec = do(behindProxy, call{method: "POST", path: "/api/session", body: `{"login": "m1", "password": "correct horse battery"}`,
		header: map[string]string{"X-Forwarded-Proto": "https"}})
	if c := sessionCookie(rec); c == nil || !c.Secure {
		t.Errorf("behind a trusted TLS proxy: cookie %+v", c)
	}

	// The cookie session: reads fine; unsafe methods need the CSRF token.
	rec = do(e, call{method: "GET", path: "/api/session", cookie: cookie})
	if v := decode(t, rec); rec.Code != 200 || v["csrf_token"] != csrf || v["user"].(map[string]any)["via"] != "session" {
		t.Errorf("who am I: %d %v", rec.Code, v)
	}
	if rec := do(e, call{method: "GET", path: "/api/me", cookie: cookie}); rec.Code != 200 {
		t.Errorf("GET with cookie: %d", rec.Code)
	}
	if rec := do(e, call{method: "POST", path: "/api/me", cookie: cookie}); rec.Code != http.StatusForbidden || decode(t, rec)["error"] == nil {
		t.Errorf("POST with cookie, no CSRF token: %d %s", rec.Code, rec.Body)
	}
	if rec := do(e, call{method: "POST", path: "/api/me", cookie: cookie, header: map[string]string{"X-CSRF-Token": csrf + "x"}}); rec.Code != http.StatusForbidden {
		t.Errorf("POST with cookie, wrong CSRF token: %d", rec.Code)
	}
	if rec := do(e, call{method: "POST", path: "/api/me", cookie: cookie, header: map[string]string{"X-CSRF-Token": csrf}}); rec.Code != 200 {
		t.Errorf("POST with cookie and CSRF header: %d %s", rec.Code, rec.Body)
	}
	if rec := do(e, call{method: "POST", path: "/api/me", cookie: cookie, form: url.Values{"csrf_token": {csrf}}}); rec.Code != 200 {
		t.Errorf("POST with cookie and CSRF form field: %d %s", rec.Code, rec.Body)
	}
	// A bearer token is exempt, cookie or not.
	if rec := do(e, call{method: "POST", path: "/api/me", cookie: cookie, header: bearer(tok)}); rec.Code != 200 {
		t.Errorf("POST with bearer and cookie, no CSRF: %d", rec.Code)
	}
	// Sign-out needs the CSRF token too, then the cookie is dead.
	if rec := do(e, call{method: "DELETE", path: "/api/session", cookie: cookie}); rec.Code != http.StatusForbidden {
		t.Errorf("sign-out without CSRF: %d", rec.Code)
	}
	rec = do(e, call{method: "DELETE", path: "/api/session", cookie: cookie, header: map[string]string{"X-CSRF-Token": csrf}})
	if c := sessionCookie(rec); rec.Code != http.StatusNoContent || c == nil || c.MaxAge >= 0 {
		t.Errorf("sign-out: %d, cookie %+v", rec.Code, c)
	}
	if rec := do(e, call{method: "GET", path: "/api/me", cookie: cookie}); rec.Code != http.StatusUnauthorized {
		t.Errorf("after sign-out: %d", rec.Code)
	}
	if rec := do(e, call{method: "DELETE", path: "/api/session", header: bearer(tok)}); rec.Code != http.StatusBadRequest {
		t.Errorf("sign-out with a token: %d", rec.Code)
	}

	// An idle session ends: 401 and the cookie is cleared.
	rec = do(e, call{method: "POST", path: "/api/session", body: `{"login": "m1", "password": "correct horse battery"}`})
	cookie = sessionCookie(rec)
	clk.Add(31 * time.Minute)
	rec = do(e, call{method: "GET", path: "/api/me", cookie: cookie})
	if c := sessionCookie(rec); rec.Code != http.StatusUnauthorized || c == nil || c.MaxAge >= 0 {
		t.Errorf("idle session: %d, cookie %+v", rec.Code, c)
	}
	// A revoked token is refused.
	st.RevokeToken(ctx, "m1", "script")
	if rec := do(e, call{method: "GET", path: "/api/me", header: bearer(tok)}); rec.Code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", rec.Code)
	}
}

// TestNoAdminToken: an empty admin token admits nobody.
func TestNoAdminToken(t *testing.T) {
	st, _ := newStore(t, auth.StoreOptions{})
	e := echo.New()
	e.GET("/x", func(c echo.Context) error { return c.NoContent(200) }, auth.Middleware(st, "", auth.Options{}))
	if rec := do(e, call{method: "GET", path: "/x", header: map[string]string{"Authorization": "Bearer "}}); rec.Code != http.StatusUnauthorized {
		t.Errorf("empty bearer with no admin token: %d", rec.Code)
	}
}

func TestSignInRateLimit(t *testing.T) {
	clk := newClock()
	st, _ := newStore(t, auth.StoreOptions{Now: clk.Now})
	mustAdd(t, st, auth.User{Login: "a1", Role: auth.RoleAnalyst})
	mustAdd(t, st, auth.User{Login: "a2", Role: auth.RoleAnalyst})
	lim := auth.NewLimiter(auth.Limits{
		PerLogin: auth.Bucket{Burst: 3, Every: time.Minute},
		PerIP:    auth.Bucket{Burst: 5, Every: time.Minute},
	}, clk.Now)
	e := testServer(st, auth.Options{Limiter: lim})
	signIn := func(login, pw, ip string) int {
		req := httptest.NewRequest("POST", "/api/session", strings.NewReader(`{"login": "`+login+`", "password": "`+pw+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = ip + ":5555"
		req.Header.Set("X-Forwarded-For", "1.2.3.4") // not trusted: no IPExtractor
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		return rec.Code
	}
	const good = "correct horse battery"
	// Per login: 3 failures, then even the right password waits.
	for i := range 3 {
		if code := signIn("a1", "wrong", "10.0.0.1"); code != 401 {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	if code := signIn("a1", good, "10.0.0.2"); code != 429 {
		t.Errorf("after 3 failures, from another address: %d, want 429", code)
	}
	if code := signIn("a2", good, "10.0.0.2"); code != 200 {
		t.Errorf("another login is not limited: %d", code)
	}
	clk.Add(time.Minute)
	if code := signIn("a1", good, "10.0.0.3"); code != 200 {
		t.Errorf("a minute later: %d", code)
	}
	// A success refills the login's bucket.
	for i := range 3 {
		if code := signIn("a1", "wrong", "10.0.0.3"); code != 401 {
			t.Errorf("after success, failure %d: %d", i+1, code)
		}
	}
	// Per address: 10.0.0.3 has 2 of 5 left (the success was given back).
	for i := range 2 {
		if code := signIn("nobody", "x", "10.0.0.3"); code != 401 {
			t.Errorf("failure %d on another login from 10.0.0.3: %d", i+1, code)
		}
	}
	if code := signIn("a2", good, "10.0.0.3"); code != 429 {
		t.Errorf("the address's bucket is empty: %d, want 429", code)
	}
	if code := signIn("a2", good, "10.0.0.4"); code != 200 {
		t.Errorf("from another address: %d", code)
	}
}
