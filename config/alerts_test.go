package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A file's rules merge into the defaults: one threshold and one parameter
// change, everything else stays; a rule's list parameter is replaced.
func TestAlertRulesMergeIntoDefaults(t *testing.T) {
	path := writeFile(t, `
alerts:
  rules:
    low_completeness:
      threshold: 0.7
    kpi_anomaly:
      for: 10m
      params: {min_median: 10, kpis: [followups]}
  channels:
    ops: {kind: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=x", secret: SEC1, language: zh-CN}
    mgrs: {kind: email, to: [a@example.com]}
  smtp: {host: smtp.example.com, from: pulse@example.com}
  routes:
    - {channels: [ops], severities: [critical]}
    - {channels: [mgrs], rules: [login_gap], manager: true}
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	rules := cfg.AlertRules()
	lc := rules["low_completeness"]
	if lc.Threshold != 0.7 || lc.Params["min_customers"] != 5 || !lc.Enabled || lc.Severity != "warning" {
		t.Errorf("low_completeness %+v", lc)
	}
	ka := rules["kpi_anomaly"]
	if ka.For != 10*time.Minute || ka.Threshold != 3.5 || ka.Params["min_median"] != 10 || ka.Params["weeks"] != 8 ||
		strings.Join(ka.Lists["kpis"], ",") != "followups" {
		t.Errorf("kpi_anomaly %+v", ka)
	}
	if len(rules) != len(Default().Alerts.Rules) || rules["sla_breach"].Severity != "critical" {
		t.Errorf("rules %+v", rules)
	}
	ch := cfg.Alerts.Channels["ops"]
	if ch.Kind != "dingtalk" || !ch.SendResolved || ch.Timeout != 10*time.Second || ch.Language != "zh-CN" {
		t.Errorf("channel ops %+v: want the channel defaults kept", ch)
	}
	if !cfg.Alerts.Routes[1].Manager || cfg.Alerts.SMTP.Port != 587 {
		t.Errorf("routes %+v smtp %+v", cfg.Alerts.Routes, cfg.Alerts.SMTP)
	}
	// Default() is not changed by the merge.
	if Default().Alerts.Rules["kpi_anomaly"].Params["min_median"].Number != 5 {
		t.Error("merging changed the defaults")
	}
}

func TestAlertConfigErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"alerts:\n  rules:\n    nosuch: {threshold: 1}\n", ":3: alerts.rules.nosuch: no rule file sql/alerts/nosuch.sql"},
		{"alerts:\n  rules:\n    login_gap:\n      severity: loud\n", ":4: alerts.rules.login_gap.severity: must be one of info, warning, critical"},
		{"alerts:\n  rules:\n    login_gap:\n      params: {roles: sales}\n", ":4: alerts.rules.login_gap.params.roles: must be a number or a list of names"},
		{"alerts:\n  rules:\n    login_gap:\n      params: {roles: [1, 2]}\n", "a list parameter holds names"},
		{"alerts:\n  language: fr\n", ":2: alerts.language: must be en or zh-CN"},
		{"alerts:\n  channels:\n    x: {kind: pager, url: \"https://x\"}\n", ":3: alerts.channels.x.kind: must be one of webhook, slack, feishu, dingtalk, wecom, email"},
		{"alerts:\n  channels:\n    x: {kind: slack, url: \"ftp://h\"}\n", ":3: alerts.channels.x.url: must be the http(s) URL of the slack endpoint"},
		{"alerts:\n  channels:\n    x: {kind: slack}\n", ":3: alerts.channels.x: url: a slack channel needs the URL of its endpoint"},
		{"alerts:\n  channels:\n    x: {kind: email}\n", ":3: alerts.channels.x: to: an email channel needs recipients"},
		{"alerts:\n  channels:\n    x: {kind: email, to: [a@b.c]}\n", "alerts.smtp.host: is needed by the email channel x"},
		{"alerts:\n  routes:\n    - {channels: [nope]}\n", ":3: alerts.routes[0].channels[0]: no channel \"nope\" under alerts.channels"},
		{"alerts:\n  channels:\n    x: {kind: slack, url: \"https://h/x\"}\n  routes:\n    - channels: [x]\n      severities: [loud]\n", ":6: alerts.routes[0].severities[0]: must be one of"},
		{"alerts:\n  delivery: {backoff_min: 10s, backoff_max: 1s}\n", "alerts.delivery.backoff_max: must be at least"},
	}
	for _, c := range cases {
		_, err := Load(writeFile(t, c.src), nil)
		var ce *Error
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &ce) {
			t.Errorf("%q:\n got %v\nwant …%s…", c.src, err, c.want)
		}
	}
}
