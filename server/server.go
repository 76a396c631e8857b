// Package server is Pulse's HTTP server: health and readiness, Prometheus
// metrics and the JSON API. Handlers return errors; one error handler turns
// them into JSON with a fitting status, never a stack trace.
package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/query"
	"github.com/pulsekpi/pulse/transform"
)

// Warehouse is what the server needs of the database.
type Warehouse interface {
	ingest.StatsReader
	// Ping fails when the database cannot answer.
	Ping(ctx context.Context) error
}

// Ingest is what the server needs of ingest.
type Ingest interface {
	// Ready reports whether every consumer has joined its group.
	Ready() bool
	// StoreError says why batches cannot be stored now, or "".
	StoreError() string
	Status(ctx context.Context, stats ingest.StatsReader) (ingest.Status, error)
}

// Transforms is what the server needs of the transform runner.
// *transform.Transformer implements it.
type Transforms interface {
	// RunNow waits for the run in progress, if any, then runs the models.
	RunNow(ctx context.Context, req transform.RunRequest) (*transform.Run, error)
}

// Options configure New.
type Options struct {
	Addr       string
	AdminToken string // bearer token with the admin role; "" means none
	Warehouse  Warehouse
	Ingest     Ingest
	Marts      Marts      // nil when transforms do not run here
	Transforms Transforms // nil when transforms do not run here
	Alerts     Alerts     // nil when alerts are not evaluated here
	Query      Query      // nil when ad-hoc SQL is not offered
	// Dashboards is the dashboard set in force (a *dashboard.Watcher);
	// nil, or Tiles.DB nil, when dashboards are not served.
	Dashboards Dashboards
	Tiles      TileOptions
	Drill      Drills // nil when drill-down is not offered
	// Auth holds users, sessions and tokens; nil admits the admin token
	// only (and the caller then sees everything).
	Auth     *auth.Store
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// Web serves the browser pages beside the API (a *web.UI); nil
	// serves the API only.
	Web Web

	// Ops is the warehouse database, for query history, saved queries,
	// transform runs and refused events; nil: those endpoints answer 503.
	Ops OpsDB
	// HistoryKeep is how many query history entries each user keeps
	// (default DefaultHistoryKeep); older ones are trimmed.
	HistoryKeep int
	Hardening   Hardening

	// Backup writes backups for POST /api/admin/backup, into folders
	// inside BackupDir; either unset: the endpoint answers 503.
	Backup    Backuper
	BackupDir string
}

// Web mounts the browser pages. Its routes must stay outside /api,
// /healthz, /readyz and /metrics.
type Web interface {
	Register(e *echo.Echo)
}

// Server serves HTTP until its context ends.
type Server struct {
	opts Options
	echo *echo.Echo
	log  *slog.Logger
	ln   net.Listener
	// trusted are the proxies whose forwarding headers are believed.
	trusted   []*net.IPNet
	queryRate *rateLimiter
	// historyMu keeps a user's history trim from racing an insert;
	// savedMu keeps saved-query names unique per owner.
	historyMu, savedMu sync.Mutex
	// tiles caches dashboard tile results, scopes the viewers' scopes;
	// InvalidateTiles empties both.
	tiles  *tileCache
	scopes scopeCache
	// tileTurns holds a token per tile query running (Tiles.MaxConcurrent).
	tileTurns chan struct{}
}

