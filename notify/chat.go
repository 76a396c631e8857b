package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ---- webhook -------------------------------------------------------------------

// WebhookVersion is the version of the webhook body; it changes only when
// a field changes meaning or goes away (new fields may appear in any version).
const WebhookVersion = "1"

// WebhookPayload is the body a webhook channel POSTs (Content-Type
// application/json), version 1:
//
//	{
//	  "version": "1",
//	  "id": "login_gap/employee:E031/2026-11-12#1/firing",  // stable: dedupe on it
//	  "kind": "firing",                                      // or "resolved"
//	  "rule": "login_gap", "severity": "warning",
//	  "key": "login_gap/employee:E031/2026-11-12", "episode": 1,
//	  "subject": {"type": "employee", "id": "E031", "name": "Zhang San"},
//	  "team_id": "T01",                                      // "" when none
//	  "value": 4, "threshold": 3,                            // null when none
//	  "summary": {"en": "...", "zh-CN": "..."},
//	  "title": "[FIRING · warning] Login gap: Zhang San",   // in the channel language
//	  "text": "...",                                         // title and body as plain text, in the channel language
//	  "language": "en",                                      // or "zh-CN"
//	  "first_seen": "2026-11-12T01:00:00Z",                  // RFC 3339, UTC; null when unknown
//	  "fired_at": "2026-11-12T01:05:00Z",
//	  "resolved_at": null,                                   // set when kind is "resolved"
//	  "url": "https://pulse.example.com/alerts/...",         // "" when none
//	  "mentions": {"names": [], "emails": [], "mobiles": [], "user_ids": []}  // omitted when empty
//	}
//
// Headers: Idempotency-Key is the id. With a secret, X-Pulse-Timestamp is
// the unix time in seconds and X-Pulse-Signature is "sha256=" and the hex
// HMAC-SHA256, keyed with the secret, of the timestamp, ".", and the raw
// body (see SignWebhook); receivers should recompute it over the bytes they
// received and reject old timestamps. Any 2xx answer is success; 408, 429
// and 5xx are retried, other statuses are not.
type WebhookPayload struct {
	Version    string           `json:"version"`
	ID         string           `json:"id"`
	Kind       string           `json:"kind"`
	Rule       string           `json:"rule"`
	Severity   string           `json:"severity"`
	Key        string           `json:"key"`
	Episode    int              `json:"episode"`
	Subject    WebhookSubject   `json:"subject"`
	TeamID     string           `json:"team_id"`
	Value      *float64         `json:"value"`
	Threshold  *float64         `json:"threshold"`
	Summary    WebhookSummary   `json:"summary"`
	Title      string           `json:"title"`
	Text       string           `json:"text"`
	Language   string           `json:"language"`
	FirstSeen  *time.Time       `json:"first_seen"`
	FiredAt    *time.Time       `json:"fired_at"`
	ResolvedAt *time.Time       `json:"resolved_at"`
	URL        string           `json:"url"`
	Mentions   *WebhookMentions `json:"mentions,omitempty"`
}

// WebhookSubject is what an alert is about.
type WebhookSubject struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// WebhookSummary is the summary in both languages.
type WebhookSummary struct {
	EN string `json:"en"`
	ZH string `json:"zh-CN"`
}

// WebhookMentions are the extra people the message addresses.
type WebhookMentions struct {
	Names   []string `json:"names"`
	Emails  []string `json:"emails"`
	Mobiles []string `json:"mobiles"`
	UserIDs []string `json:"user_ids"`
}

// Webhook signature headers.
const (
	HeaderTimestamp = "X-Pulse-Timestamp"
	HeaderSignature = "X-Pulse-Signature"
)

