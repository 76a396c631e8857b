package generate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---- a compact checker of events.md ----

// eventSpecs: per type its data fields as name[?]:kind, ? = optional.
var eventSpecs = map[string]string{
	"employee.upserted":         "employee_id:id name:text role:enum(sales|service|marketing|manager|executive) team_id:id team_name?:text manager_id?:id active:bool hired_on?:date",
	"customer.upserted":         "customer_id:id name:text owner_id:id stage:enum(lead|prospect|customer|churned) phone?:text email?:text industry?:text region?:text source?:text needs?:text",
	"lead.created":              "lead_id:id customer_id:id owner_id:id source:text campaign?:text",
	"followup.logged":           "followup_id:id customer_id:id employee_id:id channel:enum(phone|visit|wechat|email|meeting|other) opportunity_id?:id summary?:text duration_s?:int(0) next_followup_at?:ts",
	"opportunity.created":       "opportunity_id:id customer_id:id owner_id:id amount:money stage:enum(qualification|needs_analysis|proposal|negotiation) expected_close_on?:date",
	"opportunity.stage_changed": "opportunity_id:id to_stage:enum(qualification|needs_analysis|proposal|negotiation|won|lost) amount?:money lost_reason?:text",
	"user.login":                "employee_id:id client?:enum(web|mobile|api)",
	"target.set":                "employee_id:id month:month metric:enum(revenue|new_customers|collections|followups) value:number",
	"contract.signed":           "contract_id:id customer_id:id owner_id:id amount:money opportunity_id?:id kind?:enum(new|renewal|upsell)",
	"invoice.issued":            "invoice_id:id contract_id:id amount:money due_on:date",
	"payment.received":          "payment_id:id invoice_id:id contract_id:id amount:money",
	"ticket.opened":             "ticket_id:id customer_id:id priority:enum(low|normal|high|urgent) assignee_id?:id channel?:text category?:text is_complaint?:bool",
	"ticket.assigned":           "ticket_id:id assignee_id:id",
	"ticket.responded":          "ticket_id:id employee_id:id",
	"ticket.resolved":           "ticket_id:id employee_id:id",
	"ticket.reopened":           "ticket_id:id",
	"csat.submitted":            "ticket_id:id score:int(1-5) comment?:text",
}

