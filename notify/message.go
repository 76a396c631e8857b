package notify

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The kinds of a Message.
const (
	KindFiring   = "firing"
	KindResolved = "resolved"
)

// The languages a channel writes in.
const (
	LangEN = "en"
	LangZH = "zh-CN"
)

// Message is one notification: an alert that fires or resolves.
type Message struct {
	ID          string // "<key>#<episode>/<kind>", stable: receivers may dedupe on it
	Kind        string // KindFiring or KindResolved ("firing", "resolved")
	Rule        string // e.g. "sla_breach"
	Severity    string // "info", "warning", "critical"
	Key         string // e.g. "login_gap/employee:E031/2026-11-12"
	Episode     int
	SubjectType string // employee, team, company, ticket
	SubjectID   string
	SubjectName string
	TeamID      string
	Value       *float64
	Threshold   *float64
	SummaryEN   string
	SummaryZH   string
	FirstSeen   time.Time
	FiredAt     time.Time
	ResolvedAt  *time.Time
	URL         string   // link to the alert in Pulse; "" when no external URL is configured
	Mentions    Mentions // extra people to address (the subject's manager when the route says so)
}

// Mentions are the people a message addresses besides the channel's audience.
type Mentions struct {
	Names   []string // display names
	Emails  []string // email recipients added to the channel's own `To`
	Mobiles []string // phone numbers to @ in DingTalk / WeCom
	UserIDs []string // Feishu lparenid / user_id to @ if known
}

// check reports what makes m undeliverable.
func (m *Message) check() error {
	switch {
	case m.ID == "":
		return errors.New("message has no ID")
	case m.Kind != KindFiring && m.Kind != KindResolved:
		return fmt.Errorf("message %s: kind %q is neither %q nor %q", m.ID, m.Kind, KindFiring, KindResolved)
	}
	return nil
}

// firingID is the ID of the firing message of m's episode (m.ID when m is
// the firing message): a resolved email refers to it so mail clients
// thread the two.
func (m *Message) firingID() string {
	if m.Key == "" {
		return ""
	}
	return m.Key + "#" + strconv.Itoa(m.Episode) + "/" + KindFiring
}

// ---- text ------------------------------------------------------------------

// ruleLabels are the human names of the built-in rules, English and Chinese.
var ruleLabels = map[string][2]string{
	"low_completeness":   {"Low record completeness", "客户资料完整度低"},
	"login_gap":          {"Login gap", "连续未登录"},
	"sla_breach":         {"SLA breach", "工单超时未响应"},
	"kpi_anomaly":        {"KPI anomaly", "指标异常"},
	"backfilled_records": {"Back-filled records", "补录记录"},
	"entry_burst":        {"Entry burst", "集中录入"},
	"target_at_risk":     {"Target at risk", "目标完成风险"},
}

var severityZH = map[string]string{"info": "提示", "warning": "警告", "critical": "严重"}

var subjectTypeZH = map[string]string{"employee": "员工", "team": "团队", "company": "公司", "ticket": "工单"}

// words are the fixed words of the text, per language.
type words struct {
	firing, resolved      string // title tags
	resolvedPrefix        string // before a resolved summary
	value, threshold      string
	firstSeen, firedAt    string
	resolvedAt            string
	rule, severity        string
	subject, team         string
	open                  string // link label
	attention             string // before the mentioned names
	alertID               string
	colon, lparen, rparen string // punctuation
	titleOpen, titleClose string
}

var wordsEN = words{
	firing: "FIRING", resolved: "RESOLVED", resolvedPrefix: "Resolved: ",
	value: "Value", threshold: "threshold",
	firstSeen: "First seen", firedAt: "Fired at", resolvedAt: "Resolved at",
	rule: "Rule", severity: "Severity", subject: "Subject", team: "Team",
	open: "Open in Pulse", attention: "Attention", alertID: "Alert",
	colon: ": ", lparen: " (", rparen: ")", titleOpen: "[", titleClose: "] ",
}

var wordsZH = words{
	firing: "告警", resolved: "已恢复", resolvedPrefix: "已恢复：",
	value: "当前值", threshold: "阈值",
	firstSeen: "首次发现", firedAt: "触发时间", resolvedAt: "恢复时间",
	rule: "规则", severity: "级别", subject: "对象", team: "团队",
	open: "在 Pulse 中查看", attention: "请关注", alertID: "告警编号",
	colon: "：", lparen: "（", rparen: "）", titleOpen: "【", titleClose: "】",
}

// fact is one labelled line of a message body.
type fact struct{ Label, Value string }