// New builds the server and its routes.
func New(opts Options) *Server {
	if opts.Addr == "" {
		opts.Addr = ":8080"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.NewRegistry()
	}
	if opts.HistoryKeep <= 0 {
		opts.HistoryKeep = DefaultHistoryKeep
	}
	opts.Hardening = opts.Hardening.withDefaults()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	opts.Tiles.fillDefaults()
	s := &Server{opts: opts, echo: e, log: opts.Logger, tiles: newTileCache(opts.Tiles),
		tileTurns: make(chan struct{}, opts.Tiles.MaxConcurrent)}
	e.HTTPErrorHandler = s.handleError
	s.queryRate = newRateLimiter(opts.Hardening.QueryRatePerMinute, opts.Hardening.QueryBurst, opts.Hardening.Now)
	s.harden(e)
	e.Server.ReadHeaderTimeout = 10 * time.Second
	e.Server.ReadTimeout = 30 * time.Second
	e.Server.WriteTimeout = 60 * time.Second
	e.Server.IdleTimeout = 120 * time.Second

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{})))
	authn := s.requireAuth
	var ao auth.Options
	if opts.Auth != nil {
		ao = auth.Options{Secure: s.overTLS}
		e.POST("/api/session", auth.SignIn(opts.Auth, ao))
		authn = auth.Middleware(opts.Auth, opts.AdminToken, ao)
	}
	api := e.Group("/api", authn)
	if opts.Auth != nil {
		api.GET("/session", auth.WhoAmI(opts.Auth, ao))
		api.DELETE("/session", auth.SignOut(opts.Auth, ao))
	}
	// Who may do what; what each may see is scoped in the handlers.
	admin := requireRole(opts.Auth, auth.RoleAdmin)
	staff := requireRole(opts.Auth, auth.RoleAdmin, auth.RoleExecutive, auth.RoleAnalyst)
	analysts := requireRole(opts.Auth, auth.RoleAdmin, auth.RoleAnalyst)
	silencers := requireRole(opts.Auth, auth.RoleAdmin, auth.RoleExecutive, auth.RoleAnalyst, auth.RoleManager)
	api.GET("/ingest/status", s.ingestStatus, staff)
	api.POST("/transforms/run", s.runTransforms, admin)
	api.POST("/admin/backup", s.backup, admin)
	api.GET("/kpis", s.kpis)
	api.GET("/scorecards", s.scorecards)
	api.GET("/periods/closed", s.closedPeriods)
	api.POST("/periods/close", s.closePeriod, admin)
	api.POST("/periods/reopen", s.reopenPeriod, admin)
	api.POST("/query", s.runQuery, analysts, s.limitQueries)
	api.GET("/query/history", s.queryHistory, analysts)
	api.GET("/queries", s.savedQueries, analysts)
	api.POST("/queries", s.saveQuery, analysts)
	api.DELETE("/queries/:id", s.deleteSavedQuery, analysts)
	api.GET("/transforms/runs", s.transformRuns, staff)
	api.GET("/transforms/runs/:id", s.transformRun, staff)
	api.GET("/ingest/refused", s.refusedEvents, staff)
	api.GET("/alerts", s.alerts)
	api.GET("/alerts/notifications", s.alertNotifications, staff)
	api.GET("/silences", s.silences, silencers)
	api.POST("/silences", s.createSilence, silencers)
	api.DELETE("/silences/:id", s.deleteSilence, silencers)
	api.GET("/dashboards", s.listDashboards)
	api.GET("/dashboards/:id", s.getDashboard)
	api.GET("/dashboards/:id/tiles/:tile", s.tile)
	api.GET("/drill", s.drillRows)
	api.GET("/events/:event_id", s.event)
	if opts.Web != nil {
		opts.Web.Register(e)
	}
	return s
}

// Handler is the server's HTTP handler, for tests.
func (s *Server) Handler() http.Handler { return s.echo }

// Listen binds the address; Addr then tells the bound address (useful with
// port 0). Run listens itself if Listen was not called.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address after Listen.
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.opts.Addr
	}
	return s.ln.Addr().String()
}

// Run serves until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.echo.Listener = s.ln
	errc := make(chan error, 1)
	go func() { errc <- s.echo.Start("") }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.echo.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

// apiError is an error meant for the client, with its status.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errStatus(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// handleError is the one place errors become HTTP answers.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := http.StatusInternalServerError, "internal error"
	var ae *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		status, msg = ae.status, ae.msg
	case errors.As(err, &he):
		status, msg = he.Code, http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok {
			msg = m
		}
	case errors.Is(err, transform.ErrBadQuery), errors.Is(err, transform.ErrPeriod):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, alert.ErrBadQuery), errors.Is(err, alert.ErrBadSilence),
		errors.Is(err, query.ErrRefused), errors.Is(err, query.ErrBadSQL):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, query.ErrTimeout):
		status, msg = http.StatusGatewayTimeout, err.Error()
	case errors.Is(err, query.ErrBusy):
		status, msg = http.StatusTooManyRequests, err.Error()
	case errors.Is(err, query.ErrNotAcceptable):
		status, msg = http.StatusNotAcceptable, err.Error()
	case errors.Is(err, transform.ErrNotFound), errors.Is(err, alert.ErrNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		status, msg = http.StatusServiceUnavailable, "timed out"
	}
	msg = scrubPaths(msg)
	if status >= 500 {
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, map[string]string{"error": msg})
}

