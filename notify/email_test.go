package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCert is a self-signed certificate for 127.0.0.1 and localhost, and
// a pool that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pulse test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// smtpMail is what the test server captured of one message.
type smtpMail struct {
	From  string
	Rcpts []string
	Data  []byte
	TLS   bool
	User  string
}

// smtpServer is a small SMTP server: EHLO (with or without STARTTLS and
// AUTH PLAIN), MAIL, RCPT, DATA, RSET, QUIT.
type smtpServer struct {
	t           *testing.T
	ln          net.Listener
	host        string
	port        int
	startTLS    bool              // offer STARTTLS
	implicitTLS bool              // TLS from the first byte
	tlsConf     *tls.Config       // the server's certificate
	user, pass  string            // when set, offer AUTH PLAIN and require it
	rcptReply   map[string]string // recipient → reply line instead of 250
	dataReply   string            // reply to the message, default 250 … queued as
	noEHLO      bool              // answer EHLO with 502 (HELO-only server)

	mu    sync.Mutex
	mails []smtpMail
	cmds  []string
	wg    sync.WaitGroup
}

func newSMTPServer(t *testing.T, setup func(*smtpServer)) *smtpServer {
	t.Helper()
	cert, _ := testCert(t)
	s := &smtpServer{t: t, tlsConf: &tls.Config{Certificates: []tls.Certificate{cert}}, rcptReply: map[string]string{},
		dataReply: "250 2.0.0 Ok: queued as 4F2A1B"}
	if setup != nil {
		setup(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s.implicitTLS {
		ln = tls.NewListener(ln, s.tlsConf)
	}
	s.ln = ln
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	s.host = host
	s.port, _ = strconv.Atoi(port)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *smtpServer) log(cmd string) {
	s.mu.Lock()
	s.cmds = append(s.cmds, cmd)
	s.mu.Unlock()
}

func (s *smtpServer) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	isTLS, user := s.implicitTLS, ""
	var from string
	var rcpts []string
	tp.PrintfLine("220 test.local ESMTP ready")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		if verb == "AUTH" {
			s.log("AUTH")
		} else {
			s.log(line)
		}
		switch verb {
		case "EHLO":
			if s.noEHLO {
				tp.PrintfLine("502 5.5.2 EHLO not implemented")
				continue
			}
			exts := []string{"test.local greets " + arg, "8BITMIME", "SIZE 10240000"}
			if s.startTLS && !isTLS {
				exts = append(exts, "STARTTLS")
			}
			if s.user != "" {
				exts = append(exts, "AUTH LOGIN PLAIN")
			}
			for i, e := range exts {
				sep := "-"
				if i == len(exts)-1 {
					sep = " "
				}
				tp.PrintfLine("250%s%s", sep, e)
			}
		case "HELO":
			tp.PrintfLine("250 test.local")
		case "STARTTLS":
			if !s.startTLS || isTLS {
				tp.PrintfLine("502 5.5.1 STARTTLS not available")
				continue
			}
			tp.PrintfLine("220 2.0.0 Ready to start TLS")
			tc := tls.Server(conn, s.tlsConf)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, tp, isTLS = tc, textproto.NewConn(tc), true
			from, rcpts = "", nil
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if strings.ToUpper(mech) != "PLAIN" || s.user == "" {
				tp.PrintfLine("504 5.5.4 mechanism not supported")
				continue
			}
			raw, _ := base64.StdEncoding.DecodeString(resp)
			if string(raw) != "\x00"+s.user+"\x00"+s.pass {
				tp.PrintfLine("535 5.7.8 Authentication credentials invalid")
				continue
			}
			user = s.user
			tp.PrintfLine("235 2.7.0 Authentication successful")
		case "MAIL":
			if s.user != "" && user == "" {
				tp.PrintfLine("530 5.7.0 Authentication required")
				continue
			}
			from = strings.TrimSuffix(strings.TrimPrefix(arg, "FROM:<"), ">")
			tp.PrintfLine("250 2.1.0 Ok")
		case "RCPT":
			to := strings.TrimSuffix(strings.TrimPrefix(arg, "TO:<"), ">")
			if r, ok := s.rcptReply[to]; ok {
				tp.PrintfLine("%s", r)
				continue
			}
			rcpts = append(rcpts, to)
			tp.PrintfLine("250 2.1.5 Ok")
		case "DATA":
			if from == "" || len(rcpts) == 0 {
				tp.PrintfLine("503 5.5.1 Bad sequence of commands")
				continue
			}
			tp.PrintfLine("354 End data with <CR><LF>.<CR><LF>")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			if strings.HasPrefix(s.dataReply, "250") {
				s.mu.Lock()
				s.mails = append(s.mails, smtpMail{From: from, Rcpts: rcpts, Data: data, TLS: isTLS, User: user})
				s.mu.Unlock()
			}
			tp.PrintfLine("%s", s.dataReply)
			from, rcpts = "", nil
		case "RSET":
			from, rcpts = "", nil
			tp.PrintfLine("250 2.0.0 Ok")
		case "QUIT":
			tp.PrintfLine("221 2.0.0 Bye")
			return
		default:
			tp.PrintfLine("502 5.5.2 Error: command not recognized")
		}
	}
}

