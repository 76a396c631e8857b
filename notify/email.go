package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// emailChannel sends a plain-text email through an SMTP server: STARTTLS
// (required), implicit TLS or none, AUTH PLAIN when there is a username.
type emailChannel struct {
	*base
	smtp  SMTPConfig
	from  *mail.Address
	to    []*mail.Address
	hello string
	// rootCAs, when set, replaces the system roots (tests).
	rootCAs *x509.CertPool
}

func newEmail(b *base, cfg ChannelConfig) *emailChannel {
	c := &emailChannel{base: b, smtp: cfg.SMTP, hello: cfg.SMTP.Hello}
	c.from, _ = mail.ParseAddress(cfg.SMTP.From) // checked by checkSMTP
	for _, t := range cfg.To {
		a, _ := mail.ParseAddress(t)
		c.to = append(c.to, a)
	}
	if c.hello == "" {
		c.hello = "localhost"
		if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
			c.hello = h
		}
	}
	return c
}

// recipients are the channel's To and the message's mentioned emails,
// each address once.
func (c *emailChannel) recipients(m *Message) ([]*mail.Address, error) {
	var out []*mail.Address
	seen := map[string]bool{}
	add := func(a *mail.Address) {
		k := strings.ToLower(a.Address)
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	for _, a := range c.to {
		add(a)
	}
	for _, e := range m.Mentions.Emails {
		if strings.TrimSpace(e) == "" {
			continue
		}
		a, err := mail.ParseAddress(e)
		if err != nil {
			return nil, fmt.Errorf("mentioned email %q is not an email address: %v", e, err)
		}
		add(a)
	}
	return out, nil
}

func (c *emailChannel) Send(ctx context.Context, m Message) (Attempt, error) {
	if err := m.check(); err != nil {
		return Attempt{}, c.invalid(err)
	}
	rcpts, err := c.recipients(&m)
	if err != nil {
		return Attempt{}, c.invalid(err)
	}
	msg := c.message(&m, rcpts)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.deliver(ctx, rcpts, msg)
}

// ---- the message -------------------------------------------------------------------

// messageID is the Message-ID of the notification id: the same
// notification always has the same Message-ID, so a retried delivery is
// recognisably the same mail.
func messageID(id, domain string) string {
	sum := sha256.Sum256([]byte(id))
	return "<pulse." + hex.EncodeToString(sum[:16]) + "@" + domain + ">"
}

// encodeHeader encodes a header value that is not plain ASCII as RFC 2047
// B encoded words of UTF-8, each a whole number of characters and short
// enough that every line stays under 78 bytes, folded between the words.
func encodeHeader(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		ascii = ascii && s[i] >= ' ' && s[i] < utf8.RuneSelf
	}
	if ascii && !strings.Contains(s, "=?") {
		return s
	}
	const chunk = 39 // bytes: 52 of base64, 64 with the =?UTF-8?b?…?= around
	var words []string
	for len(s) > 0 {
		n := min(chunk, len(s))
		for n < len(s) && n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		words = append(words, "=?UTF-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}

// message is the RFC 5322 message for m, CRLF line ends, body quoted-printable.
func (c *emailChannel) message(m *Message, rcpts []*mail.Address) []byte {
	r := render(m, c.lang, c.loc)
	domain := "pulse.invalid"
	if at := strings.LastIndexByte(c.from.Address, '@'); at >= 0 && at < len(c.from.Address)-1 {
		domain = c.from.Address[at+1:]
	}

	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", c.from.String())
	tos := make([]string, len(rcpts))
	for i, a := range rcpts {
		tos[i] = a.String()
	}
	header("To", strings.Join(tos, ",\r\n "))
	header("Subject", encodeHeader(r.Title))
	header("Date", c.now().In(c.loc).Format(time.RFC1123Z))
	header("Message-ID", messageID(m.ID, domain))
	if m.Kind == KindResolved && m.firingID() != "" {
		// Thread the resolution under the alert it resolves.
		ref := messageID(m.firingID(), domain)
		header("In-Reply-To", ref)
		header("References", ref)
	}
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=UTF-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	header("X-Pulse-Alert-ID", encodeHeader(m.ID))
	b.WriteString("\r\n")

	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(c.text(&r, m)))
	qp.Close()
	return b.Bytes()
}

// text is the body: the summary, then rule, severity, subject,
// value/threshold, first seen, fired/resolved time, the link.
func (c *emailChannel) text(r *rendered, m *Message) string {
	var b strings.Builder
	b.WriteString(r.Summary + "\n\n")
	for _, f := range r.Details {
		b.WriteString(f.Label + r.w.colon + f.Value + "\n")
	}
	if r.URL != "" {
		b.WriteString("\n" + r.LinkLabel + r.w.colon + r.URL + "\n")
	}
	if len(r.Names) > 0 {
		b.WriteString("\n" + r.w.attention + r.w.colon + strings.Join(r.Names, ", ") + "\n")
	}
	b.WriteString("\n-- \nPulse · " + r.w.alertID + r.w.colon + m.ID + "\n")
	return b.String()
}

// ---- SMTP ---------------------------------------------------------------------------

// smtpSession is one SMTP conversation.
type smtpSession struct {
	c    *emailChannel
	ctx  context.Context
	conn net.Conn
	text *textproto.Conn
	ext  map[string]string // EHLO extensions, upper-case keyword → parameters
	last Attempt           // the last reply, for the delivery log
}

func (c *emailChannel) deliver(ctx context.Context, rcpts []*mail.Address, msg []byte) (Attempt, error) {
	addr := net.JoinHostPort(c.smtp.Host, strconv.Itoa(c.smtp.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Attempt{}, c.netError(ctx, "connecting to "+addr, err)
	}
	defer func() { conn.Close() }()
	// Cancelling ctx unblocks any read or write.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if c.smtp.TLS == SMTPTLS {
		tc := tls.Client(conn, c.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			return Attempt{}, c.netError(ctx, "TLS handshake with "+addr, err)
		}
		conn = tc
	}
	s := &smtpSession{c: c, ctx: ctx, conn: conn, text: textproto.NewConn(conn)}
	if err := s.run(rcpts, msg); err != nil {
		var se *SendError
		if errors.As(err, &se) && se.Status == 0 {
			// Not the server's refusal: no code, but what it said last
			// (e.g. the EHLO without STARTTLS) stays in the log.
			return Attempt{Response: s.last.Response}, err
		}
		return s.last, err
	}
	return s.last, nil
}

func (c *emailChannel) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         c.smtp.Host,
		InsecureSkipVerify: c.smtp.InsecureSkipVerify,
		RootCAs:            c.rootCAs,
		MinVersion:         tls.VersionTLS12,
	}
}

