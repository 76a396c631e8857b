package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/transform"
)

// A panicking handler answers 500 {"error":"internal error"}; the panic
// and its stack go to the log only.
func TestPanicAnswersWithoutInternals(t *testing.T) {
	var logs bytes.Buffer
	s := New(Options{AdminToken: "tok", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	s.echo.GET("/api/boom", func(echo.Context) error { panic("secret /var/lib/pulse/data/pulse.duckdb") })
	req := httptest.NewRequest("GET", "/api/boom", nil)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 500 || strings.TrimSpace(rec.Body.String()) != `{"error":"internal error"}` {
		t.Errorf("panic answered %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Error("panic answer lacks the security headers")
	}
	if !strings.Contains(logs.String(), "secret") || !strings.Contains(logs.String(), "harden_internal_test.go") {
		t.Errorf("the log lacks the panic and its stack: %s", logs.String())
	}
}

// DuckDB's error texts, passed on to clients for bad queries and tiles,
// do not tell where the warehouse's files are.
func TestErrorsHideFilePaths(t *testing.T) {
	s := New(Options{AdminToken: "tok"})
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: IO Error: Cannot open file \"/var/lib/pulse/data/pulse.duckdb.wal\": Permission denied", transform.ErrBadQuery),
			`IO Error: Cannot open file "…": Permission denied`},
		{fmt.Errorf("%w: Catalog Error: Table with name x does not exist!", transform.ErrBadQuery),
			"Catalog Error: Table with name x does not exist!"},
		{errStatus(400, `reading C:\pulse\data\pulse.duckdb failed`), "reading … failed"},
		{errStatus(400, "period: want YYYY-MM-DD like 2026/10/01, not a path"), "2026/10/01"},
		{errStatus(400, "Permission Error: file system operations are disabled, /etc/passwd"), "disabled, …"},
	} {
		rec := httptest.NewRecorder()
		s.handleError(c.err, s.echo.NewContext(httptest.NewRequest("GET", "/api/x", nil), rec))
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body["error"], c.want) || strings.Contains(body["error"], "/var/lib") ||
			strings.Contains(body["error"], "/etc/") {
			t.Errorf("%v: answered %s, want %q", c.err, rec.Body, c.want)
		}
	}
}

// The rate limiter refills at its rate, never past the burst.
func TestRateLimiterRefill(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(60, 3, func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.take("u"); !ok {
			t.Fatalf("burst token %d refused", i)
		}
	}
	if ok, wait := l.take("u"); ok || wait != time.Second {
		t.Fatalf("empty bucket: %v %s, want refused for 1s", ok, wait)
	}
	now = now.Add(time.Hour)
	for i := range 3 {
		if ok, _ := l.take("u"); !ok {
			t.Fatalf("after an hour, token %d refused", i)
		}
	}
	if ok, _ := l.take("u"); ok {
		t.Fatal("the bucket held more than its burst")
	}
}
