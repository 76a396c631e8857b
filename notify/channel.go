package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The kinds of channel.
const (
	KindWebhook  = "webhook"
	KindSlack    = "slack"
	KindFeishu   = "feishu"
	KindDingTalk = "dingtalk"
	KindWeCom    = "wecom"
	KindEmail    = "email"
)

// Kinds lists the channel kinds NewChannel knows.
func Kinds() []string {
	return []string{KindWebhook, KindSlack, KindFeishu, KindDingTalk, KindWeCom, KindEmail}
}

// The TLS modes of an SMTP connection.
const (
	SMTPStartTLS = "starttls" // plain connection upgraded with STARTTLS, which the server must offer
	SMTPTLS      = "tls"      // implicit TLS from the first byte (port 465)
	SMTPNone     = "none"     // no TLS at all
)

// DefaultTimeout is a channel's time limit per attempt when its config sets none.
const DefaultTimeout = 10 * time.Second

// maxExcerpt is the most of a response an Attempt keeps.
const maxExcerpt = 512

// ChannelConfig configures one channel.
type ChannelConfig struct {
	Name     string
	Kind     string            // "webhook", "slack", "feishu", "dingtalk", "wecom", "email"
	URL      string            // chat kinds and webhook
	Secret   string            // feishu/dingtalk signing secret; webhook: HMAC-SHA256 key for an X-Pulse-Signature header; empty = unsigned
	Headers  map[string]string // webhook only (e.g. Authorization)
	Language string            // "en" or "zh-CN" (default "en"): the language of the message text
	Timeout  time.Duration     // per attempt; default 10s
	// Location is the time zone the text shows times in (default UTC).
	Location *time.Location
	// email only
	To   []string
	SMTP SMTPConfig
}

// SMTPConfig is how an email channel reaches its mail server.
type SMTPConfig struct {
	Host, Username, Password, From string
	Port                           int    // default 587 (465 when TLS is "tls")
	TLS                            string // "starttls" (default: required), "tls" (implicit, port 465), "none"
	InsecureSkipVerify             bool
	// Hello is the name the client gives in EHLO (default: this host's name).
	Hello string
}

// Channel delivers messages to one destination.
type Channel interface {
	Name() string
	Kind() string
	// Send delivers m once. The Attempt says what happened on the wire for the delivery log
	// (HTTP status or SMTP reply code, a short excerpt of the response body, at most 512 bytes).
	// A nil error means the receiver accepted the message.
	Send(ctx context.Context, m Message) (Attempt, error)
}

// Attempt is what one delivery attempt saw on the wire.
type Attempt struct {
	Code     int    // HTTP status, or SMTP reply code; 0 if none
	Response string // truncated
}

// ConfigError is a channel config that cannot work; it names the field.
type ConfigError struct {
	Channel string // the channel's name
	Field   string // e.g. "url", "smtp.host"
	Problem string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("channel %q: %s: %s", e.Channel, e.Field, e.Problem)
}

// SendError is a delivery that failed: what the receiver answered, or
// why it could not be asked.
type SendError struct {
	Channel string // the channel's name
	Kind    string // the channel's kind
	// Status is the HTTP status or the SMTP reply code, 0 when there was no answer.
	Status int
	// Code is the chat API's own code (Feishu code, DingTalk/WeCom errcode), 0 if none.
	Code int
	// Message is what the receiver said (API message, response excerpt, SMTP reply text)
	// or what went wrong before it could.
	Message string
	// Temporary errors may go away by retrying.
	Temporary bool
	// RetryAfter is the wait the receiver asked for (HTTP Retry-After), 0 if none.
	RetryAfter time.Duration
	Err        error // the underlying error, if any
}