func (s *smtpServer) captured() []smtpMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMail(nil), s.mails...)
}

func (s *smtpServer) commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

// emailChannel builds an email channel for s; the channel trusts the
// test certificate.
func (s *smtpServer) channel(t *testing.T, lang, mode string, edit func(*ChannelConfig)) *emailChannel {
	t.Helper()
	cfg := ChannelConfig{
		Name: "mail", Kind: KindEmail, Language: lang,
		To: []string{"Ops Team <ops@example.com>", "lead@example.com"},
		SMTP: SMTPConfig{Host: s.host, Port: s.port, TLS: mode, From: "Pulse 告警 <pulse@alerts.example.com>",
			Username: s.user, Password: s.pass, Hello: "pulse.test"},
		Timeout: 5 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	ch, err := NewChannel(cfg, nil, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	e := ch.(*emailChannel)
	_, pool := testCert(t) // a different CA: trust must come from the server's own
	e.rootCAs = pool
	if s.tlsConf != nil && len(s.tlsConf.Certificates) > 0 {
		leaf, err := x509.ParseCertificate(s.tlsConf.Certificates[0].Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		e.rootCAs = x509.NewCertPool()
		e.rootCAs.AddCert(leaf)
	}
	return e
}

// parsed is a captured message, decoded.
type parsed struct {
	header  mail.Header
	subject string
	body    string
}

func parseMail(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject %q: %v", msg.Header.Get("Subject"), err)
	}
	if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding = %q", cte)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("body is not quoted-printable: %v", err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if len(line) > 78+1 && !strings.HasPrefix(line, "To:") {
			t.Errorf("line %d is %d bytes long: %q", i, len(line), line)
		}
	}
	return parsed{msg.Header, subject, string(body)}
}

