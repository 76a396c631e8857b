package notify

import (
	"strings"
	"testing"
	"time"
)

func TestTitles(t *testing.T) {
	m := testMessage()
	r := resolvedMessage()
	crit := testMessage()
	crit.Rule, crit.Severity, crit.SubjectName = "sla_breach", "critical", "T-1001"
	unknown := testMessage()
	unknown.Rule, unknown.Severity, unknown.SubjectName, unknown.SubjectID = "churn_risk", "info", "", "C9"
	noSev := testMessage()
	noSev.Severity = ""
	cases := []struct {
		m        Message
		en, zh   string
		what     string
		resolved bool
	}{
		{m, "[FIRING · warning] Login gap: 张三", "【告警·警告】连续未登录：张三", "firing", false},
		{r, "[RESOLVED] Login gap: 张三", "【已恢复】连续未登录：张三", "resolved", true},
		{crit, "[FIRING · critical] SLA breach: T-1001", "【告警·严重】工单超时未响应：T-1001", "critical", false},
		{unknown, "[FIRING · info] churn_risk: C9", "【告警·提示】churn_risk：C9", "unknown rule, no name", false},
		{noSev, "[FIRING] Login gap: 张三", "【告警】连续未登录：张三", "no severity", false},
	}
	for _, c := range cases {
		if got := render(&c.m, LangEN, nil).Title; got != c.en {
			t.Errorf("%s en: %q, want %q", c.what, got, c.en)
		}
		if got := render(&c.m, LangZH, nil).Title; got != c.zh {
			t.Errorf("%s zh: %q, want %q", c.what, got, c.zh)
		}
	}
	m.SubjectName = "Zhang San"
	if got := render(&m, LangEN, nil).Title; got != "[FIRING · warning] Login gap: Zhang San" {
		t.Errorf("title = %q", got)
	}
}

func TestRuleLabels(t *testing.T) {
	want := map[string][2]string{
		"low_completeness":   {"Low record completeness", "客户资料完整度低"},
		"login_gap":          {"Login gap", "连续未登录"},
		"sla_breach":         {"SLA breach", "工单超时未响应"},
		"kpi_anomaly":        {"KPI anomaly", "指标异常"},
		"backfilled_records": {"Back-filled records", "补录记录"},
		"entry_burst":        {"Entry burst", "集中录入"},
		"target_at_risk":     {"Target at risk", "目标完成风险"},
		"my_rule":            {"my_rule", "my_rule"},
	}
	for rule, w := range want {
		if got := ruleLabel(rule, false); got != w[0] {
			t.Errorf("%s en = %q, want %q", rule, got, w[0])
		}
		if got := ruleLabel(rule, true); got != w[1] {
			t.Errorf("%s zh = %q, want %q", rule, got, w[1])
		}
	}
}

func TestRenderBody(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	m := resolvedMessage()
	r := render(&m, LangZH, shanghai)
	if r.Summary != "已恢复：张三已连续 4 天未登录" {
		t.Errorf("summary = %q", r.Summary)
	}
	text := r.plainText(true)
	for _, want := range []string{
		"【已恢复】连续未登录：张三",
		"当前值：4（阈值：3）",
		"首次发现：2026-11-10 09:00 UTC+08:00",
		"恢复时间：2026-11-13 10:30 UTC+08:00",
		"在 Pulse 中查看：https://pulse.example.com/alerts/42",
		"请关注：Wang Wu",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "触发时间") {
		t.Errorf("a resolved chat text shows the firing time:\n%s", text)
	}

	// A missing summary in the channel language falls back to the other one,
	// then to the rule and subject.
	m = testMessage()
	m.SummaryZH = ""
	if got := render(&m, LangZH, nil).Summary; got != m.SummaryEN {
		t.Errorf("zh fallback = %q", got)
	}
	m.SummaryEN = ""
	if got := render(&m, LangEN, nil).Summary; got != "Login gap: 张三" {
		t.Errorf("no summary = %q", got)
	}

	// No value, no URL, no mentions: no empty lines for them.
	m = testMessage()
	m.Value, m.Threshold, m.URL, m.Mentions = nil, nil, "", Mentions{}
	text = render(&m, LangEN, nil).plainText(false)
	for _, no := range []string{"Value", "Open in Pulse", "Attention", "\n\n"} {
		if strings.Contains(text, no) {
			t.Errorf("text has %q:\n%s", no, text)
		}
	}
}

func TestNumber(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, c := range []struct {
		v    *float64
		want string
	}{
		{f(4), "4"}, {f(0.8), "0.8"}, {f(0.833333), "0.8333"}, {f(12345.678), "12345.678"},
		{f(-3.5), "-3.5"}, {f(1e20), "100000000000000000000"}, {f(0.00012345), "0.0001234"},
	} {
		if got, _ := number(c.v); got != c.want {
			t.Errorf("number(%v) = %q, want %q", *c.v, got, c.want)
		}
	}
	if _, ok := number(nil); ok {
		t.Error("number(nil) is a number")
	}
}

func TestTruncate(t *testing.T) {
	s := "张三已连续未登录"
	for n := 0; n <= len(s)+1; n++ {
		got := truncate(s, n)
		if len(got) > n || !strings.HasPrefix(s, strings.TrimSuffix(got, "…")) {
			t.Errorf("truncate(%d) = %q", n, got)
		}
	}
	if got := truncateRunes("abcdef", 4); got != "abc…" {
		t.Errorf("truncateRunes = %q", got)
	}
	if got := excerpt([]byte(strings.Repeat("界", 200))); len(got) > maxExcerpt || !strings.HasPrefix(got, "界") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("excerpt cut a rune: %d bytes", len(got))
	}
}
