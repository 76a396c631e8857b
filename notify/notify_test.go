package notify

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fixedNow is the clock of the tests: 2026-01-01T00:00:00Z.
func fixedNow() time.Time { return time.Unix(1767225600, 0).UTC() }

// testMessage is a firing login_gap alert with every field set.
func testMessage() Message {
	v, th := 4.0, 3.0
	return Message{
		ID:          "login_gap/employee:E031/2026-11-12#1/firing",
		Kind:        KindFiring,
		Rule:        "login_gap",
		Severity:    "warning",
		Key:         "login_gap/employee:E031/2026-11-12",
		Episode:     1,
		SubjectType: "employee",
		SubjectID:   "E031",
		SubjectName: "张三",
		TeamID:      "T01",
		Value:       &v,
		Threshold:   &th,
		SummaryEN:   "Zhang San has not logged in for 4 days",
		SummaryZH:   "张三已连续 4 天未登录",
		FirstSeen:   time.Date(2026, 11, 10, 1, 0, 0, 0, time.UTC),
		FiredAt:     time.Date(2026, 11, 12, 1, 5, 0, 0, time.UTC),
		URL:         "https://pulse.example.com/alerts/42",
		Mentions: Mentions{
			Names:   []string{"Wang Wu"},
			Emails:  []string{"wang.wu@example.com"},
			Mobiles: []string{"13800001111"},
			UserIDs: []string{"ou_abc123"},
		},
	}
}

// resolvedMessage is testMessage resolved.
func resolvedMessage() Message {
	m := testMessage()
	m.Kind = KindResolved
	m.ID = m.Key + "#1/resolved"
	at := time.Date(2026, 11, 13, 2, 30, 0, 0, time.UTC)
	m.ResolvedAt = &at
	return m
}

// received is one request a receiver got.
type received struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// receiver is a local chat tool: it records requests and answers with a
// fixed status, headers and body.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	status int
	body   string
	header map[string]string
	delay  time.Duration
}

func newReceiver(t *testing.T, status int, body string) *receiver {
	t.Helper()
	rc := &receiver{status: status, body: body}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), b})
		delay := rc.delay
		rc.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range rc.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rc.status)
		io.WriteString(w, rc.body)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// only is the one request the receiver must have got.
func (rc *receiver) only(t *testing.T) received {
	t.Helper()
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	return got[0]
}