func TestEmailSTARTTLSAuth(t *testing.T) {
	s := newSMTPServer(t, func(s *smtpServer) { s.startTLS, s.user, s.pass = true, "pulse", "s3cret" })
	ch := s.channel(t, LangZH, "starttls", nil)
	m := testMessage()
	m.Mentions.Emails = []string{"wang.wu@example.com", "OPS@example.com", ""}
	a, err := ch.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v\nserver saw %q", err, s.commands())
	}
	if a.Code != 250 || !strings.Contains(a.Response, "queued as 4F2A1B") {
		t.Errorf("Attempt = %+v, want the 250 queued reply", a)
	}
	mails := s.captured()
	if len(mails) != 1 {
		t.Fatalf("server got %d mails", len(mails))
	}
	got := mails[0]
	if !got.TLS || got.User != "pulse" {
		t.Errorf("mail went over TLS=%v as %q, want TLS as pulse", got.TLS, got.User)
	}
	if got.From != "pulse@alerts.example.com" {
		t.Errorf("MAIL FROM = %q", got.From)
	}
	if want := []string{"ops@example.com", "lead@example.com", "wang.wu@example.com"}; strings.Join(got.Rcpts, ",") != strings.Join(want, ",") {
		t.Errorf("RCPT TO = %v, want %v (To plus mentions, each once)", got.Rcpts, want)
	}
	for _, c := range s.commands() {
		if strings.Contains(c, "s3cret") || strings.Contains(c, base64.StdEncoding.EncodeToString([]byte("\x00pulse\x00s3cret"))) {
			t.Errorf("password in the command log: %q", c)
		}
	}
	// The commands: EHLO, STARTTLS, EHLO again, AUTH, MAIL, 3 RCPT, DATA, QUIT.
	if cmds := strings.Join(s.commands(), "|"); !strings.HasPrefix(cmds, "EHLO pulse.test|STARTTLS|EHLO pulse.test|AUTH|MAIL FROM:<pulse@alerts.example.com>|RCPT") {
		t.Errorf("commands: %s", cmds)
	}

	p := parseMail(t, got.Data)
	if p.subject != "【告警·警告】连续未登录：张三" {
		t.Errorf("Subject = %q", p.subject)
	}
	if raw := p.header.Get("Subject"); !strings.HasPrefix(raw, "=?UTF-8?") {
		t.Errorf("raw Subject %q is not RFC 2047 encoded", raw)
	}
	from, err := p.header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Pulse 告警" || from[0].Address != "pulse@alerts.example.com" {
		t.Errorf("From = %v (%v)", from, err)
	}
	to, err := p.header.AddressList("To")
	if err != nil || len(to) != 3 || to[0].Name != "Ops Team" || to[2].Address != "wang.wu@example.com" {
		t.Errorf("To = %v (%v)", to, err)
	}
	if d, err := p.header.Date(); err != nil || !d.Equal(fixedNow()) {
		t.Errorf("Date = %v (%v), want %v", d, err, fixedNow())
	}
	for k, want := range map[string]string{
		"MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8", "Auto-Submitted": "auto-generated",
	} {
		if got := p.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	msgID := p.header.Get("Message-ID")
	if !strings.HasPrefix(msgID, "<") || !strings.HasSuffix(msgID, "@alerts.example.com>") {
		t.Errorf("Message-ID = %q", msgID)
	}
	for _, want := range []string{
		"张三已连续 4 天未登录\n",
		"规则：连续未登录（login_gap）",
		"级别：警告（warning）",
		"对象：张三（员工 E031）",
		"团队：T01",
		"当前值：4（阈值：3）",
		"首次发现：2026-11-10 01:00 UTC",
		"触发时间：2026-11-12 01:05 UTC",
		"在 Pulse 中查看：https://pulse.example.com/alerts/42",
		"请关注：Wang Wu",
		m.ID,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("body lacks %q:\n%s", want, p.body)
		}
	}
	if strings.Contains(p.body, "has not logged in") {
		t.Errorf("the zh-CN body has the English summary:\n%s", p.body)
	}
	if !strings.HasPrefix(p.body, "张三已连续 4 天未登录") {
		t.Errorf("the body does not start with the summary:\n%s", p.body)
	}

	// The same notification again: the same Message-ID.
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	// The resolution: another Message-ID, in reply to the first.
	if _, err := ch.Send(context.Background(), resolvedMessage()); err != nil {
		t.Fatal(err)
	}
	mails = s.captured()
	if len(mails) != 3 {
		t.Fatalf("server got %d mails, want 3", len(mails))
	}
	again, resolved := parseMail(t, mails[1].Data), parseMail(t, mails[2].Data)
	if id := again.header.Get("Message-ID"); id != msgID {
		t.Errorf("resent Message-ID %q, want %q", id, msgID)
	}
	if id := resolved.header.Get("Message-ID"); id == msgID || id == "" {
		t.Errorf("resolved Message-ID %q", id)
	}
	if irt := resolved.header.Get("In-Reply-To"); irt != msgID {
		t.Errorf("resolved In-Reply-To = %q, want %q", irt, msgID)
	}
	if resolved.subject != "【已恢复】连续未登录：张三" {
		t.Errorf("resolved Subject = %q", resolved.subject)
	}
	for _, want := range []string{"已恢复：张三已连续 4 天未登录", "恢复时间：2026-11-13 02:30 UTC"} {
		if !strings.Contains(resolved.body, want) {
			t.Errorf("resolved body lacks %q:\n%s", want, resolved.body)
		}
	}
	if len(resolved.header["To"]) != 1 || strings.Count(resolved.header.Get("To"), "@") != 3 {
		t.Errorf("resolved To = %q", resolved.header.Get("To"))
	}
}