// rendered is a message put into words in one language; each channel kind
// lays it out in its own markup.
type rendered struct {
	w         words
	Title     string // "[FIRING · warning] Login gap: Zhang San"
	Summary   string // "Resolved: " prefixed when resolved
	Facts     []fact // value and threshold, since when, fired or resolved at
	Details   []fact // rule, severity, subject, team, value, first seen, fired, resolved (email)
	URL       string
	LinkLabel string
	Names     []string // mentioned display names
	Resolved  bool
}

// render puts m into words in lang ("en" or "zh-CN"), with times in loc.
func render(m *Message, lang string, loc *time.Location) rendered {
	zh := lang == LangZH
	w := wordsEN
	if zh {
		w = wordsZH
	}
	if loc == nil {
		loc = time.UTC
	}
	r := rendered{w: w, URL: m.URL, LinkLabel: w.open, Resolved: m.Kind == KindResolved,
		Names: dedupe(m.Mentions.Names, false)}

	ruleName := ruleLabel(m.Rule, zh)
	subject := firstNonEmpty(m.SubjectName, m.SubjectID)

	// Title.
	var tag string
	switch {
	case r.Resolved:
		tag = w.titleOpen + w.resolved + w.titleClose
	case m.Severity == "":
		tag = w.titleOpen + w.firing + w.titleClose
	case zh:
		tag = w.titleOpen + w.firing + "·" + severityLabel(m.Severity, true) + w.titleClose
	default:
		tag = w.titleOpen + w.firing + " · " + m.Severity + w.titleClose
	}
	r.Title = tag + ruleName
	if subject != "" {
		r.Title += w.colon + subject
	}

	// Summary, in the channel's language when there is one.
	var summary string
	if zh {
		summary = firstNonEmpty(m.SummaryZH, m.SummaryEN)
	} else {
		summary = firstNonEmpty(m.SummaryEN, m.SummaryZH)
	}
	summary = strings.TrimSpace(summary)
	if summary == "" {
		summary = ruleName
		if subject != "" {
			summary += w.colon + subject
		}
	}
	if r.Resolved {
		summary = w.resolvedPrefix + summary
	}
	r.Summary = summary

	// Facts.
	valueLine := ""
	if v, ok := number(m.Value); ok {
		valueLine = v
		if t, ok := number(m.Threshold); ok {
			valueLine += w.lparen + w.threshold + w.colon + t + w.rparen
		}
	} else if t, ok := number(m.Threshold); ok {
		valueLine = "–" + w.lparen + w.threshold + w.colon + t + w.rparen
	}
	if valueLine != "" {
		r.Facts = append(r.Facts, fact{w.value, valueLine})
	}
	if !m.FirstSeen.IsZero() {
		r.Facts = append(r.Facts, fact{w.firstSeen, formatTime(m.FirstSeen, loc)})
	}
	if r.Resolved {
		if m.ResolvedAt != nil && !m.ResolvedAt.IsZero() {
			r.Facts = append(r.Facts, fact{w.resolvedAt, formatTime(*m.ResolvedAt, loc)})
		}
	} else if !m.FiredAt.IsZero() {
		r.Facts = append(r.Facts, fact{w.firedAt, formatTime(m.FiredAt, loc)})
	}

	// Details: everything, for email.
	if m.Rule != "" {
		rv := ruleName
		if rv != m.Rule {
			rv += w.lparen + m.Rule + w.rparen
		}
		r.Details = append(r.Details, fact{w.rule, rv})
	}
	if m.Severity != "" {
		sv := m.Severity
		if zh {
			if l := severityLabel(m.Severity, true); l != m.Severity {
				sv = l + w.lparen + m.Severity + w.rparen
			}
		}
		r.Details = append(r.Details, fact{w.severity, sv})
	}
	if s := subjectLine(m, zh, w); s != "" {
		r.Details = append(r.Details, fact{w.subject, s})
	}
	if m.TeamID != "" {
		r.Details = append(r.Details, fact{w.team, m.TeamID})
	}
	if valueLine != "" {
		r.Details = append(r.Details, fact{w.value, valueLine})
	}
	if !m.FirstSeen.IsZero() {
		r.Details = append(r.Details, fact{w.firstSeen, formatTime(m.FirstSeen, loc)})
	}
	if !m.FiredAt.IsZero() {
		r.Details = append(r.Details, fact{w.firedAt, formatTime(m.FiredAt, loc)})
	}
	if r.Resolved && m.ResolvedAt != nil && !m.ResolvedAt.IsZero() {
		r.Details = append(r.Details, fact{w.resolvedAt, formatTime(*m.ResolvedAt, loc)})
	}
	return r
}

// ruleLabel is the human name of a rule; an unknown rule is its name.
func ruleLabel(rule string, zh bool) string {
	if l, ok := ruleLabels[rule]; ok {
		if zh {
			return l[1]
		}
		return l[0]
	}
	if rule == "" {
		if zh {
			return "告警"
		}
		return "Alert"
	}
	return rule
}

