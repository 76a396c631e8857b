package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Options configure the middleware and the session handlers. Zero values
// get defaults; give the same Options to all of them.
type Options struct {
	// CookieName is the session cookie's name (default pulse_session).
	CookieName string
	// Limiter limits sign-in attempts; nil gives SignIn its own with
	// DefaultLimits.
	Limiter *Limiter
	// ClientIP is the caller's address for rate limiting and the session
	// record. Default: c.RealIP() when the Echo instance has an IPExtractor
	// configured (set one that matches your proxies), otherwise the TCP
	// peer address, which a client cannot forge with X-Forwarded-For.
	ClientIP func(c echo.Context) string
	// Secure reports whether the request reached us over TLS, which makes
	// the session cookie Secure. Default: the connection itself is TLS.
	// Behind a TLS-terminating proxy, set it to believe that proxy's
	// X-Forwarded-Proto, and only that proxy's: a header any client can
	// send must not decide it.
	Secure func(r *http.Request) bool
}

// Names of the CSRF token in requests.
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf_token"
)

const (
	principalKey = "auth.principal"
	csrfKey      = "auth.csrf"
)

func (o Options) cookieName() string {
	if o.CookieName == "" {
		return "pulse_session"
	}
	return o.CookieName
}

func (o Options) clientIP(c echo.Context) string {
	if o.ClientIP != nil {
		return o.ClientIP(c)
	}
	if c.Echo().IPExtractor != nil {
		return c.RealIP()
	}
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		return c.Request().RemoteAddr
	}
	return host
}

// FromContext is the principal the middleware admitted.
func FromContext(c echo.Context) (Principal, bool) {
	p, ok := c.Get(principalKey).(Principal)
	return p, ok
}

// CSRFFromContext is the CSRF token of the request's session ("" unless
// the request came with a session cookie).
func CSRFFromContext(c echo.Context) string {
	s, _ := c.Get(csrfKey).(string)
	return s
}

func jsonError(c echo.Context, status int, msg string) error {
	return c.JSON(status, map[string]string{"error": msg})
}

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// Middleware admits requests carrying, in this order:
//
//   - Authorization: Bearer <adminToken> (role admin, no user; ignored when
//     adminToken is "");
//   - Authorization: Bearer <user API token>;
//   - the session cookie. Then unsafe methods (POST, PUT, PATCH, DELETE)
//     must also carry the session's CSRF token, in the X-CSRF-Token header
//     or the csrf_token form field, or get 403.
//
// A bearer header that is not valid is refused (401) without looking at
// the cookie. Without credentials: 401 {"error": ...}. The principal is in
// FromContext(c).
func Middleware(store *Store, adminToken string, opts Options) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if h := req.Header.Get(echo.HeaderAuthorization); h != "" {
				scheme, token, _ := strings.Cut(h, " ")
				token = strings.TrimSpace(token)
				if !strings.EqualFold(scheme, "Bearer") || token == "" {
					return jsonError(c, http.StatusUnauthorized, "Authorization: want Bearer <token>")
				}
				if adminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(adminToken)) == 1 {
					c.Set(principalKey, Principal{Login: ViaAdminToken, Role: RoleAdmin, Via: ViaAdminToken})
					return next(c)
				}
				if store == nil {
					return jsonError(c, http.StatusUnauthorized, ErrBadToken.Error())
				}
				p, err := store.AuthenticateToken(req.Context(), token)
				if errors.Is(err, ErrBadToken) {
					return jsonError(c, http.StatusUnauthorized, err.Error())
				}
				if err != nil {
					return err
				}
				c.Set(principalKey, p)
				return next(c)
			}
			cookie, err := req.Cookie(opts.cookieName())
			if err != nil || cookie.Value == "" || store == nil {
				return jsonError(c, http.StatusUnauthorized, "sign-in required: sign in, or send Authorization: Bearer <token>")
			}
			sess, err := store.GetSession(req.Context(), cookie.Value)
			if errors.Is(err, ErrNoSession) {
				clearCookie(c, opts)
				return jsonError(c, http.StatusUnauthorized, "session expired: sign in again")
			}
			if err != nil {
				return err
			}
			if unsafeMethod(req.Method) {
				got := req.Header.Get(CSRFHeader)
				if got == "" {
					got = c.FormValue(CSRFField)
				}
				if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) != 1 {
					return jsonError(c, http.StatusForbidden, "CSRF token missing or wrong: send the session's csrf_token in the "+CSRFHeader+" header")
				}
			}
			c.Set(principalKey, sess.Principal)
			c.Set(csrfKey, sess.CSRFToken)
			return next(c)
		}
	}
}

