package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/ingest"
	"github.com/pulsekpi/pulse/notify"
	"github.com/pulsekpi/pulse/warehouse"
)

// receiver is a local webhook endpoint that fails while down is set.
type receiver struct {
	mu     sync.Mutex
	down   bool
	status int // answer while down
	got    []map[string]any
	tries  int
	// onAccept, if set, runs before a 200 is answered.
	onAccept func()
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries++
	if r.down {
		w.WriteHeader(r.status)
		fmt.Fprint(w, "unavailable")
		return
	}
	var m map[string]any
	json.Unmarshal(body, &m)
	r.got = append(r.got, m)
	if r.onAccept != nil {
		r.onAccept()
	}
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.got {
		out = append(out, fmt.Sprint(m["id"]))
	}
	return out
}

func (r *receiver) set(down bool, status int) {
	r.mu.Lock()
	r.down, r.status = down, status
	r.mu.Unlock()
}

var ruleFS = fstest.MapFS{"alerts/demo.sql": {Data: []byte("SELECT 1")}}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type rig struct {
	t     *testing.T
	dir   string
	w     *warehouse.Warehouse
	ev    *alert.Evaluator
	n     *notify.Notifier
	recv  *receiver
	url   string
	clk   *clock
	run   int64
	store *alert.Store
}

func newRig(t *testing.T) *rig {
	t.Helper()
	recv := &receiver{}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	r := &rig{t: t, dir: t.TempDir(), recv: recv, url: srv.URL,
		clk: &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}}
	r.open()
	t.Cleanup(func() { r.w.Close() })
	return r
}