func (e *SendError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q: ", e.Kind, e.Channel)
	var parts []string
	if e.Status != 0 {
		if e.Kind == KindEmail {
			parts = append(parts, "SMTP "+strconv.Itoa(e.Status))
		} else {
			parts = append(parts, "HTTP "+strconv.Itoa(e.Status))
		}
	}
	if e.Code != 0 {
		parts = append(parts, "code "+strconv.Itoa(e.Code))
	}
	b.WriteString(strings.Join(parts, ", "))
	if e.Message != "" {
		if len(parts) > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

func (e *SendError) Unwrap() error { return e.Err }

// Permanent reports whether err will not go away by retrying (bad request, rejected signature, unknown recipient, invalid config);
// network errors, timeouts, HTTP 5xx and 429, SMTP 4xx replies, and the chat APIs' rate-limit codes are not permanent.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	var se *SendError
	if errors.As(err, &se) {
		return !se.Temporary
	}
	var ce *ConfigError
	return errors.As(err, &ce)
}

// RetryAfter is the wait a receiver asked for before the next attempt
// (HTTP Retry-After on a 429 or 503), if it asked.
func RetryAfter(err error) (time.Duration, bool) {
	var se *SendError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return se.RetryAfter, true
	}
	return 0, false
}

// NewChannel validates cfg (naming the field that is wrong, e.g. `channel "ops": url: must be an https or http URL`) and builds the channel.
// client may be nil (then a client with cfg.Timeout is used); now may be nil (time.Now) — used for signing timestamps, so tests can fix it.
func NewChannel(cfg ChannelConfig, client *http.Client, now func() time.Time) (Channel, error) {
	base, err := checkConfig(&cfg)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	base.now = now
	if cfg.Kind == KindEmail {
		return newEmail(base, cfg), nil
	}
	if client == nil {
		client = &http.Client{
			Timeout: base.timeout,
			// A redirected POST would become a GET: report the redirect instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	h := httpBase{base: base, url: cfg.URL, secret: cfg.Secret, client: client}
	switch cfg.Kind {
	case KindWebhook:
		return &webhookChannel{httpBase: h, headers: cfg.Headers}, nil
	case KindSlack:
		return &slackChannel{httpBase: h}, nil
	case KindFeishu:
		return &feishuChannel{httpBase: h}, nil
	case KindDingTalk:
		return &dingtalkChannel{httpBase: h}, nil
	default: // KindWeCom
		return &wecomChannel{httpBase: h}, nil
	}
}

// base is what every channel has.
type base struct {
	name, kind string
	lang       string
	loc        *time.Location
	timeout    time.Duration
	now        func() time.Time
}

func (b *base) Name() string { return b.name }
func (b *base) Kind() string { return b.kind }

// fail is a SendError of this channel.
func (b *base) fail(status, code int, msg string, temporary bool, err error) *SendError {
	return &SendError{Channel: b.name, Kind: b.kind, Status: status, Code: code, Message: msg, Temporary: temporary, Err: err}
}

// invalid is the permanent error of a message the channel cannot send.
func (b *base) invalid(err error) *SendError {
	return b.fail(0, 0, err.Error(), false, err)
}

func checkConfig(cfg *ChannelConfig) (*base, error) {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Channel: cfg.Name, Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(cfg.Name) == "" {
		return nil, bad("name", "required")
	}
	kind := strings.ToLower(strings.TrimSpace(cfg.Kind))
	known := false
	for _, k := range Kinds() {
		known = known || k == kind
	}
	if !known {
		if kind == "" {
			return nil, bad("kind", "required (one of %s)", strings.Join(Kinds(), ", "))
		}
		return nil, bad("kind", "unknown kind %q (want one of %s)", cfg.Kind, strings.Join(Kinds(), ", "))
	}
	cfg.Kind = kind
	b := &base{name: cfg.Name, kind: kind, loc: cfg.Location, timeout: cfg.Timeout}
	if b.loc == nil {
		b.loc = time.UTC
	}
	switch {
	case cfg.Timeout < 0:
		return nil, bad("timeout", "must not be negative")
	case cfg.Timeout == 0:
		b.timeout = DefaultTimeout
	}
	switch l := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(cfg.Language), "_", "-")); l {
	case "", "en", "en-us", "en-gb":
		b.lang = LangEN
	case "zh", "zh-cn", "zh-hans", "zh-hans-cn":
		b.lang = LangZH
	default:
		return nil, bad("language", "unknown language %q (want %q or %q)", cfg.Language, LangEN, LangZH)
	}

	if kind == KindEmail {
		if cfg.URL != "" {
			return nil, bad("url", "not used by email channels (set smtp.host)")
		}
		if cfg.Secret != "" {
			return nil, bad("secret", "not used by email channels")
		}
		if len(cfg.Headers) > 0 {
			return nil, bad("headers", "only webhook channels send headers")
		}
		return b, checkSMTP(cfg, bad)
	}

	// Chat kinds and webhook.
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, bad("url", "required for %s channels", kind)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, bad("url", "must be an https or http URL")
	}
	if len(cfg.To) > 0 {
		return nil, bad("to", "only email channels have recipients")
	}
	if cfg.SMTP != (SMTPConfig{}) {
		return nil, bad("smtp", "only email channels use SMTP")
	}
	if len(cfg.Headers) > 0 && kind != KindWebhook {
		return nil, bad("headers", "only webhook channels send headers")
	}
	for k, v := range cfg.Headers {
		if !validHeaderName(k) {
			return nil, bad("headers", "%q is not a valid header name", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, bad("headers", "the value of %s has a line break", k)
		}
		switch http.CanonicalHeaderKey(k) {
		case "Content-Type", "Content-Length", "Host", "Idempotency-Key", "X-Pulse-Timestamp", "X-Pulse-Signature":
			return nil, bad("headers", "%s is set by Pulse", k)
		}
	}
	if cfg.Secret != "" && (kind == KindSlack || kind == KindWeCom) {
		return nil, bad("secret", "%s webhooks are not signed (the URL is the credential)", kind)
	}
	return b, nil
}