// RequireRole admits principals with one of roles (after Middleware);
// others get 403.
func RequireRole(roles ...Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := FromContext(c)
			if !ok {
				return jsonError(c, http.StatusUnauthorized, "sign-in required")
			}
			for _, r := range roles {
				if p.Role == r {
					return next(c)
				}
			}
			return jsonError(c, http.StatusForbidden, "not allowed for role "+string(p.Role))
		}
	}
}

func (o Options) secure(c echo.Context) bool {
	if o.Secure != nil {
		return o.Secure(c.Request())
	}
	return c.Request().TLS != nil
}

func setCookie(c echo.Context, opts Options, value string, sess Session) {
	c.SetCookie(&http.Cookie{
		Name: opts.cookieName(), Value: value, Path: "/",
		Expires: sess.ExpiresAt, MaxAge: int(math.Ceil(sess.ExpiresAt.Sub(sess.CreatedAt).Seconds())),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: opts.secure(c),
	})
}

func clearCookie(c echo.Context, opts Options) {
	c.SetCookie(&http.Cookie{
		Name: opts.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: opts.secure(c),
	})
}

// sessionBody is the answer of SignIn and WhoAmI.
type sessionBody struct {
	User      Principal `json:"user"`
	CSRFToken string    `json:"csrf_token,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// SignIn handles POST /api/session (mount it outside Middleware): a JSON
// body {"login", "password"} signs in, sets the session cookie and answers
// {"user": {...}, "csrf_token": "..."}. Wrong credentials: 401; too many
// attempts: 429 with Retry-After. The body must be JSON (a cross-site form
// cannot send it without a CORS preflight). A cookie of an earlier session
// is ended (no session fixation).
func SignIn(store *Store, opts Options) echo.HandlerFunc {
	lim := opts.Limiter
	if lim == nil {
		lim = NewLimiter(DefaultLimits, nil)
	}
	return func(c echo.Context) error {
		req := c.Request()
		if !strings.HasPrefix(req.Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
			return jsonError(c, http.StatusUnsupportedMediaType, "send JSON: {\"login\": ..., \"password\": ...}")
		}
		var body struct {
			Login    string `json:"login"`
			Password string `json:"password"`
		}
		dec := json.NewDecoder(io.LimitReader(req.Body, 8<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.Login == "" || body.Password == "" {
			return jsonError(c, http.StatusBadRequest, "body: want {\"login\": ..., \"password\": ...}")
		}
		login, ip := NormalizeLogin(body.Login), opts.clientIP(c)
		if ok, wait := lim.Allow(login, ip); !ok {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
			return jsonError(c, http.StatusTooManyRequests, "too many sign-in attempts: try again in "+wait.String())
		}
		p, err := store.Authenticate(req.Context(), login, body.Password)
		if errors.Is(err, ErrBadCredentials) {
			return jsonError(c, http.StatusUnauthorized, err.Error())
		}
		if err != nil {
			return err
		}
		lim.Succeeded(login, ip)
		if old, err := req.Cookie(opts.cookieName()); err == nil && old.Value != "" {
			_ = store.DeleteSession(context.WithoutCancel(req.Context()), old.Value)
		}
		token, sess, err := store.CreateSession(req.Context(), p, ip, req.UserAgent())
		if err != nil {
			return err
		}
		setCookie(c, opts, token, sess)
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return c.JSON(http.StatusOK, sessionBody{User: sess.Principal, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt})
	}
}

// SignOut handles DELETE /api/session (mount it behind Middleware, which
// checks its CSRF token): the session is deleted and the cookie cleared;
// 204. A request authenticated otherwise than by session gets 400.
func SignOut(store *Store, opts Options) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, ok := FromContext(c)
		if !ok {
			return jsonError(c, http.StatusUnauthorized, "sign-in required")
		}
		if p.Via != ViaSession {
			return jsonError(c, http.StatusBadRequest, "not signed in with a session: nothing to sign out of (revoke tokens with pulse users revoke)")
		}
		if cookie, err := c.Request().Cookie(opts.cookieName()); err == nil {
			if err := store.DeleteSession(c.Request().Context(), cookie.Value); err != nil {
				return err
			}
		}
		clearCookie(c, opts)
		return c.NoContent(http.StatusNoContent)
	}
}

// WhoAmI handles GET /api/session (mount it behind Middleware): the
// principal and, for a session, its CSRF token.
func WhoAmI(store *Store, opts Options) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, ok := FromContext(c)
		if !ok {
			return jsonError(c, http.StatusUnauthorized, "sign-in required")
		}
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return c.JSON(http.StatusOK, sessionBody{User: p, CSRFToken: CSRFFromContext(c)})
	}
}