func TestEmailImplicitTLSEnglish(t *testing.T) {
	s := newSMTPServer(t, func(s *smtpServer) { s.implicitTLS, s.user, s.pass = true, "pulse", "pw" })
	ch := s.channel(t, LangEN, "tls", nil)
	m := testMessage()
	m.Mentions = Mentions{}
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	mails := s.captured()
	if len(mails) != 1 || !mails[0].TLS {
		t.Fatalf("mails %+v", mails)
	}
	p := parseMail(t, mails[0].Data)
	if p.subject != "[FIRING · warning] Login gap: 张三" {
		t.Errorf("Subject = %q", p.subject)
	}
	for _, want := range []string{"Zhang San has not logged in for 4 days", "Rule: Login gap (login_gap)", "Severity: warning",
		"Subject: 张三 (employee E031)", "Value: 4 (threshold: 3)", "First seen: 2026-11-10 01:00 UTC", "Fired at: 2026-11-12 01:05 UTC",
		"Open in Pulse: https://pulse.example.com/alerts/42"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("body lacks %q:\n%s", want, p.body)
		}
	}
	if got := strings.Join(mails[0].Rcpts, ","); got != "ops@example.com,lead@example.com" {
		t.Errorf("RCPT TO = %s", got)
	}
}

func TestEmailPlainNoAuth(t *testing.T) {
	s := newSMTPServer(t, nil)
	ch := s.channel(t, LangEN, "none", nil)
	m := testMessage()
	m.SummaryEN = ".leading dot\n.and another line"
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	mails := s.captured()
	if len(mails) != 1 || mails[0].TLS || mails[0].User != "" {
		t.Fatalf("mails %+v", mails)
	}
	if p := parseMail(t, mails[0].Data); !strings.HasPrefix(p.body, ".leading dot\n.and another line") {
		t.Errorf("dot-stuffing lost a dot:\n%s", p.body)
	}
}

func TestEmailHELOFallback(t *testing.T) {
	s := newSMTPServer(t, func(s *smtpServer) { s.noEHLO = true })
	ch := s.channel(t, LangEN, "none", nil)
	if _, err := ch.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(s.captured()) != 1 {
		t.Fatal("no mail through a HELO-only server")
	}
}

func TestEmailFailures(t *testing.T) {
	cases := []struct {
		name      string
		setup     func(*smtpServer)
		mode      string
		edit      func(*emailChannel)
		permanent bool
		code      int
		says      []string
	}{
		{"550 recipient", func(s *smtpServer) {
			s.rcptReply["lead@example.com"] = "550 5.1.1 <lead@example.com>: Recipient address rejected: User unknown"
		}, "none", nil, true, 550, []string{"SMTP 550", "User unknown", "RCPT TO:<lead@example.com>"}},
		{"451 recipient", func(s *smtpServer) {
			s.rcptReply["ops@example.com"] = "451 4.7.1 <ops@example.com>: Greylisted, try again later"
		}, "none", nil, false, 451, []string{"SMTP 451", "Greylisted"}},
		{"451 and 550", func(s *smtpServer) {
			s.rcptReply["ops@example.com"] = "451 4.7.1 try later"
			s.rcptReply["lead@example.com"] = "550 5.1.1 no such user"
		}, "none", nil, true, 550, []string{"SMTP 550", "no such user", "2 recipients refused"}},
		{"554 data", func(s *smtpServer) { s.dataReply = "554 5.7.1 Message rejected as spam" },
			"none", nil, true, 554, []string{"SMTP 554", "rejected as spam", "the message"}},
		{"452 data", func(s *smtpServer) { s.dataReply = "452 4.3.1 Insufficient system storage" },
			"none", nil, false, 452, []string{"SMTP 452", "Insufficient system storage"}},
		{"no STARTTLS", nil, "starttls", nil, true, 0, []string{"does not offer STARTTLS", `"starttls"`}},
		{"bad password", func(s *smtpServer) { s.startTLS, s.user, s.pass = true, "pulse", "right" },
			"starttls", func(c *emailChannel) { c.smtp.Password = "wrong" }, true, 535, []string{"SMTP 535", "credentials invalid", "AUTH PLAIN"}},
		{"no AUTH offered", nil, "none", func(c *emailChannel) { c.smtp.Username = "pulse" }, true, 0, []string{"offers no AUTH"}},
		{"untrusted certificate", func(s *smtpServer) { s.startTLS = true }, "starttls",
			func(c *emailChannel) { c.rootCAs = x509.NewCertPool() }, true, 0, []string{"TLS handshake", "certificate"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSMTPServer(t, tc.setup)
			ch := s.channel(t, LangEN, tc.mode, nil)
			if tc.edit != nil {
				tc.edit(ch)
			}
			a, err := ch.Send(context.Background(), testMessage())
			if err == nil {
				t.Fatalf("Send succeeded; server saw %q", s.commands())
			}
			if Permanent(err) != tc.permanent {
				t.Errorf("Permanent(%v) = %v, want %v", err, Permanent(err), tc.permanent)
			}
			contains(t, "error", err.Error(), append([]string{`email "mail"`}, tc.says...)...)
			if a.Code != tc.code {
				t.Errorf("Attempt.Code = %d, want %d (%+v)", a.Code, tc.code, a)
			}
			if tc.code/100 == 5 && strings.HasPrefix(tc.name, "550") || strings.Contains(tc.name, "recipient") {
				if len(s.captured()) != 0 {
					t.Error("a mail with a refused recipient went out to the others")
				}
			}
		})
	}
}

