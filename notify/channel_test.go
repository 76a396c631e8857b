package notify

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestConfigErrors(t *testing.T) {
	mail := func(f func(*ChannelConfig)) ChannelConfig {
		c := ChannelConfig{Name: "mail", Kind: "email", To: []string{"ops@example.com"},
			SMTP: SMTPConfig{Host: "smtp.example.com", From: "Pulse <pulse@example.com>"}}
		f(&c)
		return c
	}
	cases := []struct {
		cfg  ChannelConfig
		want string
	}{
		{ChannelConfig{Kind: "slack", URL: "https://hooks.slack.com/x"}, `channel "": name: required`},
		{ChannelConfig{Name: "ops", Kind: "teams", URL: "https://x"}, `channel "ops": kind: unknown kind "teams"`},
		{ChannelConfig{Name: "ops", URL: "https://x"}, `channel "ops": kind: required`},
		{ChannelConfig{Name: "ops", Kind: "slack"}, `channel "ops": url: required`},
		{ChannelConfig{Name: "ops", Kind: "feishu", URL: "ftp://open.feishu.cn/x"}, `channel "ops": url: must be an https or http URL`},
		{ChannelConfig{Name: "ops", Kind: "webhook", URL: "hooks.example.com/x"}, `channel "ops": url: must be an https or http URL`},
		{ChannelConfig{Name: "ops", Kind: "webhook", URL: "https://x", Language: "fr"}, `channel "ops": language: unknown language "fr"`},
		{ChannelConfig{Name: "ops", Kind: "webhook", URL: "https://x", Timeout: -time.Second}, `channel "ops": timeout: must not be negative`},
		{ChannelConfig{Name: "ops", Kind: "slack", URL: "https://x", Headers: map[string]string{"A": "b"}}, `channel "ops": headers: only webhook`},
		{ChannelConfig{Name: "ops", Kind: "webhook", URL: "https://x", Headers: map[string]string{"Bad Name": "b"}}, `channel "ops": headers: "Bad Name" is not a valid header name`},
		{ChannelConfig{Name: "ops", Kind: "webhook", URL: "https://x", Headers: map[string]string{"X-Pulse-Signature": "b"}}, `channel "ops": headers: X-Pulse-Signature is set by Pulse`},
		{ChannelConfig{Name: "ops", Kind: "slack", URL: "https://x", Secret: "s"}, `channel "ops": secret: slack webhooks are not signed`},
		{ChannelConfig{Name: "ops", Kind: "wecom", URL: "https://x", To: []string{"a@b.c"}}, `channel "ops": to: only email`},
		{mail(func(c *ChannelConfig) { c.To = nil }), `channel "mail": to: an email channel needs at least one recipient`},
		{mail(func(c *ChannelConfig) { c.To = []string{"ops@example.com", "not an address"} }), `channel "mail": to[1]: "not an address" is not an email address`},
		{mail(func(c *ChannelConfig) { c.SMTP.From = "" }), `channel "mail": smtp.from: required`},
		{mail(func(c *ChannelConfig) { c.SMTP.Host = "" }), `channel "mail": smtp.host: required`},
		{mail(func(c *ChannelConfig) { c.SMTP.Host = "smtp.example.com:587" }), `channel "mail": smtp.host: "smtp.example.com:587" is not a host name`},
		{mail(func(c *ChannelConfig) { c.SMTP.TLS = "ssl" }), `channel "mail": smtp.tls: unknown mode "ssl"`},
		{mail(func(c *ChannelConfig) { c.SMTP.Port = 70000 }), `channel "mail": smtp.port: 70000 is not a port`},
		{mail(func(c *ChannelConfig) { c.SMTP.TLS, c.SMTP.Username = "none", "u" }), `channel "mail": smtp.tls: "none" would send the password in clear text`},
		{mail(func(c *ChannelConfig) { c.SMTP.Password = "p" }), `channel "mail": smtp.username: required with smtp.password`},
		{mail(func(c *ChannelConfig) { c.URL = "https://x" }), `channel "mail": url: not used by email channels`},
	}
	for _, c := range cases {
		ch, err := NewChannel(c.cfg, nil, nil)
		if err == nil {
			t.Errorf("%+v: no error (got %T), want %s", c.cfg, ch, c.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("error %q, want it to start with %q", err, c.want)
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || !Permanent(err) {
			t.Errorf("%v is not a permanent *ConfigError", err)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	ch, err := NewChannel(ChannelConfig{Name: "ops", Kind: " Slack ", URL: "https://hooks.slack.com/services/T/B/X", Language: "zh_CN"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := ch.(*slackChannel)
	if s.Kind() != KindSlack || s.lang != LangZH || s.timeout != DefaultTimeout || s.loc != time.UTC || s.now == nil {
		t.Errorf("defaults: kind %q lang %q timeout %s loc %v", s.Kind(), s.lang, s.timeout, s.loc)
	}
	if s.client.Timeout != DefaultTimeout {
		t.Errorf("client timeout = %s", s.client.Timeout)
	}

	for _, c := range []struct {
		tls  string
		port int
	}{{"", 587}, {"starttls", 587}, {"tls", 465}, {"none", 587}} {
		ch, err := NewChannel(ChannelConfig{Name: "m", Kind: "email", To: []string{"a@example.com"},
			SMTP: SMTPConfig{Host: "smtp.example.com", From: "p@example.com", TLS: c.tls}}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		e := ch.(*emailChannel)
		if e.smtp.Port != c.port || (c.tls == "" && e.smtp.TLS != SMTPStartTLS) {
			t.Errorf("tls %q: port %d mode %q", c.tls, e.smtp.Port, e.smtp.TLS)
		}
	}
}

func TestPermanent(t *testing.T) {
	if Permanent(nil) {
		t.Error("nil is permanent")
	}
	if Permanent(errors.New("dial tcp: connection refused")) {
		t.Error("an unknown error is permanent")
	}
	perm := &SendError{Channel: "c", Kind: KindSlack, Status: 400, Message: "invalid_payload"}
	if !Permanent(fmt.Errorf("wrapped: %w", perm)) {
		t.Error("a wrapped permanent SendError is not permanent")
	}
	if Permanent(&SendError{Temporary: true}) {
		t.Error("a temporary SendError is permanent")
	}
	if got := perm.Error(); got != `slack "c": HTTP 400: invalid_payload` {
		t.Errorf("Error() = %q", got)
	}
}