// requireAuth admits requests carrying the admin bearer token. Users and
// roles come with the server issue; until then the token is the only key.
func (s *Server) requireAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || s.opts.AdminToken == "" ||
			subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.AdminToken)) != 1 {
			return errStatus(http.StatusUnauthorized, "sign-in required: send Authorization: Bearer <token>")
		}
		c.Set(principalKey, "admin-token")
		return next(c)
	}
}

const principalKey = "principal"

// principal names who is calling, for the records of who did what.
func principal(c echo.Context) string {
	if p, ok := auth.FromContext(c); ok {
		return p.String()
	}
	if p, ok := c.Get(principalKey).(string); ok && p != "" {
		return p
	}
	return "anonymous"
}

// requireRole admits the roles given; without a user store every caller
// holds the admin token, so it admits all.
func requireRole(store *auth.Store, roles ...auth.Role) echo.MiddlewareFunc {
	if store == nil {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return auth.RequireRole(roles...)
}

// decodeJSON reads a JSON body strictly: unknown fields and trailing data
// are errors that name what is wrong.
func decodeJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body) // bounded by limitBody
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return errStatus(http.StatusBadRequest, "body: %v", err)
	}
	if dec.More() {
		return errStatus(http.StatusBadRequest, "body: one JSON object expected")
	}
	return nil
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"duckdb": "ok", "consumers": "ok"}
	ready := true
	if err := s.opts.Warehouse.Ping(ctx); err != nil {
		checks["duckdb"], ready = err.Error(), false
	}
	if s.opts.Ingest != nil && !s.opts.Ingest.Ready() {
		checks["consumers"], ready = "not joined yet", false
	}
	if s.opts.Ingest != nil {
		// Not ready while nothing can be stored (a full disk): loud, but
		// alive; ingest resumes by itself once a store succeeds.
		checks["storage"] = "ok"
		if e := s.opts.Ingest.StoreError(); e != "" {
			checks["storage"], ready = e, false
		}
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	return c.JSON(status, map[string]any{"ready": ready, "checks": checks})
}

func (s *Server) ingestStatus(c echo.Context) error {
	if s.opts.Ingest == nil {
		return errStatus(http.StatusServiceUnavailable, "ingest is not running in this process")
	}
	st, err := s.opts.Ingest.Status(c.Request().Context(), s.opts.Warehouse)
	if err != nil {
		return fmt.Errorf("ingest status: %w", err)
	}
	return c.JSON(http.StatusOK, st)
}

// runTransforms runs the models now (after the run in progress, if any)
// and answers with the run: its models, tests and status. ?full=true
// rebuilds every model whole. A run that fails answers 200 with status
// "failed"; only a run that could not be carried out is an error.
func (s *Server) runTransforms(c echo.Context) error {
	if s.opts.Transforms == nil {
		return errStatus(http.StatusServiceUnavailable, "transforms are not running in this process")
	}
	var req transform.RunRequest
	if v := c.QueryParam("full"); v != "" {
		full, err := strconv.ParseBool(v)
		if err != nil {
			return errStatus(http.StatusBadRequest, "full: %q is neither true nor false", v)
		}
		req.Full = full
	}
	// A client that hangs up does not abort the run half-way: a run cut
	// short fails, and the next one rebuilds everything.
	run, err := s.opts.Transforms.RunNow(context.WithoutCancel(c.Request().Context()), req)
	switch {
	case errors.Is(err, transform.ErrStopped):
		return errStatus(http.StatusServiceUnavailable, "transforms are stopping")
	case err != nil:
		return errStatus(http.StatusInternalServerError, "transform run: %v", err)
	}
	return c.JSON(http.StatusOK, run)
}