func TestEmailInsecureSkipVerify(t *testing.T) {
	s := newSMTPServer(t, func(s *smtpServer) { s.startTLS = true })
	ch := s.channel(t, LangEN, "starttls", func(c *ChannelConfig) { c.SMTP.InsecureSkipVerify = true })
	ch.rootCAs = x509.NewCertPool() // trusts nothing, verification is off
	if _, err := ch.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func TestEmailConnectionErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	ch, err := NewChannel(ChannelConfig{Name: "mail", Kind: KindEmail, To: []string{"a@example.com"},
		SMTP: SMTPConfig{Host: "127.0.0.1", Port: addr.Port, From: "p@example.com", TLS: "none"}}, nil, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ch.Send(context.Background(), testMessage())
	if err == nil || Permanent(err) {
		t.Fatalf("refused connection: err %v, permanent %v", err, Permanent(err))
	}

	// A server that accepts and never speaks: the timeout ends the attempt.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ch, _ = NewChannel(ChannelConfig{Name: "mail", Kind: KindEmail, To: []string{"a@example.com"}, Timeout: 100 * time.Millisecond,
		SMTP: SMTPConfig{Host: "127.0.0.1", Port: silent.Addr().(*net.TCPAddr).Port, From: "p@example.com", TLS: "none"}}, nil, fixedNow)
	start := time.Now()
	_, err = ch.Send(context.Background(), testMessage())
	if err == nil || Permanent(err) {
		t.Fatalf("silent server: err %v, permanent %v", err, Permanent(err))
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("the attempt took %s with a 100ms timeout", time.Since(start))
	}
	contains(t, "error", err.Error(), "no answer within 100ms")
}

func TestEmailBadMention(t *testing.T) {
	s := newSMTPServer(t, nil)
	ch := s.channel(t, LangEN, "none", nil)
	m := testMessage()
	m.Mentions.Emails = []string{"not an address"}
	_, err := ch.Send(context.Background(), m)
	if err == nil || !Permanent(err) {
		t.Fatalf("bad mention: err %v, permanent %v", err, Permanent(err))
	}
	if len(s.commands()) != 0 {
		t.Error("the channel connected with a bad recipient")
	}
}

func TestEncodeHeader(t *testing.T) {
	long := strings.Repeat("连续未登录", 12)
	enc := encodeHeader(long)
	for _, line := range strings.Split(enc, "\r\n") {
		if len(line) > 77 {
			t.Errorf("encoded line of %d bytes: %q", len(line), line)
		}
	}
	dec, err := new(mime.WordDecoder).DecodeHeader(strings.ReplaceAll(enc, "\r\n", ""))
	if err != nil || dec != long {
		t.Errorf("round trip: %q, %v", dec, err)
	}
	if got := encodeHeader("plain ascii"); got != "plain ascii" {
		t.Errorf("ascii encoded: %q", got)
	}
}