var moneyRe = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`)

type event struct {
	ID       string
	Type     string
	Occurred time.Time
	Recorded time.Time
	HasRec   bool
	Data     map[string]any
	Raw      []byte
}

func (e *event) str(k string) string { s, _ := e.Data[k].(string); return s }

func (e *event) num(k string) float64 {
	switch v := e.Data[k].(type) {
	case json.Number:
		f, _ := v.Float64()
		return f
	case string:
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return 0
}

// checkEvent validates one message against events.md and returns it parsed.
func checkEvent(v []byte) (*event, error) {
	if !json.Valid(v) {
		return nil, fmt.Errorf("not JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var top any
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	m, ok := top.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object")
	}
	e := &event{Raw: v}
	id, ok := m["event_id"].(string)
	if !ok || len(id) < 1 || len(id) > 128 {
		return nil, fmt.Errorf("bad event_id %v", m["event_id"])
	}
	e.ID = id
	if e.Type, ok = m["event_type"].(string); !ok {
		return nil, fmt.Errorf("bad event_type %v", m["event_type"])
	}
	ts, ok := m["occurred_at"].(string)
	if !ok {
		return nil, fmt.Errorf("bad occurred_at %v", m["occurred_at"])
	}
	var err error
	if e.Occurred, err = time.Parse(time.RFC3339, ts); err != nil {
		return nil, fmt.Errorf("occurred_at: %v", err)
	}
	if rv, present := m["recorded_at"]; present {
		rs, ok := rv.(string)
		if !ok {
			return nil, fmt.Errorf("bad recorded_at %v", rv)
		}
		if e.Recorded, err = time.Parse(time.RFC3339, rs); err != nil {
			return nil, fmt.Errorf("recorded_at: %v", err)
		}
		e.HasRec = true
	} else {
		e.Recorded = e.Occurred
	}
	if e.Data, ok = m["data"].(map[string]any); !ok {
		return nil, fmt.Errorf("data is not an object")
	}
	spec, known := eventSpecs[e.Type]
	if !known {
		return e, nil
	}
	for _, f := range strings.Fields(spec) {
		name, kind, _ := strings.Cut(f, ":")
		opt := strings.HasSuffix(name, "?")
		name = strings.TrimSuffix(name, "?")
		val, present := e.Data[name]
		if !present {
			if opt {
				continue
			}
			return nil, fmt.Errorf("%s: missing %s", e.Type, name)
		}
		if err := checkField(kind, val); err != nil {
			return nil, fmt.Errorf("%s.%s: %v", e.Type, name, err)
		}
	}
	return e, nil
}

func checkField(kind string, val any) error {
	s, isStr := val.(string)
	n, isNum := val.(json.Number)
	switch {
	case kind == "id":
		if !isStr || len(s) < 1 || len(s) > 128 {
			return fmt.Errorf("not an id: %v", val)
		}
	case kind == "text":
		if !isStr {
			return fmt.Errorf("not text: %v", val)
		}
	case kind == "ts":
		if _, err := time.Parse(time.RFC3339, s); !isStr || err != nil {
			return fmt.Errorf("not a timestamp: %v", val)
		}
	case kind == "date":
		if _, err := time.Parse("2006-01-02", s); !isStr || err != nil {
			return fmt.Errorf("not a date: %v", val)
		}
	case kind == "month":
		if _, err := time.Parse("2006-01", s); !isStr || err != nil || len(s) != 7 {
			return fmt.Errorf("not a month: %v", val)
		}
	case kind == "bool":
		if _, ok := val.(bool); !ok {
			return fmt.Errorf("not a bool: %v", val)
		}
	case kind == "money":
		txt := s
		if isNum {
			txt = n.String()
		} else if !isStr {
			return fmt.Errorf("not money: %v", val)
		}
		if !moneyRe.MatchString(txt) {
			return fmt.Errorf("not money (>= 0, <= 2 decimals): %v", val)
		}
	case kind == "number":
		f, err := n.Float64()
		if !isNum || err != nil || f < 0 {
			return fmt.Errorf("not a number >= 0: %v", val)
		}
	case strings.HasPrefix(kind, "int("):
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if !isNum || err != nil {
			return fmt.Errorf("not an integer: %v", val)
		}
		lo, hi, _ := strings.Cut(strings.TrimSuffix(kind[4:], ")"), "-")
		l, _ := strconv.ParseInt(lo, 10, 64)
		if i < l {
			return fmt.Errorf("%d < %d", i, l)
		}
		if h, err := strconv.ParseInt(hi, 10, 64); err == nil && i > h {
			return fmt.Errorf("%d > %d", i, h)
		}
	case strings.HasPrefix(kind, "enum("):
		if !isStr || !slices.Contains(strings.Split(strings.TrimSuffix(kind[5:], ")"), "|"), s) {
			return fmt.Errorf("not in %s: %v", kind, val)
		}
	default:
		return fmt.Errorf("unknown kind %s", kind)
	}
	return nil
}

// ---- shared history ----

var testNow = time.Date(2026, 10, 14, 10, 0, 0, 0, time.UTC)

type memSink struct{ msgs []Message }

func (m *memSink) Send(_ context.Context, msgs []Message) error {
	m.msgs = append(m.msgs, msgs...)
	return nil
}

func history(t testing.TB, o Options) []Message {
	t.Helper()
	var sink memSink
	n, err := New(o).History(context.Background(), &sink)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(sink.msgs) {
		t.Fatalf("History returned %d, sink got %d", n, len(sink.msgs))
	}
	return sink.msgs
}

var (
	defOnce   sync.Once
	defMsgs   []Message
	defEvents []*event
	defErr    error
)

// defaultHistory is the default company (seed 7) in UTC+8, parsed.
func defaultHistory(t *testing.T) ([]Message, []*event) {
	defOnce.Do(func() {
		defMsgs = history(t, Options{Seed: 7, Now: testNow, Location: shanghai(t)})
		for i, m := range defMsgs {
			e, err := checkEvent(m.Value)
			if err != nil {
				defErr = fmt.Errorf("message %d: %v\n%s", i, err, m.Value)
				return
			}
			defEvents = append(defEvents, e)
		}
	})
	if defErr != nil {
		t.Fatal(defErr)
	}
	return defMsgs, defEvents
}

func shanghai(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}

// ---- tests ----

func TestDeterminism(t *testing.T) {
	o := Options{Seed: 42, Now: testNow, Days: 30, Employees: 30, BadRate: 0.02}
	a, b := history(t, o), history(t, o)
	if len(a) != len(b) {
		t.Fatalf("lengths differ: %d vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Topic != b[i].Topic || !bytes.Equal(a[i].Key, b[i].Key) || !bytes.Equal(a[i].Value, b[i].Value) {
			t.Fatalf("message %d differs:\n%s\n%s", i, a[i].Value, b[i].Value)
		}
	}
	o.Seed = 43
	c := history(t, o)
	same := 0
	for i := 0; i < min(len(a), len(c)); i++ {
		if bytes.Equal(a[i].Value, c[i].Value) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("different seeds share %d identical messages", same)
	}
	// a generator's History is repeatable
	g := New(o)
	var s1, s2 memSink
	g.History(context.Background(), &s1)
	g.History(context.Background(), &s2)
	if len(s1.msgs) != len(s2.msgs) || !bytes.Equal(s1.msgs[len(s1.msgs)-1].Value, s2.msgs[len(s2.msgs)-1].Value) {
		t.Error("History is not repeatable on the same generator")
	}
}

func TestValidity(t *testing.T) {
	msgs, evs := defaultHistory(t)
	t.Logf("default history: %d events", len(msgs))
	if len(msgs) < 150_000 || len(msgs) > 400_000 {
		t.Errorf("default history has %d events, want 150k-400k", len(msgs))
	}
	start := testNow.Add(-90 * 24 * time.Hour)
	ids := make(map[string]bool, len(evs))
	counts := map[string]int{}
	extra := 0
	var prev time.Time
	backwards := 0
	for i, e := range evs {
		m := msgs[i]
		counts[e.Type]++
		if _, ok := eventSpecs[e.Type]; !ok {
			t.Fatalf("unknown type %s", e.Type)
		}
		if ids[e.ID] {
			t.Fatalf("duplicate event_id %s", e.ID)
		}
		ids[e.ID] = true
		if e.Occurred.Before(start) || !e.Occurred.Before(testNow) {
			t.Fatalf("occurred_at %s outside the history: %s", e.Occurred, m.Value)
		}
		if e.Recorded.Before(e.Occurred) {
			t.Fatalf("recorded before occurred: %s", m.Value)
		}
		if e.Recorded.After(testNow) {
			t.Fatalf("recorded after Now: %s", m.Value)
		}
		if !bytes.Contains(m.Value, []byte(`+08:00"`)) {
			t.Fatalf("timestamps not in the +08:00 zone: %s", m.Value)
		}
		if e.Occurred.Before(prev.Add(-24 * time.Hour)) {
			backwards++
		}
		if e.Occurred.After(prev) {
			prev = e.Occurred
		}
		topic, key, err := Route(m.Value, Topics{})
		if err != nil || topic != m.Topic || !bytes.Equal(key, m.Key) || len(key) == 0 {
			t.Fatalf("Route(%s) = %s %q %v; message has %s %q", m.Value, topic, key, err, m.Topic, m.Key)
		}
		if bytes.IndexByte(m.Value, '\n') >= 0 {
			t.Fatal("newline in message")
		}
		if known := strings.Fields(eventSpecs[e.Type]); len(e.Data) > len(known) {
			extra++
		} else {
			for k := range e.Data {
				if !strings.Contains(eventSpecs[e.Type], k+":") && !strings.Contains(eventSpecs[e.Type], k+"?:") {
					extra++
					break
				}
			}
		}
	}
	if backwards > 0 {
		t.Errorf("%d events more than a day out of occurred_at order", backwards)
	}
	for typ := range eventSpecs {
		if counts[typ] == 0 {
			t.Errorf("no %s events", typ)
		}
	}
	if extra == 0 {
		t.Error("no event carries an unknown extra data field")
	}
	t.Logf("counts: %v; with extra fields: %d", counts, extra)
}

