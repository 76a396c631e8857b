package server_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/query"
	"github.com/pulsekpi/pulse/server"
)

var wantHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "same-origin",
	"X-Frame-Options":        "DENY",
}

// The security headers are on every answer: API, page, error; HSTS only
// over TLS, directly or as a trusted proxy says.
func TestSecurityHeaders(t *testing.T) {
	e := newOpsEnv(t)
	s := e.server(t, query.Options{}, server.Options{Hardening: server.Hardening{TrustedProxies: []string{"10.1.0.0/16"}}})
	for _, c := range []struct {
		who, method, path string
		code              int
	}{
		{"", "GET", "/healthz", 200},
		{"ana", "GET", "/api/kpis?grain=month&period=2026-10-01", 200},
		{"ana", "GET", "/api/transforms/runs", 200},
		{"emp1", "GET", "/api/transforms/runs", 403},
		{"", "GET", "/api/transforms/runs", 401},
		{"", "GET", "/no/such/page", 404},
		{"ana", "GET", "/api/no-such-endpoint", 404},
		{"", "POST", "/healthz", 405},
		{"ana", "POST", "/api/query", 400},
	} {
		rec := e.call(s, c.who, c.method, c.path, "{}")
		if rec.Code != c.code {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, rec.Code, rec.Body, c.code)
		}
		for k, v := range wantHeaders {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s %s: %s = %q, want %q", c.method, c.path, k, got, v)
			}
		}
		if rec.Header().Get("Strict-Transport-Security") != "" {
			t.Errorf("%s %s: HSTS over plain HTTP", c.method, c.path)
		}
		if c.code >= 400 {
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["error"] == "" || len(body) != 1 {
				t.Errorf("%s %s: error answer %q is not {\"error\": ...}", c.method, c.path, rec.Body)
			}
		}
	}
	for _, c := range []struct {
		name, peer, proto string
		tls, want         bool
	}{
		{"TLS", "192.0.2.1:5000", "", true, true},
		{"trusted proxy says https", "10.1.2.3:5000", "https", false, true},
		{"untrusted peer says https", "192.0.2.1:5000", "https", false, false},
		{"trusted proxy says http", "10.1.2.3:5000", "http", false, false},
	} {
		req := httptest.NewRequest("GET", "/healthz", nil)
		req.RemoteAddr = c.peer
		if c.proto != "" {
			req.Header.Set("X-Forwarded-Proto", c.proto)
		}
		if c.tls {
			req.TLS = &tls.ConnectionState{}
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if got := rec.Header().Get("Strict-Transport-Security") != ""; got != c.want {
			t.Errorf("%s: HSTS %v, want %v", c.name, got, c.want)
		}
	}
}

// X-Forwarded-For names the client only when a trusted proxy sent it: the
// session records (and the sign-in limiter uses) that address.
func TestForwardedFor(t *testing.T) {
	e := newOpsEnv(t)
	cases := []struct {
		name    string
		proxies []string
		peer    string
		want    string
	}{
		{"no proxies configured", nil, "127.0.0.1:4000", "127.0.0.1"},
		{"private peer but not trusted", []string{"10.1.0.0/16"}, "192.168.1.1:4000", "192.168.1.1"},
		{"trusted proxy", []string{"10.1.0.0/16"}, "10.1.2.3:4000", "203.0.113.9"},
		{"trusted proxy, bare IP", []string{"10.1.2.3"}, "10.1.2.3:4000", "203.0.113.9"},
	}
	for i, c := range cases {
		s := e.server(t, query.Options{}, server.Options{Hardening: server.Hardening{TrustedProxies: c.proxies}})
		req := httptest.NewRequest("POST", "/api/session", strings.NewReader(`{"login":"ana","password":"correct horse battery"}`))
		req.RemoteAddr = c.peer
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		req.Header.Set("User-Agent", c.name)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s: sign-in %d %s", c.name, rec.Code, rec.Body)
		}
		var ip string
		if err := e.db.QueryRow(`SELECT client_ip FROM ops.sessions WHERE user_agent = ?`, c.name).Scan(&ip); err != nil {
			t.Fatalf("%s (%d): %v", c.name, i, err)
		}
		if ip != c.want {
			t.Errorf("%s: session from %q, want %q", c.name, ip, c.want)
		}
	}
	// The sign-in limiter counts per extracted address: a forged header
	// from an untrusted peer does not escape it.
	s := e.server(t, query.Options{}, server.Options{})
	last := 0
	for i := range 25 {
		req := httptest.NewRequest("POST", "/api/session", strings.NewReader(`{"login":"nobody`+string(rune('a'+i))+`","password":"x"}`))
		req.RemoteAddr = "192.0.2.7:4000"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "198.51.100."+string(rune('0'+i%10)))
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		last = rec.Code
	}
	if last != 429 {
		t.Errorf("25 failed sign-ins from one peer with forged X-Forwarded-For: last %d, want 429", last)
	}
}

