package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/metric"
	sqlfiles "github.com/pulsekpi/pulse/sql"
)

// Alerts configures the alert rules of metrics.md, who hears of them and
// how.
type Alerts struct {
	// Language of the summary /api/alerts gives by default: en or zh-CN.
	// Both are stored; channels pick their own.
	Language string `yaml:"language"`
	// ExternalURL is where people reach Pulse; notifications link there.
	ExternalURL string `yaml:"external_url"`
	// MaxLag: alerts are not evaluated while ingest lags by more messages
	// (a back-fill is loading).
	MaxLag int64 `yaml:"max_lag"`
	// Rules by name, one per sql/alerts/<name>.sql. A file's entries are
	// merged into the defaults, rule by rule and parameter by parameter.
	// File only.
	Rules map[string]AlertRule `yaml:"rules,merge"`
	// Channels by name. File only.
	Channels map[string]AlertChannel `yaml:"channels"`
	// Routes send alerts to channels. File only.
	Routes []AlertRoute `yaml:"routes"`
	// Contacts of managers by employee_id (email, mobile). File only.
	Contacts map[string]AlertContact `yaml:"contacts"`
	// SMTP is the mail server of email channels.
	SMTP     AlertSMTP     `yaml:"smtp"`
	Delivery AlertDelivery `yaml:"delivery"`
}

// AlertRule configures one rule.
type AlertRule struct {
	Enabled   bool          `yaml:"enabled"`
	Severity  string        `yaml:"severity"`
	For       time.Duration `yaml:"for"`
	Threshold float64       `yaml:"threshold"`
	// Params are numbers or lists of names, as the rule's SQL reads them.
	Params map[string]AlertParam `yaml:"params,merge"`
}

func (r *AlertRule) setDefaults() {
	d := alert.DefaultRule()
	r.Enabled, r.Severity = d.Enabled, d.Severity
}

// AlertParam is a rule parameter: a number or a list of names.
type AlertParam struct {
	Number float64
	List   []string
	IsList bool
}

// UnmarshalYAML reads a number or a list of names.
func (p *AlertParam) UnmarshalYAML(n *yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float"):
		var f float64
		if err := n.Decode(&f); err != nil {
			return err
		}
		*p = AlertParam{Number: f}
		return nil
	case n.Kind == yaml.SequenceNode:
		var list []string
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode || item.ShortTag() != "!!str" {
				return fmt.Errorf("line %d: a list parameter holds names, got %s", item.Line, item.ShortTag())
			}
			list = append(list, item.Value)
		}
		*p = AlertParam{List: list, IsList: true}
		return nil
	}
	return fmt.Errorf("line %d: must be a number or a list of names", n.Line)
}

// AlertChannel is where notifications go.
type AlertChannel struct {
	// Kind: webhook, slack, feishu, dingtalk, wecom or email.
	Kind string `yaml:"kind"`
	// URL of the webhook or bot (not for email).
	URL string `yaml:"url"`
	// Secret signs the messages: Feishu and DingTalk bots' signing secret,
	// a webhook's HMAC key.
	Secret string `yaml:"secret"`
	// Headers sent with webhook requests.
	Headers map[string]string `yaml:"headers"`
	// Language of the messages: en or zh-CN; default alerts.language.
	Language string `yaml:"language"`
	// SendResolved sends a notice when an alert resolves.
	SendResolved bool          `yaml:"send_resolved"`
	Timeout      time.Duration `yaml:"timeout"`
	// To are the email recipients (email only).
	To []string `yaml:"to"`
}

func (c *AlertChannel) setDefaults() {
	c.SendResolved, c.Timeout = true, 10*time.Second
}

