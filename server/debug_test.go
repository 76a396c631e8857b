package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestDebugProfiles: the debug listener serves the runtime's profiles (a
// heap profile is gzipped protobuf, as go tool pprof reads it), lists
// them, answers 404 for an unknown one, and stops with its context.
func TestDebugProfiles(t *testing.T) {
	d, err := NewDebug("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	get := func(path string) (int, []byte) {
		t.Helper()
		res, err := http.Get("http://" + d.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if code, b := get("/debug/pprof/heap?gc=1"); code != 200 || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("heap profile: %d, %d bytes starting % x; want 200 and gzip", code, len(b), b[:min(2, len(b))])
	}
	if code, b := get("/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(string(b), "goroutine profile:") {
		t.Errorf("goroutine profile as text: %d %.80q", code, b)
	}
	if code, b := get("/debug/pprof/"); code != 200 || !strings.Contains(string(b), "heap (") {
		t.Errorf("index: %d %q", code, b)
	}
	if code, _ := get("/debug/pprof/nope"); code != http.StatusNotFound {
		t.Errorf("unknown profile: %d, want 404", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	if _, err := NewDebug("127.0.0.1:99999", slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a bad address was accepted")
	}
}