// Bodies under /api larger than MaxBody get 413, whether Content-Length
// says so or not.
func TestBodyLimit(t *testing.T) {
	e := newOpsEnv(t)
	s := e.server(t, query.Options{}, server.Options{Hardening: server.Hardening{MaxBody: 4 << 10}})
	big := `{"sql":"SELECT '` + strings.Repeat("x", 8<<10) + `'"}`
	for _, chunked := range []bool{false, true} {
		req := httptest.NewRequest("POST", "/api/query", strings.NewReader(big))
		if chunked {
			req.ContentLength = -1
			req.Body = io.NopCloser(strings.NewReader(big))
		}
		req.Header.Set("Authorization", "Bearer "+e.tokens["ana"])
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		var body map[string]string
		if rec.Code != 413 || json.Unmarshal(rec.Body.Bytes(), &body) != nil || !strings.Contains(body["error"], "larger than 4096") {
			t.Errorf("chunked %v: %d %s, want 413 JSON", chunked, rec.Code, rec.Body)
		}
	}
	if rec := e.call(s, "ana", "POST", "/api/query", `{"sql":"SELECT 1 AS one"}`); rec.Code != 200 {
		t.Errorf("small body: %d %s", rec.Code, rec.Body)
	}
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// POST /api/query is rate limited per user: the burst, then 429 with
// Retry-After until the bucket refills; other users are not affected.
func TestQueryRateLimit(t *testing.T) {
	e := newOpsEnv(t)
	clock := &fakeClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	s := e.server(t, query.Options{}, server.Options{Hardening: server.Hardening{QueryRatePerMinute: 6, QueryBurst: 2, Now: clock.Now}})
	q := `{"sql":"SELECT 1 AS one"}`
	for i := range 2 {
		if rec := e.call(s, "ana", "POST", "/api/query", q); rec.Code != 200 {
			t.Fatalf("query %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := e.call(s, "ana", "POST", "/api/query", q)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "10" || !strings.Contains(rec.Body.String(), "too many queries") {
		t.Fatalf("third query: %d Retry-After %q %s, want 429 after 10s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if rec := e.call(s, "ana2", "POST", "/api/query", q); rec.Code != 200 {
		t.Errorf("another user: %d", rec.Code)
	}
	clock.Add(5 * time.Second)
	if rec := e.call(s, "ana", "POST", "/api/query", q); rec.Code != 429 || rec.Header().Get("Retry-After") != "5" {
		t.Errorf("half refilled: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	clock.Add(5 * time.Second)
	if rec := e.call(s, "ana", "POST", "/api/query", q); rec.Code != 200 {
		t.Errorf("refilled: %d %s", rec.Code, rec.Body)
	}
	if rec := e.call(s, "ana", "POST", "/api/query", q); rec.Code != 429 {
		t.Errorf("empty again: %d", rec.Code)
	}
	// Limited requests never reached the database: not in the history.
	var n int
	if err := e.db.QueryRowContext(context.Background(), `SELECT count(*) FROM ops.query_history WHERE user_login = 'ana'`).Scan(&n); err != nil || n != 3 {
		t.Errorf("ana's history rows %d %v, want 3", n, err)
	}
}
