package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Signatures computed outside Go (openssl) for the fixed clock, so the
// tests do not check the code against itself:
//
//	printf '' | openssl dgst -sha256 -mac HMAC -macopt key:"$(printf '1767225600\nfeishu-secret')" -binary | base64
//	printf '1767225600000\nSECdingtalk-secret' | openssl dgst -sha256 -hmac 'SECdingtalk-secret' -binary | base64
//	printf '1767225600.{"a":1}' | openssl dgst -sha256 -hmac 'hook-secret'
const (
	feishuSecret   = "feishu-secret"
	feishuSignWant = "hm9QDKjC+ecxOxpTkx3o/E8TJDhB/Fq5pPz6i8mf5Lw="

	dingtalkSecret   = "SECdingtalk-secret"
	dingtalkSignWant = "9IPINJrqeE3ITptxn2EGYlMzhwi0Dc5vTW543H7bUwI="

	hookSecret      = "hook-secret"
	hookVectorWant  = "sha256=0c55904c004db4ff0b31a211ff8c5b24b98b1caeb306f4b30c57e483272879ef"
	fixedUnix       = "1767225600"
	fixedUnixMillis = "1767225600000"
)

func TestSignatureVectors(t *testing.T) {
	if got := FeishuSign(feishuSecret, 1767225600); got != feishuSignWant {
		t.Errorf("FeishuSign = %s, want %s", got, feishuSignWant)
	}
	if got := DingTalkSign(dingtalkSecret, 1767225600000); got != dingtalkSignWant {
		t.Errorf("DingTalkSign = %s, want %s", got, dingtalkSignWant)
	}
	if got := SignWebhook(hookSecret, 1767225600, []byte(`{"a":1}`)); got != hookVectorWant {
		t.Errorf("SignWebhook = %s, want %s", got, hookVectorWant)
	}
}

// at walks a decoded JSON value: keys for objects, ints for arrays.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			o, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: %T is not an object", path, v)
			}
			if v, ok = o[k]; !ok {
				t.Fatalf("at %v: no key %q in %v", path, k, o)
			}
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at %v: %v has no element %d", path, v, k)
			}
			v = a[k]
		}
	}
	return v
}

func str(t *testing.T, v any, path ...any) string {
	t.Helper()
	s, ok := at(t, v, path...).(string)
	if !ok {
		t.Fatalf("at %v: %v is not a string", path, at(t, v, path...))
	}
	return s
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, b)
	}
	return v
}

func contains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

func lacks(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			t.Errorf("%s contains %q:\n%s", what, sub, s)
		}
	}
}

// langCase is what the text must say in one language.
type langCase struct {
	lang, title, summary, other, link, value string
}

var langs = []langCase{
	{LangEN, "[FIRING · warning] Login gap: 张三", "Zhang San has not logged in for 4 days", "张三已连续", "Open in Pulse", "4 (threshold: 3)"},
	{LangZH, "【告警·警告】连续未登录：张三", "张三已连续 4 天未登录", "has not logged in", "在 Pulse 中查看", "4（阈值：3）"},
}