// TestBusiness checks that the company behaves believably.
func TestBusiness(t *testing.T) {
	_, evs := defaultHistory(t)
	loc := shanghai(t)
	var (
		won, lost, created      int
		breach, responded       int
		opened                  = map[string]*event{}
		firstResp               = map[string]time.Time{}
		reopened, complaints    int
		csatSum, csatN          float64
		cycleDays               []float64
		oppCreated              = map[string]time.Time{}
		logins                  = map[string]map[string]bool{}
		weekendFollowups, allFU int
		invoices                = map[string]float64{}
		paid                    = map[string]float64{}
		leadAt                  = map[string]time.Time{}
		leadResp                []float64
		kinds                   = map[string]int{}
		sources                 = map[string]int{}
		clients                 = map[string]int{}
		churned                 = map[string]bool{}
		names                   = map[string]string{}
		chinese                 int
	)
	sla := map[string]float64{"urgent": 60, "high": 240, "normal": 480, "low": 1440}
	for _, e := range evs {
		switch e.Type {
		case "opportunity.created":
			created++
			oppCreated[e.str("opportunity_id")] = e.Occurred
		case "opportunity.stage_changed":
			switch e.str("to_stage") {
			case "won":
				won++
				cycleDays = append(cycleDays, e.Occurred.Sub(oppCreated[e.str("opportunity_id")]).Hours()/24)
			case "lost":
				lost++
			}
		case "ticket.opened":
			opened[e.str("ticket_id")] = e
			if e.Data["is_complaint"] == true {
				complaints++
			}
		case "ticket.responded":
			id := e.str("ticket_id")
			if _, ok := firstResp[id]; !ok && opened[id] != nil {
				firstResp[id] = e.Occurred
				responded++
				if e.Occurred.Sub(opened[id].Occurred).Minutes() > sla[opened[id].str("priority")] {
					breach++
				}
			}
		case "ticket.reopened":
			reopened++
		case "csat.submitted":
			csatSum += e.num("score")
			csatN++
		case "user.login":
			emp := e.str("employee_id")
			if logins[emp] == nil {
				logins[emp] = map[string]bool{}
			}
			logins[emp][e.Occurred.In(loc).Format("2006-01-02")] = true
			clients[e.str("client")]++
		case "followup.logged":
			allFU++
			if wd := e.Occurred.In(loc).Weekday(); wd == time.Saturday || wd == time.Sunday {
				weekendFollowups++
			}
			if at, ok := leadAt[e.str("customer_id")]; ok && !e.Occurred.Before(at) {
				leadResp = append(leadResp, e.Occurred.Sub(at).Hours())
				delete(leadAt, e.str("customer_id"))
			}
		case "lead.created":
			leadAt[e.str("customer_id")] = e.Occurred
			sources[e.str("source")]++
		case "invoice.issued":
			invoices[e.str("invoice_id")] = e.num("amount")
		case "payment.received":
			paid[e.str("invoice_id")] += e.num("amount")
		case "contract.signed":
			kinds[e.str("kind")]++
		case "customer.upserted":
			if e.str("stage") == "churned" {
				churned[e.str("customer_id")] = true
			}
			names[e.str("customer_id")] = e.str("name")
		}
	}
	for _, n := range names {
		if strings.ContainsRune(n, '公') {
			chinese++
		}
	}
	winRate := float64(won) / float64(won+lost)
	sort.Float64s(cycleDays)
	sort.Float64s(leadResp)
	t.Logf("opportunities %d, won %d, lost %d, win rate %.2f, median cycle %.1f days", created, won, lost, winRate, cycleDays[len(cycleDays)/2])
	t.Logf("tickets %d, responded %d, breaches %.1f%%, reopen %.1f%%, complaints %.1f%%, csat %.2f (%d)",
		len(opened), responded, 100*float64(breach)/float64(responded), 100*float64(reopened)/float64(len(opened)),
		100*float64(complaints)/float64(len(opened)), csatSum/csatN, int(csatN))
	t.Logf("lead response: median %.1f h, within 24h %.0f%%; sources %v", leadResp[len(leadResp)/2],
		100*float64(sort.SearchFloat64s(leadResp, 24))/float64(len(leadResp)), sources)
	t.Logf("contract kinds %v, churned customers %d, Chinese-named customers %d, login clients %v", kinds, len(churned), chinese, clients)
	if winRate < 0.22 || winRate > 0.45 {
		t.Errorf("win rate %.2f", winRate)
	}
	if c := cycleDays[len(cycleDays)/2]; c < 5 || c > 60 {
		t.Errorf("median sales cycle %.1f days", c)
	}
	if b := float64(breach) / float64(responded); b < 0.04 || b > 0.2 {
		t.Errorf("SLA breach share %.2f", b)
	}
	if r := float64(reopened) / float64(len(opened)); r < 0.03 || r > 0.08 {
		t.Errorf("reopen share %.3f", r)
	}
	if c := float64(complaints) / float64(len(opened)); c < 0.03 || c > 0.08 {
		t.Errorf("complaint share %.3f", c)
	}
	if m := csatSum / csatN; m < 3.8 || m > 4.6 {
		t.Errorf("CSAT mean %.2f", m)
	}
	if m := leadResp[len(leadResp)/2]; m > 8 {
		t.Errorf("median lead response %.1f h", m)
	}
	if w := float64(weekendFollowups) / float64(allFU); w > 0.05 {
		t.Errorf("%.1f%% of follow-ups on weekends", 100*w)
	}
	var late, partial, unpaid int
	for inv, amt := range invoices {
		switch p := paid[inv]; {
		case p == 0:
			unpaid++
		case p < amt-0.005:
			partial++
		}
		_ = late
	}
	t.Logf("invoices %d: unpaid %d, partially paid %d", len(invoices), unpaid, partial)
	if partial == 0 || unpaid == 0 || kinds["renewal"] == 0 || kinds["new"] == 0 || kinds["upsell"] == 0 || len(churned) == 0 {
		t.Error("missing partial/unpaid invoices, a contract kind or churn")
	}
}