func severityLabel(sev string, zh bool) string {
	if zh {
		if l, ok := severityZH[sev]; ok {
			return l
		}
	}
	return sev
}

// subjectLine is "Zhang San (employee E031)" or "张三（员工 E031）".
func subjectLine(m *Message, zh bool, w words) string {
	typ := m.SubjectType
	if zh {
		if l, ok := subjectTypeZH[typ]; ok {
			typ = l
		}
	}
	ref := strings.TrimSpace(typ + " " + m.SubjectID)
	switch {
	case m.SubjectName == "":
		return ref
	case ref == "" || m.SubjectName == m.SubjectID:
		return m.SubjectName
	default:
		return m.SubjectName + w.lparen + ref + w.rparen
	}
}

// plainText lays r out as plain text: the summary, the facts, the link and
// the people to address (chat text messages and the webhook's "text").
func (r rendered) plainText(withTitle bool) string {
	var b strings.Builder
	if withTitle {
		b.WriteString(r.Title)
		b.WriteString("\n")
	}
	b.WriteString(r.Summary)
	b.WriteString("\n")
	for _, f := range r.Facts {
		b.WriteString(f.Label + r.w.colon + f.Value + "\n")
	}
	if r.URL != "" {
		b.WriteString(r.LinkLabel + r.w.colon + r.URL + "\n")
	}
	if len(r.Names) > 0 {
		b.WriteString(r.w.attention + r.w.colon + strings.Join(r.Names, ", ") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// mdStyle is the markdown dialect of one chat tool.
type mdStyle struct {
	bold    func(string) string
	link    func(label, url string) string
	escape  func(string) string
	item    string // prefix of a fact line
	factSep string // between fact lines
	para    string // between blocks
}

// markdown lays r out in the dialect s (without the title, which each tool
// shows in its own way); at, when not empty, replaces the names of the
// people to address (e.g. Feishu <at> tags, DingTalk @mobiles).
func (r rendered) markdown(s mdStyle, at string) string {
	esc := s.escape
	if esc == nil {
		esc = func(x string) string { return x }
	}
	blocks := []string{esc(r.Summary)}
	if len(r.Facts) > 0 {
		lines := make([]string, len(r.Facts))
		// "**Value:** 3" but "**当前值**：3": a closing ** between a
		// full-width colon and a letter does not close in CommonMark.
		for i, f := range r.Facts {
			if r.w.colon == ": " {
				lines[i] = s.item + s.bold(esc(f.Label)+":") + " " + esc(f.Value)
			} else {
				lines[i] = s.item + s.bold(esc(f.Label)) + r.w.colon + esc(f.Value)
			}
		}
		blocks = append(blocks, strings.Join(lines, s.factSep))
	}
	if r.URL != "" {
		blocks = append(blocks, s.link(esc(r.LinkLabel), r.URL))
	}
	switch {
	case at != "":
		blocks = append(blocks, esc(r.w.attention)+r.w.colon+at)
	case len(r.Names) > 0:
		blocks = append(blocks, esc(r.w.attention+r.w.colon+strings.Join(r.Names, ", ")))
	}
	return strings.Join(blocks, s.para)
}

// ---- formatting helpers ------------------------------------------------------

// number formats a value with at most four significant digits after the
// point and no exponent: 3, 0.8333, 12345.67.
func number(v *float64) (string, bool) {
	if v == nil {
		return "", false
	}
	f := *v
	switch {
	case math.IsNaN(f):
		return "NaN", true
	case math.IsInf(f, 0):
		if f > 0 {
			return "∞", true
		}
		return "-∞", true
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.FormatFloat(f, 'f', 0, 64), true
	}
	s := strconv.FormatFloat(f, 'g', 4, 64)
	if strings.ContainsAny(s, "eE") {
		s = strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s, true
}

// formatTime is "2026-11-12 09:30 UTC" or "2026-11-12 17:30 UTC+08:00".
func formatTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	_, off := t.Zone()
	zone := "UTC"
	if off != 0 {
		sign := "+"
		if off < 0 {
			sign, off = "-", -off
		}
		zone = fmt.Sprintf("UTC%s%02d:%02d", sign, off/3600, off%3600/60)
	}
	return t.Format("2006-01-02 15:04") + " " + zone
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}

// dedupe drops empty and repeated entries, keeping the first spelling;
// fold compares case-insensitively (email addresses).
func dedupe(xs []string, fold bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range xs {
		x = strings.TrimSpace(x)
		k := x
		if fold {
			k = strings.ToLower(x)
		}
		if x == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, x)
	}
	return slices.Clip(out)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	if n <= len(mark) {
		return ""
	}
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// truncateRunes cuts s to at most n characters, marking the cut (Slack
// counts characters).
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return string(rs[:n-1]) + "…"
}