// netError is a failure without an SMTP reply: temporary, except for a
// certificate the client will never trust.
func (c *emailChannel) netError(ctx context.Context, doing string, err error) *SendError {
	msg := doing + ": " + err.Error()
	// The connection's deadline is the context's, and may pass a moment
	// before the context says so: either one means the time ran out.
	if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		msg = fmt.Sprintf("%s: no answer within %s (%v)", doing, c.timeout, err)
	}
	var pe textproto.ProtocolError
	return c.fail(0, 0, msg, !untrustedCert(err) && !errors.As(err, &pe), err)
}

// run is the conversation after connecting: greeting, EHLO, STARTTLS,
// AUTH, the envelope, the data, QUIT.
func (s *smtpSession) run(rcpts []*mail.Address, msg []byte) error {
	c := s.c
	if _, err := s.read(220, "the greeting"); err != nil {
		return err
	}
	if err := s.ehlo(); err != nil {
		return err
	}
	if c.smtp.TLS == SMTPStartTLS {
		if _, ok := s.ext["STARTTLS"]; !ok {
			return c.fail(0, 0, fmt.Sprintf(`%s does not offer STARTTLS, which smtp.tls "starttls" requires `+
				`(use "tls" for a server that speaks TLS from the start, usually port 465)`, c.smtp.Host), false, nil)
		}
		if _, err := s.cmd(220, "STARTTLS", "STARTTLS"); err != nil {
			return err
		}
		tc := tls.Client(s.conn, c.tlsConfig())
		if err := tc.HandshakeContext(s.ctx); err != nil {
			return c.netError(s.ctx, "TLS handshake after STARTTLS", err)
		}
		s.conn, s.text = tc, textproto.NewConn(tc)
		if err := s.ehlo(); err != nil {
			return err
		}
	}
	if c.smtp.Username != "" {
		if err := s.auth(); err != nil {
			return err
		}
	}
	if _, err := s.cmd(250, "MAIL FROM", "MAIL FROM:<%s>", c.from.Address); err != nil {
		return err
	}
	// Every recipient or none: a mail some got and others did not cannot
	// be retried without repeating it.
	var rejected []string
	var worst *SendError
	for _, a := range rcpts {
		if _, err := s.cmd(25, "RCPT TO:<"+a.Address+">", "RCPT TO:<%s>", a.Address); err != nil {
			var se *SendError
			if !errors.As(err, &se) || se.Status == 0 {
				return err // the connection failed
			}
			rejected = append(rejected, a.Address)
			if worst == nil || (worst.Temporary && !se.Temporary) {
				worst = se
			}
		}
	}
	if worst != nil {
		s.quit()
		if len(rejected) > 1 {
			worst.Message += fmt.Sprintf(" (%d recipients refused: %s)", len(rejected), strings.Join(rejected, ", "))
		}
		s.last = Attempt{Code: worst.Status, Response: excerpt([]byte(worst.Message))}
		return worst
	}
	if _, err := s.cmd(354, "DATA", "DATA"); err != nil {
		return err
	}
	w := s.text.DotWriter()
	if _, err := w.Write(msg); err != nil {
		return s.c.netError(s.ctx, "sending the message", err)
	}
	if err := w.Close(); err != nil {
		return s.c.netError(s.ctx, "sending the message", err)
	}
	if _, err := s.read(250, "the message"); err != nil {
		return err
	}
	accepted := s.last
	s.quit()
	s.last = accepted
	return nil
}