// SignWebhook is the X-Pulse-Signature of body sent at timestamp (unix
// seconds): "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
func SignWebhook(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

type webhookChannel struct {
	httpBase
	headers map[string]string
}

func (c *webhookChannel) payload(m *Message) WebhookPayload {
	r := render(m, c.lang, c.loc)
	p := WebhookPayload{
		Version: WebhookVersion, ID: m.ID, Kind: m.Kind, Rule: m.Rule, Severity: m.Severity,
		Key: m.Key, Episode: m.Episode,
		Subject:   WebhookSubject{Type: m.SubjectType, ID: m.SubjectID, Name: m.SubjectName},
		TeamID:    m.TeamID,
		Value:     finite(m.Value),
		Threshold: finite(m.Threshold),
		Summary:   WebhookSummary{EN: m.SummaryEN, ZH: m.SummaryZH},
		Title:     r.Title,
		Text:      r.plainText(true),
		Language:  c.lang,
		FirstSeen: utc(&m.FirstSeen),
		FiredAt:   utc(&m.FiredAt),
		URL:       m.URL,
	}
	if m.ResolvedAt != nil {
		p.ResolvedAt = utc(m.ResolvedAt)
	}
	mm := m.Mentions
	if len(mm.Names)+len(mm.Emails)+len(mm.Mobiles)+len(mm.UserIDs) > 0 {
		p.Mentions = &WebhookMentions{
			Names:   orEmpty(dedupe(mm.Names, false)),
			Emails:  orEmpty(dedupe(mm.Emails, true)),
			Mobiles: orEmpty(dedupe(mm.Mobiles, false)),
			UserIDs: orEmpty(dedupe(mm.UserIDs, false)),
		}
	}
	return p
}

func (c *webhookChannel) Send(ctx context.Context, m Message) (Attempt, error) {
	if err := m.check(); err != nil {
		return Attempt{}, c.invalid(err)
	}
	body, err := marshal(c.payload(&m))
	if err != nil {
		return Attempt{}, c.invalid(err)
	}
	h := http.Header{}
	for k, v := range c.headers {
		h.Set(k, v)
	}
	h.Set("Idempotency-Key", m.ID)
	if c.secret != "" {
		ts := c.now().Unix()
		h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		h.Set(HeaderSignature, SignWebhook(c.secret, ts, body))
	}
	r, err := c.post(ctx, c.url, body, h)
	if err != nil {
		return Attempt{}, err
	}
	if r.status/100 != 2 {
		return r.attempt(), c.httpStatusError(r, 0, "")
	}
	return r.attempt(), nil
}

// finite drops NaN and infinities, which JSON cannot carry.
func finite(v *float64) *float64 {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return nil
	}
	x := *v
	return &x
}