// open opens the warehouse and builds the evaluator and notifier, as a
// (re)started process does.
func (r *rig) open() {
	t := r.t
	t.Helper()
	w, err := warehouse.Open(context.Background(), warehouse.Options{Dir: r.dir})
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	ch, err := notify.NewChannel(notify.ChannelConfig{Name: "hook", Kind: "webhook", URL: r.url, Timeout: 2 * time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dests := []notify.Destination{{Channel: ch, SendResolved: true}}
	router, err := notify.NewRouter([]notify.Route{{Channels: []string{"hook"}}}, dests, []string{"demo"})
	if err != nil {
		t.Fatal(err)
	}
	r.n, err = notify.New(w.DB(), notify.Options{Destinations: dests, Now: r.clk.now,
		BackoffMin: time.Second, BackoffMax: 8 * time.Second, GiveUpAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r.ev, err = alert.New(w.DB(), alert.Options{Models: ruleFS, Rules: map[string]alert.Rule{}, Router: router})
	if err != nil {
		t.Fatal(err)
	}
	r.store = alert.NewStore(w.DB(), alert.StoreOptions{Rules: func() []string { return []string{"demo"} }, Now: r.clk.now})
}

func (r *rig) restart() {
	r.t.Helper()
	if err := r.w.Close(); err != nil {
		r.t.Fatal(err)
	}
	r.open()
}

// firing makes the rule fire for the subjects and evaluates.
func (r *rig) firing(subjects ...string) {
	t := r.t
	t.Helper()
	if _, err := r.w.DB().Exec(`CREATE OR REPLACE TABLE alerts.demo (subject_type VARCHAR, subject_id VARCHAR, subject_name VARCHAR,
		alert_window VARCHAR, employee_id VARCHAR, team_id VARCHAR, value DOUBLE, threshold DOUBLE, summary_en VARCHAR, summary_zh VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	for _, s := range subjects {
		if _, err := r.w.DB().Exec(`INSERT INTO alerts.demo VALUES ('employee', ?, ?, '', ?, 't1', 1, 3, ?, ?)`,
			s, "Name "+s, s, s+" is in trouble.", s+" 有问题。"); err != nil {
			t.Fatal(err)
		}
	}
	r.run++
	if _, err := r.ev.Evaluate(context.Background(), r.run, r.clk.now(), map[string]bool{"demo": true}); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) flush() notify.Pass {
	r.t.Helper()
	p, err := r.n.Flush(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *rig) statuses() string {
	r.t.Helper()
	rows, err := r.w.DB().Query(`SELECT kind || ' ' || alert_key || ' ' || status || ' ' || attempts FROM ops.alert_notifications ORDER BY notification_id`)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

func TestReceiverFailingThenRecoveringGetsTheAlertOnce(t *testing.T) {
	r := newRig(t)
	r.recv.set(true, http.StatusServiceUnavailable)
	r.firing("a")
	// fails: retried after 1s (±20%), 2s, 4s…
	if p := r.flush(); p.Retried != 1 {
		t.Fatalf("first pass %+v", p)
	}
	r.firing("a") // evaluated again: nothing new queued
	if p := r.flush(); p.Retried+p.Sent != 0 {
		t.Fatalf("before the backoff passed: %+v", p)
	}
	r.clk.add(2 * time.Second)
	if p := r.flush(); p.Retried != 1 {
		t.Fatalf("second attempt %+v", p)
	}
	r.recv.set(false, 0)
	r.clk.add(5 * time.Second)
	if p := r.flush(); p.Sent != 1 {
		t.Fatalf("after recovery %+v", p)
	}
	for range 3 {
		r.clk.add(time.Minute)
		r.firing("a")
		r.flush()
	}
	if got := r.recv.received(); len(got) != 1 || got[0] != "demo/employee:a#1/firing" {
		t.Fatalf("received %v, want the firing once", got)
	}
	if got, want := r.statuses(), "firing demo/employee:a sent 3"; got != want {
		t.Fatalf("notifications %q, want %q", got, want)
	}
	var attempts, ok int
	if err := r.w.DB().QueryRow(`SELECT count(*), count(*) FILTER (ok) FROM ops.alert_deliveries`).Scan(&attempts, &ok); err != nil || attempts != 3 || ok != 1 {
		t.Fatalf("delivery log: %d attempts, %d ok, %v", attempts, ok, err)
	}
	// the resolution is delivered once too
	r.firing()
	r.flush()
	r.flush()
	if got := r.recv.received(); len(got) != 2 || got[1] != "demo/employee:a#1/resolved" {
		t.Fatalf("received %v", got)
	}
	ns, err := r.store.Notifications(context.Background(), "demo/employee:a", 10)
	if err != nil || len(ns) != 2 || len(ns[1].Attempts) != 3 || ns[1].Attempts[0].OK || *ns[1].Attempts[0].Code != 503 {
		t.Fatalf("notifications %+v, %v", ns, err)
	}
}

func TestRestartBetweenFiringAndDeliverySendsOnce(t *testing.T) {
	r := newRig(t)
	r.firing("a", "b")
	r.restart() // nothing was delivered yet
	r.firing("a", "b")
	r.flush()
	r.restart()
	r.firing("a", "b")
	r.flush()
	got := r.recv.received()
	if len(got) != 2 || got[0] != "demo/employee:a#1/firing" || got[1] != "demo/employee:b#1/firing" {
		t.Fatalf("received %v, want a and b once each", got)
	}
}

func TestPermanentErrorsStopAndResolvedBeforeDeliveryIsDropped(t *testing.T) {
	r := newRig(t)
	r.recv.set(true, http.StatusBadRequest)
	r.firing("a")
	if p := r.flush(); p.Failed != 1 {
		t.Fatalf("pass %+v: a 400 is permanent", p)
	}
	r.recv.set(true, http.StatusBadGateway)
	r.firing("a", "b")
	r.flush() // b fails, to be retried
	r.firing()
	r.recv.set(false, 0)
	r.clk.add(time.Minute)
	p := r.flush()
	// a's and b's resolutions are dropped (their firing never got through),
	// b's firing is dropped (resolved before it could be delivered)
	if p.Dropped != 3 || p.Sent != 0 {
		t.Fatalf("pass %+v", p)
	}
	if got := r.recv.received(); len(got) != 0 {
		t.Fatalf("received %v", got)
	}
	if got, want := r.statuses(), "firing demo/employee:a failed 1, firing demo/employee:b dropped 1, resolved demo/employee:a dropped 0, resolved demo/employee:b dropped 0"; got != want {
		t.Fatalf("notifications\n got %q\nwant %q", got, want)
	}
}

func TestSilencedAlertsAreRecordedNotDeliveredUntilTheSilenceEnds(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	sil, err := r.store.Silence(ctx, alert.Silence{Rule: "demo", Subject: "a", EndsAt: r.clk.now().Add(time.Hour),
		CreatedBy: "li.wei", Comment: "on leave"})
	if err != nil {
		t.Fatal(err)
	}
	r.firing("a", "b")
	if p := r.flush(); p.Held != 1 || p.Sent != 1 {
		t.Fatalf("pass %+v: want b sent and a held", p)
	}
	as, err := r.store.Alerts(ctx, alert.Filter{States: []string{"firing"}})
	if err != nil || len(as) != 2 {
		t.Fatalf("alerts %+v %v: silenced alerts are still recorded", as, err)
	}
	for _, a := range as {
		if (a.Subject == "a") != (a.SilencedBy != nil && *a.SilencedBy == sil.ID) {
			t.Errorf("alert %s silenced_by %v", a.Key, a.SilencedBy)
		}
	}
	r.clk.add(30 * time.Minute)
	r.firing("a", "b")
	if p := r.flush(); p.Held+p.Sent != 0 {
		t.Fatalf("pass %+v during the silence", p)
	}
	r.clk.add(31 * time.Minute) // the silence expired
	if p := r.flush(); p.Sent != 1 {
		t.Fatalf("pass %+v after the silence", p)
	}
	got := r.recv.received()
	if len(got) != 2 || got[1] != "demo/employee:a#1/firing" {
		t.Fatalf("received %v", got)
	}

	// ending a silence early makes held notifications due at once
	sil, err = r.store.Silence(ctx, alert.Silence{Subject: "c", EndsAt: r.clk.now().Add(24 * time.Hour), CreatedBy: "li.wei", Comment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	r.firing("a", "b", "c")
	if p := r.flush(); p.Held != 1 {
		t.Fatalf("pass %+v", p)
	}
	if _, err := r.store.Unsilence(ctx, sil.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if p := r.flush(); p.Sent != 1 {
		t.Fatalf("pass %+v after ending the silence", p)
	}
	list, err := r.store.Silences(ctx, true)
	if err != nil || len(list) != 2 || list[0].Active || list[0].EndedBy != "admin" {
		t.Fatalf("silences %+v %v", list, err)
	}
	if active, _ := r.store.Silences(ctx, false); len(active) != 0 {
		t.Fatalf("active silences %+v", active)
	}
}

func TestBadSilencesAreRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	end := r.clk.now().Add(time.Hour)
	for _, c := range []struct {
		in   alert.Silence
		want string
	}{
		{alert.Silence{EndsAt: end, CreatedBy: "x", Comment: "y"}, "name a rule, a subject or both"},
		{alert.Silence{Rule: "nosuch", EndsAt: end, CreatedBy: "x", Comment: "y"}, `rule "nosuch": no such rule`},
		{alert.Silence{Rule: "demo", CreatedBy: "x", Comment: "y"}, "ends_at (or duration) is required"},
		{alert.Silence{Rule: "demo", EndsAt: r.clk.now().Add(-time.Minute), CreatedBy: "x", Comment: "y"}, "must be after starts_at and in the future"},
		{alert.Silence{Rule: "demo", EndsAt: end, Comment: "y"}, "created_by"},
		{alert.Silence{Rule: "demo", EndsAt: end, CreatedBy: "x"}, "comment: why"},
		{alert.Silence{Rule: "demo", SubjectType: "planet", Subject: "x", EndsAt: end, CreatedBy: "x", Comment: "y"}, "subject_type \"planet\""},
	} {
		if _, err := r.store.Silence(ctx, c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want …%s…", c.in, err, c.want)
		}
	}
	if _, err := r.store.Unsilence(ctx, 99, "x"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("ending an unknown silence: %v", err)
	}
}

// The subject's manager is added when the route asks: their contact from
// the config, else the email and mobile their employee.upserted events
// carry as extra fields.
func TestRoutesAddTheManager(t *testing.T) {
	recv := &receiver{}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	ctx := context.Background()
	w, err := warehouse.Open(ctx, warehouse.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	res, err := ingest.Load(ctx, w, "crm.events", [][]byte{
		[]byte(`{"event_id":"m2","event_type":"employee.upserted","occurred_at":"2026-11-01T00:00:00Z",
			"data":{"employee_id":"m2","name":"Zhao Lei","role":"manager","team_id":"t2","active":true,"email":"zhao.lei@example.com","mobile":"13800000002"}}`),
	})
	if err != nil || res.Total.Stored != 1 {
		t.Fatalf("loading: %+v %v", res, err)
	}
	for _, q := range []string{
		`CREATE TABLE staging.employees AS SELECT * FROM (VALUES
			('e1', 'Li Wei', 't1', 'm1', true), ('e2', 'Wang Fang', 't2', 'm2', true), ('e3', 'Sun Yu', 't2', 'm2', true),
			('m1', 'Chen Jing', 't0', NULL, true), ('m2', 'Zhao Lei', 't0', NULL, true))
			AS t(employee_id, name, team_id, manager_id, active)`,
		`CREATE TABLE alerts.demo AS SELECT * FROM (VALUES
			('employee', 'e1', 'Li Wei', '', 'e1', 't1'), ('employee', 'e2', 'Wang Fang', '', 'e2', 't2'),
			('team', 't2', 'North', '', NULL, 't2'), ('company', 'company', 'Company', '', NULL, NULL))
			AS t(subject_type, subject_id, subject_name, alert_window, employee_id, team_id)`,
		`ALTER TABLE alerts.demo ADD COLUMN value DOUBLE DEFAULT 1`,
		`ALTER TABLE alerts.demo ADD COLUMN threshold DOUBLE DEFAULT 2`,
		`ALTER TABLE alerts.demo ADD COLUMN summary_en VARCHAR DEFAULT 'en'`,
		`ALTER TABLE alerts.demo ADD COLUMN summary_zh VARCHAR DEFAULT 'zh'`,
	} {
		if _, err := w.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := notify.NewChannel(notify.ChannelConfig{Name: "hook", Kind: "webhook", URL: srv.URL}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dests := []notify.Destination{{Channel: ch}}
	router, err := notify.NewRouter([]notify.Route{{Channels: []string{"hook"}, Manager: true}}, dests, []string{"demo"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := notify.New(w.DB(), notify.Options{Destinations: dests,
		Contacts: map[string]notify.Contact{"m1": {Email: "chen.jing@example.com", Mobile: "13900000001"}}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := alert.New(w.DB(), alert.Options{Models: ruleFS, Rules: map[string]alert.Rule{}, Router: router})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ev.Evaluate(ctx, 1, time.Now(), map[string]bool{"demo": true}); err != nil {
		t.Fatal(err)
	}
	if p, err := n.Flush(ctx); err != nil || p.Sent != 4 {
		t.Fatalf("pass %+v %v", p, err)
	}
	got := map[string]string{}
	for _, m := range recv.got {
		b, _ := json.Marshal(m["mentions"])
		got[fmt.Sprint(m["key"])] = string(b)
	}
	want := map[string]string{
		"demo/employee:e1":     `{"emails":["chen.jing@example.com"],"mobiles":["13900000001"],"names":["Chen Jing"],"user_ids":[]}`,
		"demo/employee:e2":     `{"emails":["zhao.lei@example.com"],"mobiles":["13800000002"],"names":["Zhao Lei"],"user_ids":[]}`,
		"demo/team:t2":         `{"emails":["zhao.lei@example.com"],"mobiles":["13800000002"],"names":["Zhao Lei"],"user_ids":[]}`,
		"demo/company:company": `null`,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: mentions %s, want %s", k, got[k], w)
		}
	}
}

// Routes match on rule, severity and team; a resolution goes only to
// channels that want one.
func TestRouterMatches(t *testing.T) {
	mk := func(name string) notify.Channel {
		ch, err := notify.NewChannel(notify.ChannelConfig{Name: name, Kind: "webhook", URL: "http://127.0.0.1:1/"}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	dests := []notify.Destination{{Channel: mk("all"), SendResolved: true}, {Channel: mk("crit")}, {Channel: mk("east"), SendResolved: true}}
	r, err := notify.NewRouter([]notify.Route{
		{Channels: []string{"all"}},
		{Channels: []string{"crit"}, Severities: []string{"critical"}},
		{Channels: []string{"east", "all"}, Rules: []string{"login_gap"}, Teams: []string{"T-EAST"}, Manager: true},
	}, dests, []string{"login_gap", "sla_breach"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		a    alert.Alert
		kind string
		want string
	}{
		{alert.Alert{Rule: "sla_breach", Severity: "critical", TeamID: "T-EAST"}, "firing", "all crit"},
		{alert.Alert{Rule: "sla_breach", Severity: "critical"}, "resolved", "all"},
		{alert.Alert{Rule: "login_gap", Severity: "warning", TeamID: "T-EAST"}, "firing", "all+m east+m"},
		{alert.Alert{Rule: "login_gap", Severity: "warning", TeamID: "T-WEST"}, "firing", "all"},
		{alert.Alert{Rule: "login_gap", Severity: "warning", TeamID: "T-EAST"}, "resolved", "all+m east+m"},
	} {
		var got []string
		for _, tg := range r.Route(&c.a, c.kind) {
			s := tg.Channel
			if tg.Manager {
				s += "+m"
			}
			got = append(got, s)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%+v %s: %v, want %s", c.a, c.kind, got, c.want)
		}
	}
	for _, bad := range []struct {
		rt   notify.Route
		want string
	}{
		{notify.Route{}, "alerts.routes[0].channels: a route needs at least one channel"},
		{notify.Route{Channels: []string{"nope"}}, `no channel "nope"`},
		{notify.Route{Channels: []string{"all"}, Rules: []string{"x"}}, `no rule "x"`},
		{notify.Route{Channels: []string{"all"}, Severities: []string{"loud"}}, `"loud" is not one of`},
	} {
		if _, err := notify.NewRouter([]notify.Route{bad.rt}, dests, []string{"login_gap"}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want …%s…", bad.rt, err, bad.want)
		}
	}
}

// A delivery the receiver accepted but that could not be recorded (the
// disk full, say) is recorded at the next pass, not sent again.
func TestAcceptedButNotRecordedIsNotSentAgain(t *testing.T) {
	r := newRig(t)
	r.firing("a")
	// While the receiver answers, the delivery log becomes unwritable (a
	// view over it: read, not written).
	r.recv.onAccept = func() {
		if _, err := r.w.DB().Exec(`ALTER TABLE ops.alert_deliveries RENAME TO alert_deliveries_away;
			CREATE VIEW ops.alert_deliveries AS SELECT * FROM ops.alert_deliveries_away`); err != nil {
			t.Error(err)
		}
		r.recv.onAccept = nil
	}
	if _, err := r.n.Flush(context.Background()); err == nil {
		t.Fatal("a pass that could not record its delivery reported no error")
	}
	if got := r.recv.received(); len(got) != 1 {
		t.Fatalf("received %v", got)
	}
	for range 2 { // still unwritable: nothing is sent again
		r.clk.add(2 * time.Second)
		r.n.Flush(context.Background())
	}
	if _, err := r.w.DB().Exec(`DROP VIEW ops.alert_deliveries; ALTER TABLE ops.alert_deliveries_away RENAME TO alert_deliveries`); err != nil {
		t.Fatal(err)
	}
	r.clk.add(2 * time.Second)
	if p := r.flush(); p.Sent != 1 {
		t.Fatalf("once writable: %+v", p)
	}
	r.clk.add(time.Minute)
	r.firing("a")
	r.flush()
	if got := r.recv.received(); len(got) != 1 || got[0] != "demo/employee:a#1/firing" {
		t.Fatalf("received %v, want the firing once", got)
	}
	if got, want := r.statuses(), "firing demo/employee:a sent 1"; got != want {
		t.Fatalf("notifications %q, want %q", got, want)
	}
	var attempts, ok int
	if err := r.w.DB().QueryRow(`SELECT count(*), count(*) FILTER (ok) FROM ops.alert_deliveries`).Scan(&attempts, &ok); err != nil || attempts != 1 || ok != 1 {
		t.Fatalf("delivery log: %d attempts, %d ok, %v", attempts, ok, err)
	}
}