func TestPlanted(t *testing.T) {
	_, evs := defaultHistory(t)
	loc := shanghai(t)
	p := New(Options{Seed: 7, Now: testNow, Location: loc}).Planted()
	t.Logf("planted: %+v", p)
	day := func(tm time.Time) string { return tm.In(loc).Format("2006-01-02") }

	// back-filler: >= 5 follow-ups in a day recorded more than 72 h later
	lateByDay := map[string]int{}
	// entry burst: >= 20 follow-ups by one employee within 10 minutes of recorded_at
	recAt := map[string][]time.Time{}
	// team drop, dormancy, logins, revenue, targets, employees, completeness
	teamOf := map[string]string{}
	fuByDay := map[string]int{}
	lastFU := map[string]time.Time{}
	stage := map[string]string{}
	owner := map[string]string{}
	loginDays := map[string]map[string]bool{}
	revenue := map[string]float64{}
	target := map[string]float64{}
	targetMonths := map[string]bool{}
	revisions := map[string]int{}
	active := map[string]bool{}
	hired := map[string]string{}
	teamChanges := map[string]int{}
	ownerChanges := 0
	filled := map[string]float64{}
	curMonth := testNow.In(loc).Format("2006-01")
	for _, e := range evs {
		switch e.Type {
		case "employee.upserted":
			id := e.str("employee_id")
			if old, ok := teamOf[id]; ok && old != e.str("team_id") {
				teamChanges[id]++
			}
			teamOf[id] = e.str("team_id")
			active[id] = e.Data["active"] == true
			hired[id] = e.str("hired_on")
		case "followup.logged":
			emp := e.str("employee_id")
			if e.Recorded.Sub(e.Occurred) > 72*time.Hour {
				lateByDay[emp+" "+day(e.Occurred)]++
			}
			recAt[emp] = append(recAt[emp], e.Recorded)
			if teamOf[emp] == p.DropTeam {
				fuByDay[day(e.Occurred)]++
			}
			lastFU[e.str("customer_id")] = e.Occurred
		case "customer.upserted":
			id := e.str("customer_id")
			if o, ok := owner[id]; ok && o != e.str("owner_id") {
				ownerChanges++
			}
			owner[id], stage[id] = e.str("owner_id"), e.str("stage")
			n := 0.0
			for _, f := range profileFields {
				if strings.TrimSpace(e.str(f)) != "" {
					n++
				}
			}
			filled[id] = n / float64(len(profileFields))
		case "user.login":
			emp := e.str("employee_id")
			if loginDays[emp] == nil {
				loginDays[emp] = map[string]bool{}
			}
			loginDays[emp][day(e.Occurred)] = true
		case "contract.signed":
			if e.Occurred.In(loc).Format("2006-01") == curMonth {
				revenue[e.str("owner_id")] += e.num("amount")
			}
		case "target.set":
			targetMonths[e.str("employee_id")+" "+e.str("month")] = true
			if e.str("metric") == "revenue" {
				k := e.str("employee_id") + " " + e.str("month")
				if _, ok := target[k]; ok {
					revisions[e.str("employee_id")]++
				}
				target[k] = e.num("value")
			}
		}
	}

	found := false
	for _, d := range p.BackfillDays {
		if n := lateByDay[p.BackFiller+" "+day(d)]; n >= 5 {
			found = true
		} else {
			t.Errorf("back-filler %s: only %d late follow-ups on %s", p.BackFiller, n, day(d))
		}
	}
	for k, n := range lateByDay {
		if n >= 5 && !strings.HasPrefix(k, p.BackFiller+" ") {
			t.Errorf("unplanted back-fill: %s has %d", k, n)
		}
	}
	if !found {
		t.Error("no back-fill day found")
	}

	bursts := map[string]int{}
	for emp, ts := range recAt {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		j := 0
		for i := range ts {
			for ts[i].Sub(ts[j]) > 10*time.Minute {
				j++
			}
			if i-j+1 >= 20 {
				bursts[emp] = max(bursts[emp], i-j+1)
			}
		}
	}
	if bursts[p.Burster] < 20 || len(bursts) != 1 {
		t.Errorf("bursts %v, want only %s", bursts, p.Burster)
	}

	// the drop team: mean follow-ups per working day before and after DropFrom
	var before, after, nb, na float64
	for d := testNow.AddDate(0, 0, -84); d.Before(testNow.AddDate(0, 0, -1)); d = d.AddDate(0, 0, 1) {
		if wd := d.In(loc).Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		if d.Before(p.DropFrom) {
			before += float64(fuByDay[day(d)])
			nb++
		} else {
			after += float64(fuByDay[day(d)])
			na++
		}
	}
	t.Logf("team %s follow-ups per working day: %.0f before, %.0f after %s", p.DropTeam, before/nb, after/na, day(p.DropFrom))
	if after/na > 0.5*before/nb || before/nb < 50 {
		t.Errorf("no sharp drop for team %s", p.DropTeam)
	}

	for _, c := range p.DormantCustomers {
		if last := lastFU[c]; testNow.Sub(last) < 30*24*time.Hour || stage[c] == "churned" {
			t.Errorf("dormant customer %s: last follow-up %s, stage %s", c, last, stage[c])
		}
	}
	dormant := 0
	for c, st := range stage {
		if st != "churned" && testNow.Sub(lastFU[c]) > 30*24*time.Hour {
			dormant++
		}
	}
	t.Logf("customers without follow-up for 30 days: %d of %d", dormant, len(stage))

	if tg := target[p.BehindTarget+" "+curMonth]; tg == 0 || revenue[p.BehindTarget] > 0.3*tg {
		t.Errorf("behind-target %s: revenue %.0f of target %.0f", p.BehindTarget, revenue[p.BehindTarget], tg)
	}
	behind := 0
	for k, tg := range target {
		emp, m, _ := strings.Cut(k, " ")
		if m == curMonth && revenue[emp] < 0.3*tg {
			behind++
		}
	}
	t.Logf("reps under 30%% of this month's revenue target so far: %d", behind)

	var lastWork []string
	for d := testNow.In(loc).AddDate(0, 0, -1); len(lastWork) < 3; d = d.AddDate(0, 0, -1) {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			lastWork = append(lastWork, day(d))
		}
	}
	gaps := map[string]bool{}
	for emp, act := range active {
		if !act || hired[emp] > lastWork[2] {
			continue
		}
		none := true
		for _, d := range lastWork {
			if loginDays[emp][d] {
				none = false
			}
		}
		if none {
			gaps[emp] = true
		}
	}
	for _, emp := range p.LoginGap {
		if !gaps[emp] {
			t.Errorf("login gap %s has logins in the last 3 working days", emp)
		}
	}
	t.Logf("active people without login on the last 3 working days: %v", gaps)

	if active[p.Deactivated] || !func() bool { _, ok := active[p.Deactivated]; return ok }() {
		t.Errorf("%s not deactivated", p.Deactivated)
	}
	if teamChanges[p.TeamChange] != 1 {
		t.Errorf("team change of %s: %d", p.TeamChange, teamChanges[p.TeamChange])
	}
	for _, h := range p.LaterHires {
		if hired[h] < day(testNow.AddDate(0, 0, -90)) {
			t.Errorf("later hire %s hired on %s", h, hired[h])
		}
	}
	if targetMonths[p.MissingTarget+" "+p.MissingMonth] || !targetMonths[p.MissingTarget+" "+curMonth] {
		t.Errorf("missing target of %s for %s not as planned", p.MissingTarget, p.MissingMonth)
	}
	if revisions[p.RevisedTarget] == 0 {
		t.Errorf("no revised target for %s", p.RevisedTarget)
	}
	if ownerChanges < 5 {
		t.Errorf("only %d owner changes", ownerChanges)
	}
	// completeness per owner of non-churned customers
	sum, cnt := map[string]float64{}, map[string]float64{}
	for c, o := range owner {
		if stage[c] != "churned" {
			sum[o] += filled[c]
			cnt[o]++
		}
	}
	low := map[string]float64{}
	for o := range sum {
		if cnt[o] >= 5 && sum[o]/cnt[o] < 0.8 {
			low[o] = sum[o] / cnt[o]
		}
	}
	for _, o := range p.PoorCompleteness {
		if _, ok := low[o]; !ok {
			t.Errorf("poor completeness %s: %.2f", o, sum[o]/cnt[o])
		}
	}
	if len(low) != len(p.PoorCompleteness) {
		t.Errorf("low completeness owners %v, planted %v", low, p.PoorCompleteness)
	}
}