func checkSMTP(cfg *ChannelConfig, bad func(field, format string, args ...any) error) error {
	s := &cfg.SMTP
	if strings.TrimSpace(s.Host) == "" {
		return bad("smtp.host", "required for email channels")
	}
	if strings.ContainsAny(s.Host, " /:\r\n") && net.ParseIP(s.Host) == nil {
		return bad("smtp.host", "%q is not a host name (give the port in smtp.port)", s.Host)
	}
	s.TLS = strings.ToLower(strings.TrimSpace(s.TLS))
	switch s.TLS {
	case "":
		s.TLS = SMTPStartTLS
	case SMTPStartTLS, SMTPTLS, SMTPNone:
	default:
		return bad("smtp.tls", "unknown mode %q (want %q, %q or %q)", s.TLS, SMTPStartTLS, SMTPTLS, SMTPNone)
	}
	switch {
	case s.Port < 0 || s.Port > 65535:
		return bad("smtp.port", "%d is not a port", s.Port)
	case s.Port == 0 && s.TLS == SMTPTLS:
		s.Port = 465
	case s.Port == 0:
		s.Port = 587
	}
	if strings.TrimSpace(s.From) == "" {
		return bad("smtp.from", "required for email channels")
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		return bad("smtp.from", "%q is not an email address: %v", s.From, err)
	}
	if s.Password != "" && s.Username == "" {
		return bad("smtp.username", "required with smtp.password")
	}
	if s.Username != "" && s.TLS == SMTPNone && !isLoopback(s.Host) {
		return bad("smtp.tls", `"none" would send the password in clear text; use "starttls" or "tls"`)
	}
	if strings.ContainsAny(s.Hello, " \r\n") {
		return bad("smtp.hello", "%q is not a host name", s.Hello)
	}
	if len(cfg.To) == 0 {
		return bad("to", "an email channel needs at least one recipient")
	}
	for i, to := range cfg.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return bad(fmt.Sprintf("to[%d]", i), "%q is not an email address: %v", to, err)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if c >= 0x80 || c <= ' ' || strings.ContainsRune(`()<>@,;:\"/[]?={}`, c) {
			return false
		}
	}
	return true
}