// ehlo greets the server and reads its extensions, falling back to HELO
// for a server that does not know EHLO.
func (s *smtpSession) ehlo() error {
	s.ext = map[string]string{}
	reply, err := s.cmd(250, "EHLO", "EHLO %s", s.c.hello)
	if err != nil {
		var se *SendError
		if errors.As(err, &se) && se.Status/100 == 5 {
			_, err = s.cmd(250, "HELO", "HELO %s", s.c.hello)
		}
		return err
	}
	lines := strings.Split(reply, "\n")
	for _, l := range lines[1:] {
		kw, params, _ := strings.Cut(strings.TrimSpace(l), " ")
		s.ext[strings.ToUpper(kw)] = params
	}
	return nil
}

// auth logs in with AUTH PLAIN (RFC 4616) on the encrypted connection.
func (s *smtpSession) auth() error {
	c := s.c
	mechs, ok := s.ext["AUTH"]
	if !ok {
		return c.fail(0, 0, c.smtp.Host+" offers no AUTH; clear smtp.username to send without logging in", false, nil)
	}
	plain := false
	for _, m := range strings.Fields(strings.ToUpper(mechs)) {
		plain = plain || m == "PLAIN"
	}
	if !plain {
		return c.fail(0, 0, fmt.Sprintf("%s does not offer AUTH PLAIN (it offers %s)", c.smtp.Host, mechs), false, nil)
	}
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + c.smtp.Username + "\x00" + c.smtp.Password))
	_, err := s.cmd(235, "AUTH PLAIN", "AUTH PLAIN %s", resp)
	return err
}

// cmd sends a command and reads its reply, which must match expect (one
// to three digits, as textproto.ReadResponse). step names the command in
// errors; it never holds a password.
func (s *smtpSession) cmd(expect int, step, format string, args ...any) (string, error) {
	id, err := s.text.Cmd(format, args...)
	if err != nil {
		return "", s.c.netError(s.ctx, "sending "+step, err)
	}
	s.text.StartResponse(id)
	defer s.text.EndResponse(id)
	return s.read(expect, step)
}

// read reads a reply: an SMTP error reply is permanent when 5xx and
// temporary when 4xx.
func (s *smtpSession) read(expect int, step string) (string, error) {
	code, msg, err := s.text.ReadResponse(expect)
	if code != 0 {
		s.last = Attempt{Code: code, Response: excerpt([]byte(msg))}
	}
	if err == nil {
		return msg, nil
	}
	if rc, rmsg, ok := smtpReply(err); ok {
		return msg, s.c.fail(rc, 0, fmt.Sprintf("%s (in reply to %s)", strings.ReplaceAll(rmsg, "\n", " / "), step), rc/100 != 5, err)
	}
	return msg, s.c.netError(s.ctx, "reading the reply to "+step, err)
}

// quit ends the conversation politely, ignoring the answer.
func (s *smtpSession) quit() {
	if id, err := s.text.Cmd("QUIT"); err == nil {
		s.text.StartResponse(id)
		s.text.ReadResponse(221)
		s.text.EndResponse(id)
	}
}
