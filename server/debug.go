package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"
)

// Debug serves Go's runtime profiles for `go tool pprof` on an address of
// its own (server.debug_addr), apart from the API: profiles show a
// process's internals and have no sign-in, so they belong on a loopback or
// otherwise private address. They are written here from runtime/pprof
// rather than by importing net/http/pprof, whose init registers them on
// http.DefaultServeMux for anything that serves it.
type Debug struct {
	srv *http.Server
	ln  net.Listener
	log *slog.Logger
}

// NewDebug listens on addr at once, so that a bad address fails start-up.
func NewDebug(addr string, log *slog.Logger) (*Debug, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/profile", cpuProfile)
	mux.HandleFunc("GET /debug/pprof/{name}", namedProfile)
	mux.HandleFunc("GET /debug/pprof/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "profile?seconds=N (CPU)")
		for _, p := range pprof.Profiles() {
			fmt.Fprintf(w, "%s (%d)\n", p.Name(), p.Count())
		}
	})
	return &Debug{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln, log: log}, nil
}

// Addr is the address it listens on.
func (d *Debug) Addr() string { return d.ln.Addr().String() }

// Run serves until ctx is done.
func (d *Debug) Run(ctx context.Context) error {
	d.log.Info("runtime profiles served", "addr", d.Addr())
	go func() {
		<-ctx.Done()
		d.srv.Close()
	}()
	if err := d.srv.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("debug listener: %w", err)
	}
	return nil
}

// namedProfile writes heap, allocs, goroutine, block, mutex or
// threadcreate; ?gc=1 collects garbage first, so a heap profile shows what
// is live.
func namedProfile(w http.ResponseWriter, r *http.Request) {
	p := pprof.Lookup(r.PathValue("name"))
	if p == nil {
		http.Error(w, "no such profile", http.StatusNotFound)
		return
	}
	if r.URL.Query().Get("gc") == "1" {
		runtime.GC()
	}
	debug, _ := strconv.Atoi(r.URL.Query().Get("debug"))
	if debug == 0 {
		w.Header().Set("Content-Type", "application/octet-stream")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	p.WriteTo(w, debug)
}

// cpuProfile profiles the CPU for ?seconds= (default 30, at most 300).
func cpuProfile(w http.ResponseWriter, r *http.Request) {
	secs, err := strconv.Atoi(r.URL.Query().Get("seconds"))
	if err != nil || secs <= 0 {
		secs = 30
	}
	secs = min(secs, 300)
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := pprof.StartCPUProfile(w); err != nil {
		http.Error(w, "a CPU profile is already running: "+err.Error(), http.StatusConflict)
		return
	}
	select {
	case <-time.After(time.Duration(secs) * time.Second):
	case <-r.Context().Done():
	}
	pprof.StopCPUProfile()
}