func TestChatKinds(t *testing.T) {
	type kindCase struct {
		kind   string
		secret string
		ok     string // the receiver's success answer
		check  func(t *testing.T, lc langCase, req received, m Message)
	}
	cases := []kindCase{
		{KindWebhook, hookSecret, `{"ok":true}`, func(t *testing.T, lc langCase, req received, m Message) {
			if got := req.Header.Get("Idempotency-Key"); got != m.ID {
				t.Errorf("Idempotency-Key = %q, want %q", got, m.ID)
			}
			if got := req.Header.Get("Authorization"); got != "Bearer tok" {
				t.Errorf("Authorization = %q, want the configured header", got)
			}
			ts := req.Header.Get("X-Pulse-Timestamp")
			if ts != fixedUnix {
				t.Errorf("X-Pulse-Timestamp = %q, want %s", ts, fixedUnix)
			}
			mac := hmac.New(sha256.New, []byte(hookSecret))
			mac.Write([]byte(ts + "." + string(req.Body)))
			if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); req.Header.Get("X-Pulse-Signature") != want {
				t.Errorf("X-Pulse-Signature = %q, want %q", req.Header.Get("X-Pulse-Signature"), want)
			}
			v := decode(t, req.Body)
			for k, want := range map[string]any{
				"version": "1", "id": m.ID, "kind": "firing", "rule": "login_gap", "severity": "warning",
				"key": m.Key, "episode": 1.0, "team_id": "T01", "value": 4.0, "threshold": 3.0,
				"first_seen": "2026-11-10T01:00:00Z", "fired_at": "2026-11-12T01:05:00Z", "resolved_at": nil,
				"url": m.URL, "language": lc.lang, "title": lc.title,
			} {
				if got := at(t, v, k); got != want {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
			if got := at(t, v, "subject"); !reflect.DeepEqual(got, map[string]any{"type": "employee", "id": "E031", "name": "张三"}) {
				t.Errorf("subject = %v", got)
			}
			if got := at(t, v, "summary"); !reflect.DeepEqual(got, map[string]any{"en": m.SummaryEN, "zh-CN": m.SummaryZH}) {
				t.Errorf("summary = %v", got)
			}
			if got := at(t, v, "mentions", "emails"); !reflect.DeepEqual(got, []any{"wang.wu@example.com"}) {
				t.Errorf("mentions.emails = %v", got)
			}
			text := str(t, v, "text")
			contains(t, "text", text, lc.title, lc.summary, lc.value, lc.link, m.URL, "Wang Wu")
			lacks(t, "text", text, lc.other)
		}},
		{KindSlack, "", "ok", func(t *testing.T, lc langCase, req received, m Message) {
			v := decode(t, req.Body)
			contains(t, "text", str(t, v, "text"), lc.title)
			if got := str(t, v, "blocks", 0, "type"); got != "header" {
				t.Errorf("blocks[0].type = %q", got)
			}
			if got := str(t, v, "blocks", 0, "text", "text"); got != lc.title {
				t.Errorf("header = %q, want %q", got, lc.title)
			}
			if got := str(t, v, "blocks", 1, "text", "type"); got != "mrkdwn" {
				t.Errorf("section text type = %q", got)
			}
			sec := str(t, v, "blocks", 1, "text", "text")
			contains(t, "section", sec, lc.summary, lc.value, "<"+m.URL+"|"+lc.link+">", "Wang Wu")
			lacks(t, "section", sec, lc.other)
		}},
		{KindFeishu, feishuSecret, `{"code":0,"msg":"success","data":{}}`, func(t *testing.T, lc langCase, req received, m Message) {
			v := decode(t, req.Body)
			if got := str(t, v, "timestamp"); got != fixedUnix {
				t.Errorf("timestamp = %q, want %s", got, fixedUnix)
			}
			if got := str(t, v, "sign"); got != feishuSignWant {
				t.Errorf("sign = %q, want %q", got, feishuSignWant)
			}
			if got := str(t, v, "msg_type"); got != "interactive" {
				t.Errorf("msg_type = %q", got)
			}
			if got := str(t, v, "card", "header", "title", "content"); got != lc.title {
				t.Errorf("card title = %q, want %q", got, lc.title)
			}
			if got := str(t, v, "card", "header", "template"); got != "orange" {
				t.Errorf("template = %q, want orange for a warning", got)
			}
			if got := str(t, v, "card", "elements", 0, "tag"); got != "markdown" {
				t.Errorf("elements[0].tag = %q", got)
			}
			md := str(t, v, "card", "elements", 0, "content")
			contains(t, "card markdown", md, lc.summary, lc.value, "<at id=ou_abc123></at>", "["+lc.link+"]("+m.URL+")")
			lacks(t, "card markdown", md, lc.other)
			if got := str(t, v, "card", "elements", 1, "actions", 0, "url"); got != m.URL {
				t.Errorf("button url = %q", got)
			}
		}},
		{KindDingTalk, dingtalkSecret, `{"errcode":0,"errmsg":"ok"}`, func(t *testing.T, lc langCase, req received, m Message) {
			q, err := url.ParseQuery(req.RawQuery)
			if err != nil {
				t.Fatal(err)
			}
			if q.Get("access_token") != "tok123" {
				t.Errorf("access_token lost: %q", req.RawQuery)
			}
			if q.Get("timestamp") != fixedUnixMillis {
				t.Errorf("timestamp = %q, want %s", q.Get("timestamp"), fixedUnixMillis)
			}
			if q.Get("sign") != dingtalkSignWant {
				t.Errorf("sign = %q, want %q", q.Get("sign"), dingtalkSignWant)
			}
			if !strings.Contains(req.RawQuery, "sign="+url.QueryEscape(dingtalkSignWant)) {
				t.Errorf("sign is not URL-encoded in %q", req.RawQuery)
			}
			v := decode(t, req.Body)
			if got := str(t, v, "msgtype"); got != "markdown" {
				t.Errorf("msgtype = %q", got)
			}
			if got := str(t, v, "markdown", "title"); got != lc.title {
				t.Errorf("markdown.title = %q, want %q", got, lc.title)
			}
			text := str(t, v, "markdown", "text")
			contains(t, "markdown.text", text, lc.title, lc.summary, lc.value, "@13800001111", "["+lc.link+"]("+m.URL+")")
			lacks(t, "markdown.text", text, lc.other)
			if got := at(t, v, "at", "atMobiles"); !reflect.DeepEqual(got, []any{"13800001111"}) {
				t.Errorf("at.atMobiles = %v", got)
			}
			if got := at(t, v, "at", "isAtAll"); got != false {
				t.Errorf("at.isAtAll = %v", got)
			}
		}},
		{KindWeCom, "", `{"errcode":0,"errmsg":"ok"}`, func(t *testing.T, lc langCase, req received, m Message) {
			v := decode(t, req.Body)
			// With mobiles to @, a text message (markdown cannot @ by mobile).
			if got := str(t, v, "msgtype"); got != "text" {
				t.Errorf("msgtype = %q, want text", got)
			}
			content := str(t, v, "text", "content")
			contains(t, "text.content", content, lc.title, lc.summary, lc.value, m.URL)
			lacks(t, "text.content", content, lc.other)
			if got := at(t, v, "text", "mentioned_mobile_list"); !reflect.DeepEqual(got, []any{"13800001111"}) {
				t.Errorf("mentioned_mobile_list = %v", got)
			}
		}},
	}
	for _, kc := range cases {
		for _, lc := range langs {
			t.Run(kc.kind+"/"+lc.lang, func(t *testing.T) {
				rc := newReceiver(t, 200, kc.ok)
				cfg := ChannelConfig{Name: "ops", Kind: kc.kind, URL: rc.URL + "/hook", Secret: kc.secret, Language: lc.lang}
				if kc.kind == KindWebhook {
					cfg.Headers = map[string]string{"Authorization": "Bearer tok"}
				}
				if kc.kind == KindDingTalk {
					cfg.URL = rc.URL + "/robot/send?access_token=tok123"
				}
				ch, err := NewChannel(cfg, nil, fixedNow)
				if err != nil {
					t.Fatal(err)
				}
				if ch.Name() != "ops" || ch.Kind() != kc.kind {
					t.Errorf("Name, Kind = %q, %q", ch.Name(), ch.Kind())
				}
				m := testMessage()
				a, err := ch.Send(context.Background(), m)
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if a.Code != 200 || a.Response != kc.ok {
					t.Errorf("Attempt = %+v, want 200 %q", a, kc.ok)
				}
				req := rc.only(t)
				if req.Method != "POST" {
					t.Errorf("method = %s", req.Method)
				}
				if ct := req.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q", ct)
				}
				kc.check(t, lc, req, m)
			})
		}
	}
}