// AlertRoute matches alerts and names the channels they go to. Empty
// matchers match everything; an alert goes to every route it matches.
type AlertRoute struct {
	Channels   []string `yaml:"channels"`
	Rules      []string `yaml:"rules"`
	Severities []string `yaml:"severities"`
	Teams      []string `yaml:"teams"`
	// Manager also notifies the subject's manager (email, or an @ by
	// mobile in DingTalk and WeCom).
	Manager bool `yaml:"manager"`
}

// AlertContact is how to reach a manager.
type AlertContact struct {
	Name     string `yaml:"name"`
	Email    string `yaml:"email"`
	Mobile   string `yaml:"mobile"`
	FeishuID string `yaml:"feishu_id"`
}

// AlertSMTP is the mail server email channels send through.
type AlertSMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	From     string `yaml:"from"`
	// TLS: starttls (required), tls (implicit, port 465) or none.
	TLS string `yaml:"tls"`
}

// AlertDelivery tunes retries.
type AlertDelivery struct {
	Poll        time.Duration `yaml:"poll"`
	BackoffMin  time.Duration `yaml:"backoff_min"`
	BackoffMax  time.Duration `yaml:"backoff_max"`
	GiveUpAfter time.Duration `yaml:"give_up_after"`
}

// ChannelKinds are the kinds of channel.
func ChannelKinds() []string {
	return []string{"webhook", "slack", "feishu", "dingtalk", "wecom", "email"}
}

// defaultAlerts are the rules of metrics.md, no channel and no route.
func defaultAlerts() Alerts {
	rules := map[string]AlertRule{}
	for name, r := range alert.DefaultRules() {
		ar := AlertRule{Enabled: r.Enabled, Severity: r.Severity, For: r.For, Threshold: r.Threshold}
		for p, v := range r.Params {
			if ar.Params == nil {
				ar.Params = map[string]AlertParam{}
			}
			ar.Params[p] = AlertParam{Number: v}
		}
		for p, v := range r.Lists {
			if ar.Params == nil {
				ar.Params = map[string]AlertParam{}
			}
			ar.Params[p] = AlertParam{List: slices.Clone(v), IsList: true}
		}
		rules[name] = ar
	}
	return Alerts{
		Language: alert.LangEN,
		MaxLag:   100_000,
		Rules:    rules,
		SMTP:     AlertSMTP{Port: 587, TLS: "starttls"},
		Delivery: AlertDelivery{Poll: time.Second, BackoffMin: time.Second, BackoffMax: 5 * time.Minute, GiveUpAfter: 24 * time.Hour},
	}
}

// AlertRules are the rules as package alert takes them.
func (c *Config) AlertRules() map[string]alert.Rule {
	out := make(map[string]alert.Rule, len(c.Alerts.Rules))
	for name, r := range c.Alerts.Rules {
		ar := alert.Rule{Enabled: r.Enabled, Severity: r.Severity, For: r.For, Threshold: r.Threshold}
		for p, v := range r.Params {
			if v.IsList {
				if ar.Lists == nil {
					ar.Lists = map[string][]string{}
				}
				ar.Lists[p] = slices.Clone(v.List)
				continue
			}
			if ar.Params == nil {
				ar.Params = map[string]float64{}
			}
			ar.Params[p] = v.Number
		}
		out[name] = ar
	}
	return out
}