// TestSizes: tiny and big companies, short histories, other zones.
func TestSizes(t *testing.T) {
	for _, o := range []Options{
		{Seed: 1, Now: testNow, Days: 1, Employees: 1},
		{Seed: 2, Now: testNow, Days: 3, Employees: 10, Location: time.FixedZone("X", -5*3600-1800)},
		{Seed: 3, Now: testNow.Add(17 * time.Minute), Days: 20, Employees: 13},
		{Seed: 4, Now: testNow, Days: 5, Employees: 600, BadRate: 1},
	} {
		msgs := history(t, o)
		bad := 0
		for _, m := range msgs {
			if _, err := checkEvent(m.Value); err != nil {
				bad++
			}
		}
		if (o.BadRate == 0 && bad > 0) || (o.BadRate == 1 && bad != len(msgs)) || len(msgs) == 0 {
			t.Errorf("%+v: %d messages, %d bad", o, len(msgs), bad)
		}
		t.Logf("%d employees, %d days: %d messages", o.Employees, o.Days, len(msgs))
	}
}

func TestBadRate(t *testing.T) {
	msgs := history(t, Options{Seed: 3, Now: testNow, Days: 30, Employees: 40, BadRate: 0.05})
	bad := 0
	reasons := map[string]int{}
	for _, m := range msgs {
		if bytes.IndexByte(m.Value, '\n') >= 0 {
			t.Fatal("newline in a bad message")
		}
		if _, err := checkEvent(m.Value); err != nil {
			bad++
			r := err.Error()
			if i := strings.IndexAny(r, ":0123456789"); i > 0 {
				r = r[:i]
			}
			reasons[r]++
		}
	}
	share := float64(bad) / float64(len(msgs))
	t.Logf("%d of %d bad (%.2f%%): %v", bad, len(msgs), 100*share, reasons)
	if share < 0.04 || share > 0.06 {
		t.Errorf("bad share %.4f, want about 0.05", share)
	}
	// BadRate only replaces messages: the others are the same as without
	// bad messages, and every replaced one is invalid
	good := history(t, Options{Seed: 3, Now: testNow, Days: 30, Employees: 40})
	if len(good) != len(msgs) {
		t.Fatalf("BadRate changed the number of messages: %d vs %d", len(msgs), len(good))
	}
	for i := range good {
		_, err := checkEvent(msgs[i].Value)
		changed := !bytes.Equal(good[i].Value, msgs[i].Value)
		if changed != (err != nil) {
			t.Errorf("message %d: changed %v but check error %v:\n%s\n%s", i, changed, err, good[i].Value, msgs[i].Value)
		}
		if good[i].Topic != msgs[i].Topic || !bytes.Equal(good[i].Key, msgs[i].Key) {
			t.Errorf("message %d: topic or key changed", i)
		}
	}
}