// TestChatResolved checks the resolved text of each kind.
func TestChatResolved(t *testing.T) {
	answers := map[string]string{KindWebhook: "", KindSlack: "ok", KindFeishu: `{"code":0}`, KindDingTalk: `{"errcode":0}`, KindWeCom: `{"errcode":0}`}
	for kind, ok := range answers {
		for _, lang := range []string{LangEN, LangZH} {
			t.Run(kind+"/"+lang, func(t *testing.T) {
				rc := newReceiver(t, 200, ok)
				ch, err := NewChannel(ChannelConfig{Name: "ops", Kind: kind, URL: rc.URL, Language: lang}, nil, fixedNow)
				if err != nil {
					t.Fatal(err)
				}
				m := resolvedMessage()
				m.Mentions = Mentions{}
				if _, err := ch.Send(context.Background(), m); err != nil {
					t.Fatal(err)
				}
				b := rc.only(t).Body
				s := string(unescapeJSON(t, b))
				if lang == LangEN {
					contains(t, "body", s, "[RESOLVED] Login gap: 张三", "Resolved: Zhang San has not logged in", "Resolved at", "2026-11-13 02:30 UTC")
				} else {
					contains(t, "body", s, "【已恢复】连续未登录：张三", "已恢复：张三已连续 4 天未登录", "恢复时间", "2026-11-13 02:30 UTC")
				}
				switch kind {
				case KindFeishu:
					if got := str(t, decode(t, b), "card", "header", "template"); got != "green" {
						t.Errorf("template = %q, want green", got)
					}
				case KindWeCom:
					if got := str(t, decode(t, b), "msgtype"); got != "markdown" {
						t.Errorf("msgtype = %q, want markdown without mobiles", got)
					}
					contains(t, "content", str(t, decode(t, b), "markdown", "content"), `<font color="info">`)
				case KindWebhook:
					if got := str(t, decode(t, b), "resolved_at"); got != "2026-11-13T02:30:00Z" {
						t.Errorf("resolved_at = %q", got)
					}
				}
			})
		}
	}
}

