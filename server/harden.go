package server

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/auth"
)

// Hardening configures what the server does to every request before a
// handler sees it. Zero values get defaults (see withDefaults).
type Hardening struct {
	// TrustedProxies are the networks whose X-Forwarded-For and
	// X-Forwarded-Proto are believed; empty means the TCP peer is the
	// client. CIDRs (a bare IP is one address).
	TrustedProxies []string
	// MaxBody bounds request bodies under /api (default 1 MiB): larger
	// ones are answered 413 before a handler reads them whole.
	MaxBody int64
	// QueryRatePerMinute and QueryBurst size each user's token bucket for
	// POST /api/query (defaults 60 and 10).
	QueryRatePerMinute int
	QueryBurst         int
	// Now is the clock of the rate limiter; tests move it by hand.
	Now func() time.Time
}

// DefaultMaxBody is the body limit under /api when none is configured.
const DefaultMaxBody = 1 << 20

func (h Hardening) withDefaults() Hardening {
	if h.MaxBody <= 0 {
		h.MaxBody = DefaultMaxBody
	}
	if h.QueryRatePerMinute <= 0 {
		h.QueryRatePerMinute = 60
	}
	if h.QueryBurst <= 0 {
		h.QueryBurst = 10
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	return h
}

// ParseTrustedProxies reads CIDRs (or bare IPs) of trusted proxies; the
// error names the first that is neither, so that config can report it.
func ParseTrustedProxies(list []string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, s := range list {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "/") {
			ip := net.ParseIP(s)
			if ip == nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR", s)
			}
			bits := 32
			if ip.To4() == nil {
				bits = 128
			}
			s = fmt.Sprintf("%s/%d", s, bits)
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR", s)
		}
		nets = append(nets, n)
	}
	return nets, nil
}

// contentSecurityPolicy is the contract's policy: pages load only their
// own scripts, so an injected inline script or handler does not run.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

// harden mounts the request guards on e: the client address, security
// headers, panic recovery and the body limit. Proxies that do not parse
// are logged and trusted for nothing (config validates them first).
func (s *Server) harden(e *echo.Echo) {
	h := s.opts.Hardening
	nets, err := ParseTrustedProxies(h.TrustedProxies)
	if err != nil {
		s.log.Error("trusted proxies ignored", "err", err)
		nets = nil
	}
	s.trusted = nets
	if len(nets) == 0 {
		e.IPExtractor = echo.ExtractIPDirect()
	} else {
		// Echo trusts loopback and private networks by default; only the
		// configured networks are proxies here.
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range nets {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	// Pre runs before routing, so 404 and 405 answers carry the headers too.
	e.Pre(s.securityHeaders)
	e.Use(s.recoverPanics, s.limitBody)
}

// overTLS: the request reached us over TLS, directly or through a trusted
// proxy that says so (X-Forwarded-Proto from anyone else is ignored).
func (s *Server) overTLS(r *http.Request) bool {
	return r.TLS != nil || s.fromTrustedProxy(r) && strings.EqualFold(r.Header.Get(echo.HeaderXForwardedProto), "https")
}

// fromTrustedProxy reports whether the TCP peer is one of the trusted
// proxies, whose forwarding headers are believed.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	if len(s.trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	for _, n := range s.trusted {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set(echo.HeaderXContentTypeOptions, "nosniff")
		h.Set(echo.HeaderReferrerPolicy, "same-origin")
		h.Set(echo.HeaderXFrameOptions, "DENY")
		if s.overTLS(c.Request()) {
			h.Set(echo.HeaderStrictTransportSecurity, "max-age=31536000")
		}
		return next(c)
	}
}

// recoverPanics turns a handler's panic into a 500 without internals; the
// stack goes to the log only. http.ErrAbortHandler is passed on: it is the
// way to abort a response on purpose.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if e, ok := r.(error); ok && errors.Is(e, http.ErrAbortHandler) {
				panic(r)
			}
			s.log.Error("handler panicked", "method", c.Request().Method, "path", c.Path(),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = errStatus(http.StatusInternalServerError, "internal error")
		}()
		return next(c)
	}
}

// limitBody answers 413 for a body under /api larger than MaxBody: at once
// when Content-Length says so, else when a handler reads past the limit
// (decodeJSON turns that into 413).
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	max := s.opts.Hardening.MaxBody
	return func(c echo.Context) error {
		req := c.Request()
		if !strings.HasPrefix(req.URL.Path, "/api/") || req.Body == nil || req.Body == http.NoBody {
			return next(c)
		}
		if req.ContentLength > max {
			return tooLarge(max)
		}
		req.Body = http.MaxBytesReader(c.Response(), req.Body, max)
		return next(c)
	}
}

func tooLarge(max int64) error {
	return errStatus(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", max)
}

// rateLimiter is a token bucket per key: rate tokens a minute, up to
// burst kept; a request takes one.
type rateLimiter struct {
	mu      sync.Mutex
	perSec  float64
	burst   float64
	now     func() time.Time
	buckets map[string]*tokens
	sweepAt time.Time
}

type tokens struct {
	level float64
	at    time.Time
}

func newRateLimiter(perMinute, burst int, now func() time.Time) *rateLimiter {
	return &rateLimiter{perSec: float64(perMinute) / 60, burst: float64(burst), now: now, buckets: map[string]*tokens{}}
}

// take spends a token of key's bucket, or says how long until there is one.
func (l *rateLimiter) take(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &tokens{level: l.burst, at: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.level = math.Min(l.burst, b.level+el*l.perSec)
		b.at = now
	}
	if b.level >= 1 {
		b.level--
		return true, 0
	}
	return false, time.Duration((1 - b.level) / l.perSec * float64(time.Second))
}

// sweep forgets full buckets now and then, so that the map stays as small
// as the set of recent callers.
func (l *rateLimiter) sweep(now time.Time) {
	if now.Before(l.sweepAt) {
		return
	}
	l.sweepAt = now.Add(10 * time.Minute)
	for k, b := range l.buckets {
		if b.level+now.Sub(b.at).Seconds()*l.perSec >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// limitQueries applies the per-user query rate: 429 with Retry-After (in
// whole seconds, rounded up) when the user's bucket is empty. A limited
// request is not recorded in the history: it never reached the database.
func (s *Server) limitQueries(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := principal(c)
		if p, ok := auth.FromContext(c); ok && p.UserID != 0 {
			key = "user:" + strconv.FormatInt(p.UserID, 10)
		}
		ok, wait := s.queryRate.take(key)
		if !ok {
			secs := int(math.Ceil(wait.Seconds()))
			c.Response().Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			return errStatus(http.StatusTooManyRequests, "too many queries: at most %d a minute; try again in %ds",
				s.opts.Hardening.QueryRatePerMinute, max(secs, 1))
		}
		return next(c)
	}
}

// pathLike matches absolute file paths (Unix and Windows) in error texts,
// such as the warehouse file DuckDB names when it cannot read it.
var pathLike = regexp.MustCompile(`(^|[\s'"(=:])(?:[A-Za-z]:\\|/)(?:[\w.\-]+[/\\])+[\w.\-]*`)

// scrubPaths hides file paths from error messages meant for clients: where
// the warehouse and its files live is none of a client's business.
func scrubPaths(msg string) string {
	return pathLike.ReplaceAllString(msg, "${1}…")
}