func TestStream(t *testing.T) {
	g := New(Options{Seed: 5, Now: testNow, Employees: 20, Days: 10})
	for _, n := range []int{1, 1000, 150_000} {
		var got []Message
		if err := g.Stream(n, func(m Message) error { got = append(got, m); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("Stream(%d) gave %d", n, len(got))
		}
		for i, m := range got {
			if _, err := checkEvent(m.Value); err != nil {
				t.Fatalf("Stream(%d) message %d: %v", n, i, err)
			}
			if i%97 == 0 {
				topic, key, err := Route(m.Value, Topics{})
				if err != nil || topic != m.Topic || !bytes.Equal(key, m.Key) {
					t.Fatalf("Route disagrees with Stream: %s %q vs %s %q", topic, key, m.Topic, m.Key)
				}
			}
		}
		// determinism
		i := 0
		g.Stream(n, func(m Message) error {
			if !bytes.Equal(m.Value, got[i].Value) {
				t.Fatalf("Stream(%d) not deterministic at %d", n, i)
			}
			i++
			return nil
		})
	}
	// Events iterator stops early
	k := 0
	for range g.Events(500) {
		k++
		if k == 100 {
			break
		}
	}
	if k != 100 {
		t.Errorf("Events gave %d", k)
	}
	stop := fmt.Errorf("stop")
	if err := g.Stream(10, func(Message) error { return stop }); err != stop {
		t.Errorf("Stream did not return fn's error: %v", err)
	}
}

func TestRoute(t *testing.T) {
	top := Topics{CRM: "c", Finance: "f", Ticket: "t"}
	cases := []struct {
		in         string
		topic, key string
		err        bool
	}{
		{`{"event_type":"employee.upserted","data":{"employee_id":"E0001"}}`, "c", "E0001", false},
		{`{"event_type":"customer.upserted","data":{"customer_id":"C00001","owner_id":"E0002"}}`, "c", "C00001", false},
		{`{"event_type":"followup.logged","data":{"employee_id":"E0002","customer_id":"C00009"}}`, "c", "C00009", false},
		{`{"event_type":"lead.created","data":{"lead_id":"K000001","customer_id":"C00003","owner_id":"E0002"}}`, "c", "C00003", false},
		{`{"event_type":"opportunity.stage_changed","data":{"opportunity_id":"O000045","to_stage":"won"}}`, "c", "O000045", false},
		{`{"event_type":"user.login","data":{"employee_id":"E0012"}}`, "c", "E0012", false},
		{`{"event_type":"target.set","data":{"employee_id":"E0012","month":"2026-10"}}`, "c", "E0012", false},
		{`{"event_type":"payment.received","data":{"payment_id":"PAY000001","invoice_id":"INV000001","contract_id":"CT000007"}}`, "f", "CT000007", false},
		{`{"event_type":"invoice.issued","data":{"invoice_id":"INV000001","contract_id":"CT000008"}}`, "f", "CT000008", false},
		{`{"event_type":"csat.submitted","data":{"ticket_id":"T000123","score":5}}`, "t", "T000123", false},
		{`{"event_type":"ticket.opened","data":{"ticket_id":"T0\u0030","customer_id":"C1"}}`, "t", "T00", false},
		{`{"event_type":"note.added","data":{"customer_id":"C00004"}}`, "c", "C00004", false},
		{`{"event_type":"note.added","data":{"customer_id":"C00004","employee_id":"E0003"}}`, "c", "E0003", false},
		{`{"event_type":"note.added"}`, "c", "", false},
		{`{"event_type":"ticket.opened","data":{"ticket_id":17}}`, "t", "", false},
		{`{"event_type":"contract.signed","data":"x"}`, "f", "", false},
		{`{"event_type":7,"data":{}}`, "", "", true},
		{`{"data":{}}`, "", "", true},
		{`[{"event_type":"user.login"}]`, "", "", true},
		{`"user.login"`, "", "", true},
		{`null`, "", "", true},
		{`{"event_type":"user.login",`, "", "", true},
		{``, "", "", true},
	}
	for _, c := range cases {
		topic, key, err := Route([]byte(c.in), top)
		if (err != nil) != c.err || topic != c.topic || string(key) != c.key {
			t.Errorf("Route(%s) = %q, %q, %v; want %q, %q, err %v", c.in, topic, key, err, c.topic, c.key, c.err)
		}
	}
	if topic, _, _ := Route([]byte(`{"event_type":"ticket.reopened","data":{}}`), Topics{}); topic != "ticket.events" {
		t.Errorf("default topic %q", topic)
	}
}

func TestFileSinkRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	sink, err := NewFileSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	g := New(Options{Seed: 9, Now: testNow, Days: 7, Employees: 15, BadRate: 0.01})
	var mem memSink
	n, err := g.History(context.Background(), multiSink{sink, &mem})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	byTopic := map[string][][]byte{}
	for _, m := range mem.msgs {
		byTopic[m.Topic] = append(byTopic[m.Topic], m.Value)
	}
	total := 0
	for _, topic := range []string{"crm.events", "finance.events", "ticket.events"} {
		var got [][]byte
		if err := ReadFile(filepath.Join(dir, topic+".jsonl"), func(v []byte) error {
			got = append(got, v)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(byTopic[topic]) {
			t.Fatalf("%s: read %d lines, wrote %d", topic, len(got), len(byTopic[topic]))
		}
		for i := range got {
			if !bytes.Equal(got[i], byTopic[topic][i]) {
				t.Fatalf("%s line %d differs", topic, i+1)
			}
		}
		total += len(got)
	}
	if total != n {
		t.Errorf("read %d of %d", total, n)
	}
	// blank lines, CRLF and a BOM are tolerated; a too long line is an error
	p := filepath.Join(t.TempDir(), "x.jsonl")
	os.WriteFile(p, []byte("\xef\xbb\xbf{\"a\":1}\r\n\n   \n{\"b\":2}"), 0o644)
	var lines []string
	if err := ReadFile(p, func(v []byte) error { lines = append(lines, string(v)); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(lines, []string{`{"a":1}`, `{"b":2}`}) {
		t.Errorf("lines %q", lines)
	}
	os.WriteFile(p, append(bytes.Repeat([]byte("x"), MaxLine+10), '\n'), 0o644)
	if err := ReadFile(p, func([]byte) error { return nil }); err == nil {
		t.Error("no error for a too long line")
	}
	if err := sink.Send(context.Background(), []Message{{Topic: "a", Value: []byte("x")}}); err == nil {
		t.Error("send after close")
	}
	s2, _ := NewFileSink(t.TempDir())
	if err := s2.Send(context.Background(), []Message{{Topic: "a", Value: []byte("x\ny")}}); err == nil {
		t.Error("newline accepted")
	}
	s2.Close()
}

type multiSink []Sink

func (m multiSink) Send(ctx context.Context, msgs []Message) error {
	for _, s := range m {
		if err := s.Send(ctx, msgs); err != nil {
			return err
		}
	}
	return nil
}

func TestLive(t *testing.T) {
	if testing.Short() {
		t.Skip("wall clock")
	}
	g := New(Options{Seed: 11, Now: time.Now().Truncate(time.Hour), Days: 14, Employees: 20})
	var hist memSink
	if _, err := g.History(context.Background(), &hist); err != nil {
		t.Fatal(err)
	}
	var sink memSink
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	before := time.Now().Add(-time.Second)
	n, err := g.Live(ctx, &sink, 500)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(sink.msgs) || n < 150 || n > 400 {
		t.Errorf("Live sent %d (sink %d) in 0.6 s at 500/s", n, len(sink.msgs))
	}
	ids := map[string]bool{}
	for _, m := range hist.msgs {
		e, _ := checkEvent(m.Value)
		ids[e.ID] = true
	}
	types := map[string]int{}
	for _, m := range sink.msgs {
		e, err := checkEvent(m.Value)
		if err != nil {
			t.Fatalf("live message: %v: %s", err, m.Value)
		}
		if e.Occurred.Before(before) || e.Occurred.After(time.Now().Add(time.Second)) {
			t.Errorf("live occurred_at %s is not now", e.Occurred)
		}
		if ids[e.ID] {
			t.Errorf("live reuses event_id %s", e.ID)
		}
		types[e.Type]++
	}
	t.Logf("live: %d events: %v", n, types)
	if len(types) < 8 {
		t.Errorf("live mix too narrow: %v", types)
	}

	// without History first, Live simulates the history silently and goes on from it
	g2 := New(Options{Seed: 11, Now: time.Now().Truncate(time.Hour), Days: 14, Employees: 20})
	var sink2 memSink
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	n2, err := g2.Live(ctx2, &sink2, 100)
	if err != nil || n2 == 0 {
		t.Fatalf("Live without History: %d, %v", n2, err)
	}
	maxTicket := ""
	for _, m := range hist.msgs {
		if e, _ := checkEvent(m.Value); e.Type == "ticket.opened" && e.str("ticket_id") > maxTicket {
			maxTicket = e.str("ticket_id")
		}
	}
	for _, m := range sink2.msgs {
		e, err := checkEvent(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == "ticket.opened" && e.str("ticket_id") <= maxTicket {
			t.Errorf("live ticket %s reuses a history id (history up to %s)", e.str("ticket_id"), maxTicket)
		}
	}
	if _, err := g2.Live(context.Background(), &sink2, 0); err == nil {
		t.Error("rate 0 accepted")
	}
}

func BenchmarkStream(b *testing.B) {
	g := New(Options{Seed: 1, Now: testNow})
	const n = 1_000_000
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var bytesOut int64
	for i := 0; i < b.N; i++ {
		if err := g.Stream(n, func(m Message) error { bytesOut += int64(len(m.Value)); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(n*b.N)/el, "events/s")
	b.ReportMetric(float64(bytesOut)/float64(n*b.N), "B/event")
}