// ---- HTTP --------------------------------------------------------------------

// httpBase is what the HTTP channels share.
type httpBase struct {
	*base
	url    string
	secret string
	client *http.Client
}

// reply is a receiver's answer to a POST.
type reply struct {
	status     int
	body       []byte
	retryAfter time.Duration
}

// attempt is the delivery-log record of r.
func (r *reply) attempt() Attempt {
	return Attempt{Code: r.status, Response: excerpt(r.body)}
}

// post sends body as JSON to target (the channel's URL unless signing
// changed it) with the extra headers, within the channel's time limit.
// postMessage checks m, builds its body and posts it to target: what
// every chat kind's Send does before reading the answer its own way.
func (h *httpBase) postMessage(ctx context.Context, target string, m *Message, body func(*Message) ([]byte, error)) (*reply, error) {
	if err := m.check(); err != nil {
		return nil, h.invalid(err)
	}
	b, err := body(m)
	if err != nil {
		return nil, h.invalid(err)
	}
	return h.post(ctx, target, b, nil)
}

func (h *httpBase) post(ctx context.Context, target string, body []byte, headers http.Header) (*reply, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, h.fail(0, 0, "building the request: "+redactURLError(err), false, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Pulse-Notify/1")
	for k, vs := range headers {
		req.Header[k] = vs
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, h.transportError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		// The status is in, the body is not: say what we have.
		return nil, h.fail(resp.StatusCode, 0, "reading the response: "+redactURLError(err), true, err)
	}
	r := &reply{status: resp.StatusCode, body: data}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		r.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), h.now())
	}
	return r, nil
}

// transportError is a request that got no answer: never permanent, except
// for a certificate the client will never trust.
func (h *httpBase) transportError(ctx context.Context, err error) *SendError {
	msg := redactURLError(err)
	if ctx.Err() == context.DeadlineExceeded {
		msg = fmt.Sprintf("no answer within %s: %s", h.timeout, msg)
	}
	return h.fail(0, 0, msg, !untrustedCert(err), err)
}

// httpStatusError is the error of a non-2xx answer: 408, 425, 429 and 5xx
// may pass, other statuses will not.
func (h *httpBase) httpStatusError(r *reply, code int, msg string) *SendError {
	if msg == "" {
		msg = strings.TrimSpace(excerpt(r.body))
	}
	if msg == "" {
		msg = http.StatusText(r.status)
	}
	if r.status >= 300 && r.status < 400 {
		msg = "redirected (" + msg + "); configure the final URL"
	}
	e := h.fail(r.status, code, msg, temporaryStatus(r.status), nil)
	e.RetryAfter = r.retryAfter
	return e
}

func temporaryStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return true
	case status >= 500:
		return true
	}
	return false
}

// untrustedCert reports whether err is a certificate the client rejects:
// retrying will not help.
func untrustedCert(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

// redactURLError is err without the request URL, which holds the chat
// tools' credentials (Slack path, DingTalk access_token, WeCom key, Feishu hook).
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		where := ue.Op
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			where += " " + u.Scheme + "://" + u.Host
		}
		return where + ": " + redactURLError(ue.Err)
	}
	return err.Error()
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// excerpt is at most maxExcerpt bytes of a response, cut on a rune boundary.
func excerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if len(s) <= maxExcerpt {
		return s
	}
	cut := maxExcerpt
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// marshal is JSON without HTML escaping (the receivers show the text).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// smtpReply is the code and text of an SMTP error reply, if err is one.
func smtpReply(err error) (int, string, bool) {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code, te.Msg, true
	}
	return 0, "", false
}