func (c *Config) validateAlerts(check checkFunc) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	a := c.Alerts
	langs := []string{alert.LangEN, alert.LangZH}
	add(check("alerts.language", !slices.Contains(langs, a.Language), "must be en or zh-CN, got %q", a.Language))
	if a.ExternalURL != "" {
		u, err := url.Parse(a.ExternalURL)
		add(check("alerts.external_url", err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "",
			"must be an http(s) URL like https://pulse.example.com, got %q", a.ExternalURL))
	}
	add(check("alerts.max_lag", a.MaxLag < 0, "must not be negative"))
	files, _ := alert.RuleNames(sqlfiles.FS)
	for _, name := range sortedKeys(a.Rules) {
		r := a.Rules[name]
		at := "alerts.rules." + name
		if !slices.Contains(files, name) {
			add(check(at, true, "no rule file sql/alerts/%s.sql (rules: %s)", name, strings.Join(files, ", ")))
			continue
		}
		add(check(at+".severity", !slices.Contains(alert.Severities(), r.Severity), "must be one of %s, got %q",
			strings.Join(alert.Severities(), ", "), r.Severity))
		add(check(at+".for", r.For < 0, "must not be negative"))
		for _, p := range sortedKeys(r.Params) {
			add(check(at+".params."+p, !metric.IsIdentifier(p), "not a parameter name"))
		}
	}
	for _, name := range sortedKeys(a.Channels) {
		ch := a.Channels[name]
		at := "alerts.channels." + name
		if !metric.IsIdentifier(strings.ReplaceAll(name, "-", "_")) {
			add(check(at, true, "a channel name is letters, digits, - and _"))
		}
		add(check(at+".kind", !slices.Contains(ChannelKinds(), ch.Kind), "must be one of %s, got %q", strings.Join(ChannelKinds(), ", "), ch.Kind))
		// A key the entry lacks is reported at the entry, which has a line.
		if ch.Kind == "email" {
			add(check(at, len(ch.To) == 0, "to: an email channel needs recipients"))
			add(check("alerts.smtp.host", a.SMTP.Host == "", "is needed by the email channel %s", name))
			add(check("alerts.smtp.from", a.SMTP.From == "", "is needed by the email channel %s", name))
		} else if ch.Kind != "" && ch.URL == "" {
			add(check(at, true, "url: a %s channel needs the URL of its endpoint", ch.Kind))
		} else if ch.Kind != "" {
			u, err := url.Parse(ch.URL)
			add(check(at+".url", err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "",
				"must be the http(s) URL of the %s endpoint, got %q", ch.Kind, ch.URL))
		}
		add(check(at+".language", ch.Language != "" && !slices.Contains(langs, ch.Language), "must be en or zh-CN, got %q", ch.Language))
		add(check(at+".timeout", ch.Timeout < 0, "must not be negative"))
	}
	for i, rt := range a.Routes {
		at := fmt.Sprintf("alerts.routes[%d]", i)
		add(check(at+".channels", len(rt.Channels) == 0, "a route needs at least one channel"))
		for j, ch := range rt.Channels {
			_, ok := a.Channels[ch]
			add(check(fmt.Sprintf("%s.channels[%d]", at, j), !ok, "no channel %q under alerts.channels", ch))
		}
		for j, r := range rt.Rules {
			add(check(fmt.Sprintf("%s.rules[%d]", at, j), !slices.Contains(files, r), "no rule %q (rules: %s)", r, strings.Join(files, ", ")))
		}
		for j, s := range rt.Severities {
			add(check(fmt.Sprintf("%s.severities[%d]", at, j), !slices.Contains(alert.Severities(), s),
				"must be one of %s, got %q", strings.Join(alert.Severities(), ", "), s))
		}
	}
	add(check("alerts.smtp.port", a.SMTP.Port < 1 || a.SMTP.Port > 65535, "must be a port number, got %d", a.SMTP.Port))
	add(check("alerts.smtp.tls", !oneOf(a.SMTP.TLS, "starttls", "tls", "none"), "must be starttls, tls or none, got %q", a.SMTP.TLS))
	d := a.Delivery
	add(check("alerts.delivery.poll", d.Poll < 10*time.Millisecond, "must be at least 10ms, got %s", d.Poll))
	add(check("alerts.delivery.backoff_min", d.BackoffMin <= 0, "must be above 0"))
	add(check("alerts.delivery.backoff_max", d.BackoffMax < d.BackoffMin, "must be at least alerts.delivery.backoff_min (%s)", d.BackoffMin))
	add(check("alerts.delivery.give_up_after", d.GiveUpAfter <= 0, "must be above 0"))
	return errs
}