func utc(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func orEmpty(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// ---- Slack incoming webhook -------------------------------------------------------

// Slack's limits on the blocks we use (characters).
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
)

type slackChannel struct{ httpBase }

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

var slackStyle = mdStyle{
	bold:    func(s string) string { return "*" + s + "*" },
	link:    func(label, u string) string { return "<" + u + "|" + label + ">" },
	escape:  slackEscape,
	item:    "• ",
	factSep: "\n",
	para:    "\n\n",
}

func (c *slackChannel) body(m *Message) ([]byte, error) {
	r := render(m, c.lang, c.loc)
	type text struct {
		Type  string `json:"type"`
		Text  string `json:"text"`
		Emoji bool   `json:"emoji,omitempty"`
	}
	type block struct {
		Type     string `json:"type"`
		Text     *text  `json:"text,omitempty"`
		Elements []text `json:"elements,omitempty"`
	}
	payload := struct {
		Text   string  `json:"text"`
		Blocks []block `json:"blocks"`
	}{
		// The fallback: notifications and clients without blocks show it.
		Text: slackEscape(r.Title + "\n" + r.Summary),
		Blocks: []block{
			{Type: "header", Text: &text{Type: "plain_text", Text: truncateRunes(r.Title, slackHeaderMax), Emoji: true}},
			{Type: "section", Text: &text{Type: "mrkdwn", Text: truncateRunes(r.markdown(slackStyle, ""), slackSectionMax)}},
			{Type: "context", Elements: []text{{Type: "mrkdwn", Text: truncateRunes("Pulse · "+slackEscape(m.ID), slackSectionMax)}}},
		},
	}
	return marshal(payload)
}

func (c *slackChannel) Send(ctx context.Context, m Message) (Attempt, error) {
	r, err := c.postMessage(ctx, c.url, &m, c.body)
	if err != nil {
		return Attempt{}, err
	}
	// Slack answers 200 "ok", or a 4xx/5xx with a short error such as
	// invalid_payload, no_text, channel_not_found, action_prohibited.
	if r.status/100 != 2 {
		return r.attempt(), c.httpStatusError(r, 0, "")
	}
	return r.attempt(), nil
}

// ---- Feishu / Lark custom bot ----------------------------------------------------------

// feishuMaxBody is the largest request a Feishu custom bot takes (20 KB).
const feishuMaxBody = 20 << 10

// feishuTemporary are the Feishu codes that go away by waiting: 11232 is
// the custom bot's rate limit (100 a minute, 5 a second), 9499 the
// gateway's "too many requests".
var feishuTemporary = map[int]bool{9499: true, 11232: true}

type feishuChannel struct{ httpBase }

var feishuStyle = mdStyle{
	bold: func(s string) string { return "**" + s + "**" },
	link: func(label, u string) string { return "[" + label + "](" + u + ")" },
	// < would open a tag (<at>, <font>) in card markdown.
	escape:  strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace,
	factSep: "\n",
	para:    "\n\n",
}

// FeishuSign is the "sign" of a Feishu custom bot request made at
// timestamp (unix seconds): base64 of the HMAC-SHA256 of an empty message
// keyed with timestamp + "\n" + secret.
func FeishuSign(secret string, timestamp int64) string {
	mac := hmac.New(sha256.New, []byte(strconv.FormatInt(timestamp, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (c *feishuChannel) body(m *Message) ([]byte, error) {
	r := render(m, c.lang, c.loc)
	template := "blue"
	switch {
	case r.Resolved:
		template = "green"
	case m.Severity == "critical":
		template = "red"
	case m.Severity == "warning":
		template = "orange"
	}
	var at string
	if ids := dedupe(m.Mentions.UserIDs, false); len(ids) > 0 {
		tags := make([]string, len(ids))
		for i, id := range ids {
			tags[i] = "<at id=" + id + "></at>"
		}
		at = strings.Join(tags, " ")
	}
	elements := []any{map[string]any{"tag": "markdown", "content": r.markdown(feishuStyle, at)}}
	if m.URL != "" {
		elements = append(elements, map[string]any{
			"tag": "action",
			"actions": []any{map[string]any{
				"tag":  "button",
				"text": map[string]any{"tag": "plain_text", "content": r.LinkLabel},
				"type": "primary",
				"url":  m.URL,
			}},
		})
	}
	payload := map[string]any{
		"msg_type": "interactive",
		"card": map[string]any{
			"config":   map[string]any{"wide_screen_mode": true},
			"header":   map[string]any{"title": map[string]any{"tag": "plain_text", "content": r.Title}, "template": template},
			"elements": elements,
		},
	}
	if c.secret != "" {
		ts := c.now().Unix()
		payload["timestamp"] = strconv.FormatInt(ts, 10)
		payload["sign"] = FeishuSign(c.secret, ts)
	}
	body, err := marshal(payload)
	if err == nil && len(body) > feishuMaxBody {
		// Too big for a card: send the summary, which the text repeats.
		delete(payload, "card")
		payload["msg_type"] = "text"
		payload["content"] = map[string]string{"text": truncate(r.Title+"\n"+r.plainText(false), feishuMaxBody/2)}
		body, err = marshal(payload)
	}
	return body, err
}

func (c *feishuChannel) Send(ctx context.Context, m Message) (Attempt, error) {
	r, err := c.postMessage(ctx, c.url, &m, c.body)
	if err != nil {
		return Attempt{}, err
	}
	// {"code":0,"msg":"success","data":{}}; older deployments answer
	// {"StatusCode":0,"StatusMessage":"success"}; errors keep HTTP 200
	// and set the code (19021 sign, 19024 keyword, 11232 rate limit).
	var a struct {
		Code          *int   `json:"code"`
		Msg           string `json:"msg"`
		StatusCode    *int   `json:"StatusCode"`
		StatusMessage string `json:"StatusMessage"`
	}
	parsed := json.Unmarshal(r.body, &a) == nil && (a.Code != nil || a.StatusCode != nil)
	code, msg := 0, ""
	switch {
	case a.Code != nil && *a.Code != 0:
		code, msg = *a.Code, a.Msg
	case a.StatusCode != nil && *a.StatusCode != 0:
		code, msg = *a.StatusCode, a.StatusMessage
	}
	return r.attempt(), c.apiResult(r, parsed, code, msg, feishuTemporary)
}

// apiResult is the verdict on an answer that carries an API code (Feishu,
// DingTalk, WeCom): success is a 2xx with code 0.
func (h *httpBase) apiResult(r *reply, parsed bool, code int, msg string, temporary map[int]bool) error {
	if r.status/100 != 2 {
		e := h.httpStatusError(r, code, msg)
		e.Temporary = e.Temporary || temporary[code]
		return e
	}
	if !parsed {
		return h.fail(r.status, 0, "unexpected answer (is the URL a "+h.kind+" webhook?): "+strings.TrimSpace(excerpt(r.body)), false, nil)
	}
	if code != 0 {
		if msg == "" {
			msg = strings.TrimSpace(excerpt(r.body))
		}
		return h.fail(r.status, code, msg, temporary[code], nil)
	}
	return nil
}

// ---- DingTalk custom robot ------------------------------------------------------------

// dingtalkTemporary are the DingTalk errcodes that go away by waiting:
// -1 system busy, 130101 and 410100 sending too fast (20 a minute).
var dingtalkTemporary = map[int]bool{-1: true, 130101: true, 410100: true}

// dingtalkMax bounds the markdown text (the robot takes about 20 000 bytes).
const dingtalkMax = 16 << 10

type dingtalkChannel struct{ httpBase }

var dingtalkStyle = mdStyle{
	bold:    func(s string) string { return "**" + s + "**" },
	link:    func(label, u string) string { return "[" + label + "](" + u + ")" },
	item:    "- ",
	factSep: "\n",
	para:    "\n\n",
}

// DingTalkSign is the "sign" of a DingTalk robot request made at timestamp
// (unix milliseconds), before URL encoding: base64 of the HMAC-SHA256,
// keyed with the secret, of timestamp + "\n" + secret.
func DingTalkSign(secret string, timestampMS int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMS, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (c *dingtalkChannel) body(m *Message) ([]byte, error) {
	r := render(m, c.lang, c.loc)
	mobiles := dedupe(m.Mentions.Mobiles, false)
	// DingTalk only notifies the mobiles of at.atMobiles that the text
	// also names as @<mobile>.
	var at string
	if len(mobiles) > 0 {
		parts := make([]string, 0, len(r.Names)+len(mobiles))
		if len(r.Names) > 0 {
			parts = append(parts, strings.Join(r.Names, ", "))
		}
		for _, mob := range mobiles {
			parts = append(parts, "@"+mob)
		}
		at = strings.Join(parts, " ")
	}
	text := "#### " + r.Title + "\n\n" + truncate(r.markdown(dingtalkStyle, at), dingtalkMax)
	payload := map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]string{"title": r.Title, "text": text},
		"at":       map[string]any{"atMobiles": orEmpty(mobiles), "isAtAll": false},
	}
	return marshal(payload)
}

// target is the URL with the signature parameters when there is a secret.
func (c *dingtalkChannel) target() string {
	if c.secret == "" {
		return c.url
	}
	ts := c.now().UnixMilli()
	sep := "?"
	if strings.Contains(c.url, "?") {
		sep = "&"
	}
	return c.url + sep + "timestamp=" + strconv.FormatInt(ts, 10) + "&sign=" + url.QueryEscape(DingTalkSign(c.secret, ts))
}

func (c *dingtalkChannel) Send(ctx context.Context, m Message) (Attempt, error) {
	r, err := c.postMessage(ctx, c.target(), &m, c.body)
	if err != nil {
		return Attempt{}, err
	}
	return r.attempt(), c.errcodeResult(r, dingtalkTemporary)
}

// errcodeResult reads the {"errcode":0,"errmsg":"ok"} answer of DingTalk and WeCom.
func (h *httpBase) errcodeResult(r *reply, temporary map[int]bool) error {
	var a struct {
		Errcode *int   `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}
	parsed := json.Unmarshal(r.body, &a) == nil && a.Errcode != nil
	code := 0
	if parsed {
		code = *a.Errcode
	}
	return h.apiResult(r, parsed, code, a.Errmsg, temporary)
}

// ---- WeCom (WeChat Work) group robot ------------------------------------------------

// wecomTemporary are the WeCom errcodes that go away by waiting: -1 system
// busy, 45009 the robot's rate limit (20 a minute), 45033 too many
// concurrent calls.
var wecomTemporary = map[int]bool{-1: true, 45009: true, 45033: true}

// WeCom's limits, in bytes.
const (
	wecomMarkdownMax = 4096
	wecomTextMax     = 2048
)

type wecomChannel struct{ httpBase }

var wecomStyle = mdStyle{
	bold:    func(s string) string { return "**" + s + "**" },
	link:    func(label, u string) string { return "[" + label + "](" + u + ")" },
	item:    "> ",
	factSep: "\n",
	para:    "\n",
}

func (c *wecomChannel) body(m *Message) ([]byte, error) {
	r := render(m, c.lang, c.loc)
	mobiles := dedupe(m.Mentions.Mobiles, false)
	if len(mobiles) > 0 {
		// Markdown messages cannot @ by mobile: a text message can.
		return marshal(map[string]any{
			"msgtype": "text",
			"text": map[string]any{
				"content":               truncate(r.plainText(true), wecomTextMax),
				"mentioned_mobile_list": mobiles,
			},
		})
	}
	color := "warning"
	switch {
	case r.Resolved:
		color = "info"
	case m.Severity == "info":
		color = "comment"
	}
	content := `**<font color="` + color + `">` + r.Title + "</font>**\n" + r.markdown(wecomStyle, "")
	return marshal(map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]string{"content": truncate(content, wecomMarkdownMax)},
	})
}

func (c *wecomChannel) Send(ctx context.Context, m Message) (Attempt, error) {
	r, err := c.postMessage(ctx, c.url, &m, c.body)
	if err != nil {
		return Attempt{}, err
	}
	return r.attempt(), c.errcodeResult(r, wecomTemporary)
}