// unescapeJSON re-encodes every string of a JSON document raw, so a test
// can search the text without JSON escapes.
func unescapeJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out.WriteString(x + "\n")
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return []byte(out.String())
}

func TestVendorErrors(t *testing.T) {
	cases := []struct {
		name      string
		kind      string
		status    int
		body      string
		header    map[string]string
		permanent bool
		says      []string // the error must say these
		retry     time.Duration
	}{
		{"feishu sign", KindFeishu, 200, `{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}`, nil,
			true, []string{"HTTP 200", "code 19021", "sign match fail"}, 0},
		{"feishu keyword", KindFeishu, 200, `{"code":19024,"data":{},"msg":"Key Words Not Found"}`, nil,
			true, []string{"code 19024", "Key Words Not Found"}, 0},
		{"feishu rate limit", KindFeishu, 200, `{"code":11232,"data":{},"msg":"frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"}`, nil,
			false, []string{"code 11232", "frequency limited"}, 0},
		{"feishu too many", KindFeishu, 200, `{"code":9499,"data":{},"msg":"too many request"}`, nil,
			false, []string{"code 9499", "too many request"}, 0},
		{"feishu old style error", KindFeishu, 200, `{"StatusCode":19001,"StatusMessage":"param invalid: incoming webhook access token invalid"}`, nil,
			true, []string{"code 19001", "access token invalid"}, 0},
		{"feishu not feishu", KindFeishu, 200, `<html>hello</html>`, nil,
			true, []string{"unexpected answer", "<html>"}, 0},
		{"feishu 500", KindFeishu, 500, `upstream error`, nil,
			false, []string{"HTTP 500", "upstream error"}, 0},
		{"dingtalk keywords", KindDingTalk, 200, `{"errcode":310000,"errmsg":"keywords not in content, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}`, nil,
			true, []string{"code 310000", "keywords not in content"}, 0},
		{"dingtalk too fast", KindDingTalk, 200, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`, nil,
			false, []string{"code 130101", "send too fast"}, 0},
		{"dingtalk token", KindDingTalk, 200, `{"errcode":300001,"errmsg":"token is not exist"}`, nil,
			true, []string{"code 300001", "token is not exist"}, 0},
		{"wecom rate limit", KindWeCom, 200, `{"errcode":45009,"errmsg":"api freq out of limit"}`, nil,
			false, []string{"code 45009", "api freq out of limit"}, 0},
		{"wecom bad key", KindWeCom, 200, `{"errcode":93000,"errmsg":"invalid webhook url"}`, nil,
			true, []string{"code 93000", "invalid webhook url"}, 0},
		{"slack invalid_payload", KindSlack, 400, `invalid_payload`, nil,
			true, []string{"HTTP 400", "invalid_payload"}, 0},
		{"slack no_text", KindSlack, 400, `no_text`, nil,
			true, []string{"HTTP 400", "no_text"}, 0},
		{"slack channel_not_found", KindSlack, 404, `channel_not_found`, nil,
			true, []string{"HTTP 404", "channel_not_found"}, 0},
		{"slack archived", KindSlack, 410, `channel_is_archived`, nil,
			true, []string{"HTTP 410", "channel_is_archived"}, 0},
		{"slack rate limited", KindSlack, 429, `rate_limited`, map[string]string{"Retry-After": "30"},
			false, []string{"HTTP 429", "rate_limited", "retry after 30s"}, 30 * time.Second},
		{"slack rollup_error", KindSlack, 500, `rollup_error`, nil,
			false, []string{"HTTP 500", "rollup_error"}, 0},
		{"webhook 500", KindWebhook, 500, `boom`, nil, false, []string{"HTTP 500", "boom"}, 0},
		{"webhook 503", KindWebhook, 503, ``, map[string]string{"Retry-After": "120"}, false, []string{"HTTP 503", "Service Unavailable"}, 2 * time.Minute},
		{"webhook 429", KindWebhook, 429, `slow down`, nil, false, []string{"HTTP 429", "slow down"}, 0},
		{"webhook 400", KindWebhook, 400, `{"error":"bad field"}`, nil, true, []string{"HTTP 400", "bad field"}, 0},
		{"webhook 401", KindWebhook, 401, `unauthorized`, nil, true, []string{"HTTP 401", "unauthorized"}, 0},
		{"webhook redirect", KindWebhook, 302, ``, map[string]string{"Location": "https://elsewhere.example.com/"}, true, []string{"HTTP 302", "redirected"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, tc.status, tc.body)
			rc.header = tc.header
			ch, err := NewChannel(ChannelConfig{Name: "ops", Kind: tc.kind, URL: rc.URL}, nil, fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			a, err := ch.Send(context.Background(), testMessage())
			if err == nil {
				t.Fatalf("Send succeeded on %d %s", tc.status, tc.body)
			}
			if got := Permanent(err); got != tc.permanent {
				t.Errorf("Permanent(%v) = %v, want %v", err, got, tc.permanent)
			}
			contains(t, "error", err.Error(), append([]string{tc.kind + ` "ops"`}, tc.says...)...)
			if a.Code != tc.status {
				t.Errorf("Attempt.Code = %d, want %d", a.Code, tc.status)
			}
			if want := excerpt([]byte(tc.body)); a.Response != want {
				t.Errorf("Attempt.Response = %q, want %q", a.Response, want)
			}
			if d, _ := RetryAfter(err); d != tc.retry {
				t.Errorf("RetryAfter = %s, want %s", d, tc.retry)
			}
		})
	}
}

func TestFeishuOldStyleSuccess(t *testing.T) {
	rc := newReceiver(t, 200, `{"Extra":null,"StatusCode":0,"StatusMessage":"success"}`)
	ch, err := NewChannel(ChannelConfig{Name: "ops", Kind: KindFeishu, URL: rc.URL}, nil, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	// Without a secret: no timestamp, no sign.
	v := decode(t, rc.only(t).Body)
	if _, ok := v["sign"]; ok {
		t.Error("unsigned channel sent a sign")
	}
}

func TestNetworkErrors(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		rc := newReceiver(t, 200, "ok")
		rc.delay = 2 * time.Second
		ch, err := NewChannel(ChannelConfig{Name: "ops", Kind: KindWebhook, URL: rc.URL, Timeout: 50 * time.Millisecond}, nil, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = ch.Send(context.Background(), testMessage())
		if err == nil {
			t.Fatal("no error from a receiver that does not answer")
		}
		if time.Since(start) > time.Second {
			t.Errorf("Send took %s, the timeout is 50ms", time.Since(start))
		}
		if Permanent(err) {
			t.Errorf("a timeout is permanent: %v", err)
		}
		contains(t, "error", err.Error(), "no answer within 50ms")
	})
	t.Run("refused, URL secrets kept out of the error", func(t *testing.T) {
		rc := newReceiver(t, 200, "ok")
		dead := rc.URL
		rc.Close()
		ch, err := NewChannel(ChannelConfig{Name: "ops", Kind: KindDingTalk, URL: dead + "/robot/send?access_token=SECRETTOKEN", Secret: dingtalkSecret}, nil, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ch.Send(context.Background(), testMessage())
		if err == nil {
			t.Fatal("no error from a closed port")
		}
		if Permanent(err) {
			t.Errorf("connection refused is permanent: %v", err)
		}
		if a.Code != 0 {
			t.Errorf("Attempt.Code = %d without an answer", a.Code)
		}
		lacks(t, "error", err.Error(), "SECRETTOKEN", "/robot/send", "sign=")
		contains(t, "error", err.Error(), `dingtalk "ops"`, "Post", strings.TrimPrefix(dead, "http://"))
	})
	t.Run("cancelled", func(t *testing.T) {
		rc := newReceiver(t, 200, "ok")
		ch, _ := NewChannel(ChannelConfig{Name: "ops", Kind: KindSlack, URL: rc.URL}, nil, fixedNow)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := ch.Send(ctx, testMessage())
		if err == nil || Permanent(err) {
			t.Errorf("cancelled Send: err %v, permanent %v", err, Permanent(err))
		}
	})
}

func TestInvalidMessage(t *testing.T) {
	rc := newReceiver(t, 200, "ok")
	ch, _ := NewChannel(ChannelConfig{Name: "ops", Kind: KindSlack, URL: rc.URL}, nil, fixedNow)
	m := testMessage()
	m.Kind = "pending"
	_, err := ch.Send(context.Background(), m)
	if err == nil || !Permanent(err) {
		t.Fatalf("bad kind: err %v, permanent %v", err, Permanent(err))
	}
	if len(rc.requests()) != 0 {
		t.Error("an invalid message was sent")
	}
}

// TestWebhookNonFinite: NaN cannot be JSON; the value goes out as null.
func TestWebhookNonFinite(t *testing.T) {
	rc := newReceiver(t, 204, "")
	ch, _ := NewChannel(ChannelConfig{Name: "ops", Kind: KindWebhook, URL: rc.URL}, nil, fixedNow)
	m := testMessage()
	nan := 0.0
	nan = nan / nan
	m.Value = &nan
	m.Mentions = Mentions{}
	a, err := ch.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if a.Code != 204 {
		t.Errorf("Attempt.Code = %d", a.Code)
	}
	req := rc.only(t)
	v := decode(t, req.Body)
	if v["value"] != nil {
		t.Errorf("value = %v, want null", v["value"])
	}
	if _, ok := v["mentions"]; ok {
		t.Error("mentions present without mentions")
	}
	if req.Header.Get("X-Pulse-Signature") != "" {
		t.Error("unsigned channel sent a signature")
	}
}

func TestWeComMarkdownWithoutMobiles(t *testing.T) {
	rc := newReceiver(t, 200, `{"errcode":0,"errmsg":"ok"}`)
	ch, _ := NewChannel(ChannelConfig{Name: "ops", Kind: KindWeCom, URL: rc.URL, Language: "zh-CN"}, nil, fixedNow)
	m := testMessage()
	m.Mentions.Mobiles = nil
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	v := decode(t, rc.only(t).Body)
	if got := str(t, v, "msgtype"); got != "markdown" {
		t.Fatalf("msgtype = %q", got)
	}
	contains(t, "content", str(t, v, "markdown", "content"),
		`<font color="warning">【告警·警告】连续未登录：张三</font>`, "张三已连续 4 天未登录", "> **当前值**：4（阈值：3）", "[在 Pulse 中查看](https://pulse.example.com/alerts/42)", "请关注：Wang Wu")
}

func TestSlackEscapes(t *testing.T) {
	rc := newReceiver(t, 200, "ok")
	ch, _ := NewChannel(ChannelConfig{Name: "ops", Kind: KindSlack, URL: rc.URL}, nil, fixedNow)
	m := testMessage()
	m.SummaryEN = "revenue <50% & falling"
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	v := decode(t, rc.only(t).Body)
	contains(t, "section", str(t, v, "blocks", 1, "text", "text"), "revenue &lt;50% &amp; falling")
}
