package generate

import (
	"cmp"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"
)

// Event kinds.
const (
	kEmployee uint8 = iota
	kCustomer
	kLead
	kFollowup
	kOppCreated
	kOppStage
	kLogin
	kTarget
	kContract
	kInvoice
	kPayment
	kTicketOpened
	kTicketAssigned
	kTicketResponded
	kTicketResolved
	kTicketReopened
	kCSAT
	nKinds
)

var kindNames = [nKinds]string{
	"employee.upserted", "customer.upserted", "lead.created", "followup.logged",
	"opportunity.created", "opportunity.stage_changed", "user.login", "target.set",
	"contract.signed", "invoice.issued", "payment.received",
	"ticket.opened", "ticket.assigned", "ticket.responded", "ticket.resolved", "ticket.reopened", "csat.submitted",
}

// Event flags.
const (
	fNoRec      uint16 = 1 << iota // omit recorded_at
	fExtra                         // add an unknown data field
	fActive                        // employee.upserted: active
	fIfChange                      // customer.upserted: only if the stage changes
	fComplaint                     // ticket.opened: is_complaint true
	fNotComp                       // ticket.opened: is_complaint false written out
	fDuration                      // followup.logged: duration_s present (in amt)
	fAmount                        // opportunity.stage_changed: amount present
	fFillIn                        // customer.upserted: owner fills in a missing field
	fBackfilled                    // followup.logged: planted back-fill
	fBurst                         // followup.logged: planted entry burst
)

// ev is one event inside the simulation: a fixed-size record whose meaning
// per kind is documented in encode.go. Strings are looked up when written.
type ev struct {
	occ, rec int64 // unix seconds
	ts       int64 // a second time: next_followup_at, due_on, expected_close_on, hired_on, target month
	amt      int64 // cents, or a count (duration_s, target value)
	seq      uint64
	id       int32 // the event's own entity number
	a, b, c  int32
	kind     uint8
	e1, e2   uint8
	flags    uint16
}

type plan struct {
	dropTeam                                              int16
	dropFrom                                              int
	teamChanger, deactivated, backfiller, burster, behind int32
	missingTarget, revised                                int32
	missingMonth                                          int
	poorCompleteness, loginGap, dormant                   []int32
	backfillDays, burstDays                               []int
}

type dayInfo struct {
	start int64
	wd    time.Weekday
	y, m  int
	d     int
	doy   int // 0-based day of year, 365 for 31 Dec of leap years
}

type counters struct {
	follow, lead, opp, contract, invoice, payment, ticket int32
}

// sim is one run of the company simulation. It generates events day by day:
// each day's spontaneous activity is created, processes (opportunities,
// tickets, invoices…) schedule their later events into the buckets of later
// days, and then the day's bucket is sorted by occurred_at and written out.
type sim struct {
	o          Options
	nEmp       int
	nDays      int
	limitEnd   bool // drop events at or after end (History); Stream runs on
	start, end int64
	clk        *clock
	rng        *rand.Rand // the simulation
	idr        *rand.Rand // event ids
	badr       *rand.Rand // bad messages

	teams    []team
	emps     []employee
	custs    []customer
	paying   []int32 // customers with a contract: they open tickets
	leadRing []int32 // recent lead customers (marketing nurtures them)
	renewals [366][]int32
	l1, t2   []int32 // service agents
	plan     plan

	y0, m0, d0    int
	days          []dayInfo
	buckets       [][]ev
	cur           int
	seq           uint64
	n             counters
	curMonthStart int64
	syncEnd       int64  // the initial CRM sync ends here: activity starts after it
	syncSeq       uint64 // the last event of the initial sync
	targetsDone   map[int]bool

	buf, kbuf, bbuf []byte
	out             func(topic string, key, val []byte) error
	silent          bool // simulate without writing (Live fast-forward)
	emitted         int
}

var errStop = errors.New("generate: stop")

func newSim(o Options, nEmp, nDays int) *sim {
	s := &sim{o: o, nEmp: nEmp, nDays: nDays}
	s.rng = rand.New(rand.NewPCG(uint64(o.Seed), 0x9e3779b97f4a7c15))
	s.idr = rand.New(rand.NewPCG(uint64(o.Seed), 0xd1b54a32d192ed03))
	s.badr = rand.New(rand.NewPCG(uint64(o.Seed), 0xa0761d6478bd642f))
	s.clk = newClock(o.Location)
	s.end = o.Now.Unix()
	s.start = s.end - int64(nDays)*86400
	st := time.Unix(s.start, 0).In(o.Location)
	s.y0, s.m0, s.d0 = st.Year(), int(st.Month()), st.Day()
	s.nDays = s.dayOf(s.end-1) + 1
	ms := time.Unix(s.end-1, 0).In(o.Location)
	s.curMonthStart = time.Date(ms.Year(), ms.Month(), 1, 0, 0, 0, 0, o.Location).Unix()
	s.targetsDone = map[int]bool{}
	s.plan = plan{teamChanger: -1, deactivated: -1, backfiller: -1, burster: -1, behind: -1, missingTarget: -1, revised: -1}
	s.buildCompany()
	s.buildCustomers()
	s.planAnomalies()
	s.initExpectations()
	for ei := range s.emps {
		e := &s.emps[ei]
		if e.role == roleService {
			if s.teams[e.team].tier2 {
				s.t2 = append(s.t2, int32(ei))
			} else {
				s.l1 = append(s.l1, int32(ei))
			}
		}
	}
	if len(s.t2) == 0 {
		s.t2 = s.l1
	}
	if len(s.l1) == 0 {
		s.l1 = s.t2
	}
	s.buf = make([]byte, 0, 2048)
	s.kbuf = make([]byte, 0, 64)
	return s
}

// ---- calendar ----

func (s *sim) info(d int) *dayInfo {
	for len(s.days) <= d {
		i := len(s.days)
		t := time.Date(s.y0, time.Month(s.m0), s.d0+i, 0, 0, 0, 0, s.o.Location)
		doy := t.YearDay() - 1
		s.days = append(s.days, dayInfo{start: t.Unix(), wd: t.Weekday(), y: t.Year(), m: int(t.Month()), d: t.Day(), doy: doy})
	}
	return &s.days[d]
}

func (s *sim) dayStart(d int) int64 {
	if d >= 0 {
		return s.info(d).start
	}
	return time.Date(s.y0, time.Month(s.m0), s.d0+d, 0, 0, 0, 0, s.o.Location).Unix()
}

func (s *sim) weekday(d int) time.Weekday { return s.info(d).wd }

func (s *sim) working(d int) bool {
	wd := s.info(d).wd
	return wd != time.Saturday && wd != time.Sunday
}

func (s *sim) date(d int) (y, m, dd int) {
	i := s.info(d)
	return i.y, i.m, i.d
}

// dayOf returns the day index of unix time t (may be negative).
func (s *sim) dayOf(t int64) int {
	if t < s.dayStart(0) {
		return int(floorDiv(t-s.dayStart(0), 86400))
	}
	d := int((t - s.dayStart(0)) / 86400)
	for d > 0 && s.dayStart(d) > t {
		d--
	}
	for s.dayStart(d+1) <= t {
		d++
	}
	return d
}

func (s *sim) nextWorking(d int) int {
	for !s.working(d) {
		d++
	}
	return d
}

// bizSec draws a time of day (seconds) for office work.
func (s *sim) bizSec() int64 {
	r := s.rng
	var h float64
	switch u := r.Float64(); {
	case u < 0.46:
		h = uniform(r, 8.75, 12)
	case u < 0.91:
		h = uniform(r, 13.25, 18)
	case u < 0.97:
		h = uniform(r, 18, 21)
	default:
		h = uniform(r, 7.5, 8.75)
	}
	return int64(h * 3600)
}

func (s *sim) bizTime(d int) int64 { return s.dayStart(d) + s.bizSec() }

// toBiz moves t into office hours (working days 08:30-19:00).
func (s *sim) toBiz(t int64) int64 {
	d := s.dayOf(t)
	sec := t - s.dayStart(d)
	if s.working(d) {
		if sec >= 8*3600+1800 && sec < 19*3600 {
			return t
		}
		if sec < 8*3600+1800 {
			return s.dayStart(d) + 8*3600 + 1800 + s.rng.Int64N(3600)
		}
	}
	d = s.nextWorking(d + 1)
	return s.dayStart(d) + 8*3600 + 1800 + s.rng.Int64N(5400)
}

// toService moves t into service-desk hours (weekdays 08-21, weekends 09-18).
func (s *sim) toService(t int64) int64 {
	d := s.dayOf(t)
	open, closeAt := int64(8*3600), int64(21*3600)
	if !s.working(d) {
		open, closeAt = 9*3600, 18*3600
	}
	sec := t - s.dayStart(d)
	if sec >= open && sec < closeAt {
		return t
	}
	if sec < open {
		return s.dayStart(d) + open + s.rng.Int64N(2700)
	}
	d++
	open = 8 * 3600
	if !s.working(d) {
		open = 9 * 3600
	}
	return s.dayStart(d) + open + s.rng.Int64N(2700)
}

func (s *sim) poisson(l float64) int {
	if l <= 0 {
		return 0
	}
	if l > 30 {
		return max(0, int(math.Round(l+math.Sqrt(l)*s.rng.NormFloat64())))
	}
	lim, p, k := math.Exp(-l), 1.0, 0
	for {
		p *= s.rng.Float64()
		if p <= lim {
			return k
		}
		k++
	}
}

// ---- employees ----

func (s *sim) activeOn(ei int32, d int) bool {
	e := &s.emps[ei]
	return d >= e.startDay && d <= e.endDay && d < e.leaveFrom
}

// ---- scheduling ----

func (s *sim) add(e ev) {
	if s.limitEnd && e.occ >= s.end {
		return
	}
	if s.limitEnd && e.rec >= s.end {
		e.rec = s.end - 1 - s.rng.Int64N(max(1, min(600, s.end-1-e.occ)))
	}
	if e.rec < e.occ {
		e.rec = e.occ
	}
	d := s.dayOf(e.occ)
	if d < s.cur {
		d = s.cur // late: goes out with today's events
	}
	for len(s.buckets) <= d {
		s.buckets = append(s.buckets, nil)
	}
	s.seq++
	e.seq = s.seq
	s.buckets[d] = append(s.buckets[d], e)
}

// recOf is when an event occurring at t is entered: usually minutes later,
// sometimes hours, now and then the next day.
func (s *sim) recOf(t int64) int64 {
	r := s.rng
	switch u := r.Float64(); {
	case u < 0.8:
		return t + 20 + int64(r.ExpFloat64()*220)
	case u < 0.96:
		return t + 600 + r.Int64N(5*3600)
	default:
		return t + 12*3600 + r.Int64N(18*3600)
	}
}

func (s *sim) extra() uint16 {
	if s.rng.Float64() < 0.015 {
		return fExtra
	}
	return 0
}

// ---- the run ----

// run simulates until the history ends (limitEnd) or out returns an error.
func (s *sim) run() error {
	for d := 0; ; d++ {
		if s.limitEnd && d >= s.nDays {
			return nil
		}
		s.cur = d
		s.genDay(d)
		if err := s.flush(d); err != nil {
			if err == errStop {
				return nil
			}
			return err
		}
	}
}

func cmpEv(x, y ev) int {
	if c := cmp.Compare(x.occ, y.occ); c != 0 {
		return c
	}
	return cmp.Compare(x.seq, y.seq)
}

func (s *sim) flush(d int) error {
	if d >= len(s.buckets) {
		return nil
	}
	b := s.buckets[d]
	slices.SortFunc(b, cmpEv)
	for i := range b {
		e := &b[i]
		if e.occ < s.start || (s.limitEnd && e.occ >= s.end) || (e.occ < s.syncEnd && e.seq > s.syncSeq) {
			continue // outside the history, or before the initial sync is done
		}
		if !s.materialize(e) {
			continue
		}
		if s.silent {
			s.emitted++
			continue
		}
		topic, key, val := s.encode(e)
		if s.o.BadRate > 0 && s.badr.Float64() < s.o.BadRate {
			val = s.corrupt(e, val)
		}
		s.emitted++
		if err := s.out(topic, key, val); err != nil {
			return err
		}
	}
	s.buckets[d] = nil
	return nil
}

// materialize applies state changes that take effect when an event happens
// and reports whether the event is still to be written.
func (s *sim) materialize(e *ev) bool {
	if e.kind != kCustomer {
		return true
	}
	c := &s.custs[e.a]
	if e.e1 != stKeep {
		if e.flags&fIfChange != 0 && c.stage == e.e1 {
			return false
		}
		c.stage = e.e1
	}
	if e.flags&fFillIn != 0 && c.fill != 0 {
		for f := 0; f < len(profileFields); f++ {
			if c.fill>>(2*f)&3 != 0 {
				c.fill &^= 3 << (2 * f)
				break
			}
		}
	}
	return true
}

// ---- one day ----

func (s *sim) genDay(d int) {
	if d == 0 {
		s.initialSync()
	}
	s.employeeChanges(d)
	s.targets(d)
	s.renewalsDue(d)
	s.leads(d)
	s.opportunities(d)
	s.followups(d)
	s.plantBurst(d)
	s.tickets(d)
	s.logins(d)
	s.ownerChanges(d)
	s.profileEdits(d)
}

// profileEdits: reps open and save customer records (sometimes completing a
// missing field), which re-emits customer.upserted with the same state.
func (s *sim) profileEdits(d int) {
	if !s.working(d) {
		return
	}
	for ei := range s.emps {
		e := &s.emps[ei]
		if e.role != roleSales || !s.activeOn(int32(ei), d) {
			continue
		}
		for n := s.poisson(1.5); n > 0; n-- {
			if ci := s.pickCustomer(int32(ei), d); ci >= 0 {
				t := s.bizTime(d)
				s.add(ev{kind: kCustomer, occ: t, rec: s.recOf(t), a: ci, e1: stKeep, flags: s.fillIn(int32(ei)) | s.extra()})
			}
		}
	}
}

// initialSync writes every employee and customer at the start of history,
// as a CRM export would, and seeds the open pipeline.
func (s *sim) initialSync() {
	t := s.start
	for ei := range s.emps {
		e := &s.emps[ei]
		if e.startDay > 0 {
			continue
		}
		s.add(s.employeeEv(int32(ei), t, e.team, e.mgr, true))
		t += 2
	}
	for ci := range s.custs {
		s.add(ev{kind: kCustomer, occ: t, rec: t, a: int32(ci), e1: stKeep, flags: s.extra()})
		if ci%4 == 3 {
			t++
		}
	}
	s.syncEnd, s.syncSeq = t+1, s.seq
	// open pipeline: deals that were already under way
	for ei := range s.emps {
		e := &s.emps[ei]
		if e.role != roleSales || e.startDay > 0 {
			continue
		}
		n := 6 + s.rng.IntN(4)
		if s.teams[e.team].key {
			n = 3 + s.rng.IntN(2)
		}
		for k := 0; k < n; k++ {
			ci := s.pickOppCustomer(int32(ei), 0)
			if ci < 0 {
				continue
			}
			d := s.nextWorking(s.rng.IntN(5))
			if d >= s.nDays {
				d = 0
			}
			st := uint8(s.rng.IntN(4))
			s.newOpp(int32(ei), ci, max(s.syncEnd+60+s.rng.Int64N(3600), s.bizTime(d)), st, ckNew, d)
		}
	}
}

func (s *sim) employeeEv(ei int32, t int64, tm int16, mgr int32, active bool) ev {
	e := ev{kind: kEmployee, occ: t, rec: t + s.rng.Int64N(30), a: ei, b: int32(tm), c: mgr, ts: s.emps[ei].hiredOn}
	if active {
		e.flags |= fActive
	}
	return e
}

func (s *sim) employeeChanges(d int) {
	for ei := range s.emps {
		e := &s.emps[ei]
		id := int32(ei)
		switch d {
		case e.startDay:
			if d > 0 {
				s.add(s.employeeEv(id, s.dayStart(d)+9*3600+s.rng.Int64N(1800), e.team, e.mgr, true))
			}
		case e.teamChangeDay:
			e.team = e.newTeam
			e.mgr = s.teams[e.team].manager
			s.add(s.employeeEv(id, s.dayStart(d)+9*3600+40*60+s.rng.Int64N(600), e.team, e.mgr, true))
		case e.endDay:
			s.add(s.employeeEv(id, s.dayStart(d)+18*3600+s.rng.Int64N(900), e.team, e.mgr, false))
		}
	}
}

// targets sets monthly targets on the first working day of each month (for
// the month history starts in: right at the start).
func (s *sim) targets(d int) {
	y, m, _ := s.date(d)
	month := y*100 + m
	if s.targetsDone[month] {
		return
	}
	var t int64
	switch {
	case d == 0:
		first := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, s.o.Location).Unix()
		if first < s.start {
			t = s.start + 3600 + s.rng.Int64N(1800)
		}
	case s.working(d):
		t = s.dayStart(d) + 9*3600 + s.rng.Int64N(2*3600)
	}
	if t == 0 {
		return
	}
	s.targetsDone[month] = true
	monthStart := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, s.o.Location).Unix()
	wdays := 0
	for dd := time.Date(y, time.Month(m), 1, 12, 0, 0, 0, s.o.Location); int(dd.Month()) == m; dd = dd.AddDate(0, 0, 1) {
		if wd := dd.Weekday(); wd != time.Saturday && wd != time.Sunday {
			wdays++
		}
	}
	for ei := range s.emps {
		e := &s.emps[ei]
		if e.role != roleSales || d < e.startDay || d > e.endDay || (e.startDay > 0 && d < e.startDay+10) {
			continue
		}
		if int32(ei) == s.plan.missingTarget && month == s.plan.missingMonth {
			continue
		}
		vals := s.targetValues(int32(ei), wdays)
		tt := t + int64(ei)
		for k := range vals {
			s.add(ev{kind: kTarget, occ: tt, rec: tt + 5, a: int32(ei), e1: uint8(k), ts: monthStart, amt: vals[k]})
		}
		if int32(ei) == s.plan.revised {
			// the manager lowers the revenue target after ten days
			rd := s.nextWorking(d + 10)
			if yy, mm, _ := s.date(rd); yy*100+mm == month {
				rt := s.dayStart(rd) + 15*3600
				s.add(ev{kind: kTarget, occ: rt, rec: rt + 30, a: int32(ei), e1: tmRevenue, ts: monthStart, amt: vals[0] * 4 / 5 / 10000 * 10000})
			}
		}
	}
}

// ---- sales ----

func (s *sim) salesActive(d int) []int32 {
	var out []int32
	for ei := range s.emps {
		if s.emps[ei].role == roleSales && s.activeOn(int32(ei), d) {
			out = append(out, int32(ei))
		}
	}
	return out
}

func (s *sim) leads(d int) {
	reps := s.salesActive(d)
	if len(reps) == 0 {
		return
	}
	w := make([]float64, len(reps))
	for i, ei := range reps {
		w[i] = 1
		if s.teams[s.emps[ei].team].key {
			w[i] = 0.35
		}
	}
	l := 1.3 * float64(len(reps))
	if !s.working(d) {
		l *= 0.25
	}
	r := s.rng
	for n := s.poisson(l); n > 0; n-- {
		owner := reps[s.pickWeighted(w)]
		src := uint8(s.pickWeighted(leadSourceWeights))
		camp := uint8(stKeep)
		if cs := campaignsBySource[src]; len(cs) > 0 && r.Float64() < 0.8 {
			camp = cs[r.IntN(len(cs))]
		}
		t := s.bizTime(d)
		if (src == 0 || src == 3) && r.Float64() < 0.25 {
			t = s.dayStart(d) + r.Int64N(86400) // web and WeChat inquiries come at any hour
		}
		var ci int32 = -1
		if r.Float64() < 0.15 {
			ci = s.pickStage(owner, stCustomer, d)
		}
		if ci < 0 {
			ci = s.newCustomer(owner, stLead, src)
			s.custs[ci].weight = float32(uniform(r, 0.8, 1.6))
			s.add(ev{kind: kCustomer, occ: t, rec: t + r.Int64N(20), a: ci, e1: stLead, flags: s.extra()})
			if len(s.leadRing) < 256 {
				s.leadRing = append(s.leadRing, ci)
			} else {
				s.leadRing[int(s.n.lead)%256] = ci
			}
		}
		s.n.lead++
		lt := t + 1 + r.Int64N(40)
		s.add(ev{kind: kLead, occ: lt, rec: lt + r.Int64N(10), id: s.n.lead, a: ci, b: owner, e1: src, e2: camp, flags: s.extra()})
		// first response
		var delay float64
		switch u := r.Float64(); {
		case u < 0.70:
			delay = math.Min(6, lognormal(r, 1.2, 0.8))
		case u < 0.88:
			delay = uniform(r, 4, 24)
		case u < 0.96:
			delay = uniform(r, 24, 72)
		default:
			continue // never answered
		}
		tr := s.toBiz(lt + int64(delay*3600))
		if s.activeOn(owner, s.dayOf(tr)) {
			s.followup(owner, ci, tr, 1, r.Float64() < 0.6)
		}
	}
}

// pickStage returns a random customer of owner in stage st (or -1).
func (s *sim) pickStage(owner int32, st uint8, d int) int32 {
	cs := s.emps[owner].custs
	if len(cs) == 0 {
		return -1
	}
	for try := 0; try < 12; try++ {
		ci := cs[s.rng.IntN(len(cs))]
		c := &s.custs[ci]
		if c.stage == st && int(c.dormantDay) > d {
			return ci
		}
	}
	return -1
}

// pickOppCustomer chooses a customer for a new opportunity: mostly leads and
// prospects, sometimes existing customers (upsell).
func (s *sim) pickOppCustomer(owner int32, d int) int32 {
	cs := s.emps[owner].custs
	if len(cs) == 0 {
		return -1
	}
	upsell := s.rng.Float64() < 0.3
	for try := 0; try < 16; try++ {
		ci := cs[s.rng.IntN(len(cs))]
		c := &s.custs[ci]
		if int(c.oppUntil) >= d || int(c.dormantDay) <= d+60 || c.churnPlan {
			continue
		}
		if upsell == (c.stage == stCustomer) && c.stage != stChurned {
			return ci
		}
	}
	return -1
}

func (s *sim) opportunities(d int) {
	if !s.working(d) {
		return
	}
	for ei := range s.emps {
		e := &s.emps[ei]
		if e.oppRate == 0 || !s.activeOn(int32(ei), d) || s.rng.Float64() >= e.oppRate {
			continue
		}
		ci := s.pickOppCustomer(int32(ei), d)
		if ci < 0 {
			continue
		}
		st := osQualification
		if s.rng.Float64() < 0.25 {
			st = osNeeds
		}
		s.newOpp(int32(ei), ci, s.bizTime(d), st, ckNew, d)
	}
}

// newOpp creates an opportunity at t and plans its whole life: stage
// changes, the outcome, and for a win the contract with its invoices.
func (s *sim) newOpp(owner, ci int32, t int64, st uint8, kind uint8, d int) {
	r := s.rng
	e := &s.emps[owner]
	c := &s.custs[ci]
	s.n.opp++
	id := s.n.opp
	var amount int64
	win := r.Float64() < e.winRate
	stageDays := e.stageDays
	switch {
	case kind == ckRenewal:
		amount = roundMoney(r, float64(c.acv)*uniform(r, 0.97, 1.12))
		win = r.Float64() < 0.85
		stageDays = 4
	case c.stage == stCustomer:
		amount = roundMoney(r, lognormal(r, e.amountMedian*0.5, 0.6))
		kind = ckUpsell
	default:
		amount = roundMoney(r, lognormal(r, e.amountMedian, 0.7))
	}
	oe := ev{kind: kOppCreated, occ: t, rec: s.recOf(t), id: id, a: ci, b: owner, amt: amount, e1: st, flags: s.extra()}
	if r.Float64() < 0.7 {
		oe.ts = t + int64(uniform(r, 25, 70)*86400)
	}
	s.add(oe)
	if c.stage == stLead {
		s.add(ev{kind: kCustomer, occ: t + 20, rec: t + 25, a: ci, e1: stProspect, flags: fIfChange | s.fillIn(owner)})
	}
	lostAt := uint8(99)
	if !win {
		// lost mostly early in the funnel
		lostAt = st
		for lostAt < osNegotiation && r.Float64() < 0.45 {
			lostAt++
		}
	}
	cur, tt := st, t
	for {
		tt = s.toBiz(tt + int64(lognormal(r, stageDays, 0.55)*86400))
		if cur == lostAt {
			le := ev{kind: kOppStage, occ: tt, rec: s.recOf(tt), id: id, e1: osLost, e2: stKeep}
			if r.Float64() < 0.85 {
				le.e2 = uint8(r.IntN(len(lostReasons)))
			}
			s.add(le)
			break
		}
		if cur == osNegotiation {
			if e.behind && tt >= s.curMonthStart {
				tt = max(tt, s.end) + int64(uniform(r, 3, 30)*86400) // the deal slips
			}
			we := ev{kind: kOppStage, occ: tt, rec: s.recOf(tt), id: id, e1: osWon, e2: stKeep, amt: amount}
			if r.Float64() < 0.6 {
				amount = roundMoney(r, float64(amount)*uniform(r, 0.9, 1))
				we.amt = amount
			}
			if r.Float64() < 0.7 {
				we.flags |= fAmount
			}
			s.add(we)
			s.newContract(owner, ci, s.toBiz(tt+r.Int64N(3*86400)), amount, id, kind)
			break
		}
		cur++
		se := ev{kind: kOppStage, occ: tt, rec: s.recOf(tt), id: id, e1: cur, e2: stKeep}
		if cur == osProposal && r.Float64() < 0.4 {
			amount = roundMoney(r, float64(amount)*uniform(r, 0.85, 1.15))
			se.amt, se.flags = amount, fAmount
		}
		s.add(se)
	}
	c.opp = id
	c.oppUntil = int32(s.dayOf(tt))
}

// fillIn decides whether an owner completes a missing profile field when a
// customer record is touched.
func (s *sim) fillIn(owner int32) uint16 {
	p := 0.3
	if s.emps[owner].poorCompleteness {
		p = 0.03
	}
	if s.rng.Float64() < p {
		return fFillIn
	}
	return 0
}

// newContract signs a contract and plans its invoices and payments.
func (s *sim) newContract(owner, ci int32, t int64, amount int64, opp int32, kind uint8) {
	r := s.rng
	c := &s.custs[ci]
	if s.emps[owner].behind && t >= s.curMonthStart {
		t = max(t, s.end) + int64(uniform(r, 1, 20)*86400)
	}
	if kind == ckNew && c.hasDeal {
		kind = ckUpsell
	}
	s.n.contract++
	id := s.n.contract
	ce := ev{kind: kContract, occ: t, rec: t + 60 + r.Int64N(4*3600), id: id, a: ci, b: owner, c: opp, amt: amount, e1: kind, flags: s.extra()}
	if r.Float64() < 0.08 {
		ce.e1 = stKeep // kind not given
	}
	s.add(ce)
	if !c.hasDeal {
		c.hasDeal = true
		s.paying = append(s.paying, ci)
	}
	if c.stage != stCustomer {
		s.add(ev{kind: kCustomer, occ: t + 30, rec: t + 40, a: ci, e1: stCustomer, flags: fIfChange | s.fillIn(owner)})
	}
	if c.renewDoy < 0 {
		c.renewDoy = int16(s.info(max(0, s.dayOf(t))).doy % 365)
		s.renewals[c.renewDoy] = append(s.renewals[c.renewDoy], ci)
		c.acv = amount
	}
	// invoices: one, two or three instalments
	shares := []float64{1}
	switch u := r.Float64(); {
	case u < 0.55:
	case u < 0.85:
		shares = []float64{0.5, 0.5}
	default:
		shares = []float64{0.4, 0.3, 0.3}
	}
	left := amount
	for k, sh := range shares {
		amt := int64(float64(amount) * sh)
		if k == len(shares)-1 {
			amt = left
		}
		left -= amt
		ti := s.toBiz(t + int64(k)*30*86400 + r.Int64N(4*86400))
		s.n.invoice++
		inv := s.n.invoice
		due := ti + 30*86400
		s.add(ev{kind: kInvoice, occ: ti, rec: ti + r.Int64N(600), id: inv, c: id, amt: amt, ts: due, flags: s.extra()})
		s.payments(c.payer, inv, id, ti, due, amt)
	}
}

func (s *sim) payments(payer uint8, inv, contract int32, issued, due, amt int64) {
	r := s.rng
	if u := r.Float64(); u < 0.08 && payer == 0 {
		payer = 1
	} else if u > 0.97 && payer != 0 {
		payer = 0
	}
	pay := func(t, a int64) {
		if a <= 0 {
			return
		}
		t = s.toBiz(t)
		s.n.payment++
		s.add(ev{kind: kPayment, occ: t, rec: t + r.Int64N(2*86400), id: s.n.payment, b: inv, c: contract, amt: a, flags: s.extra()})
	}
	day := int64(86400)
	switch payer {
	case 0: // on time
		pay(issued+day*(3+r.Int64N(int64(max(1, (due-issued)/day-3)))), amt)
	case 1: // late
		pay(due+day*(3+r.Int64N(43)), amt)
	case 2: // partial
		part := amt * (30 + r.Int64N(41)) / 100
		pay(due+day*(r.Int64N(11)-5), part)
		if r.Float64() < 0.5 {
			pay(due+day*(20+r.Int64N(41)), amt-part)
		}
	default: // mostly never
		if r.Float64() < 0.3 {
			pay(due+day*(60+r.Int64N(61)), amt)
		}
	}
}

// renewalsDue handles customers whose annual renewal is 25 days ahead (on
// day 0: anything within the next 25 days).
func (s *sim) renewalsDue(d int) {
	from, to := d+25, d+25
	if d == 0 {
		from = 0
	}
	for T := from; T <= to; T++ {
		doy := s.info(T).doy
		if doy >= 365 {
			continue
		}
		for _, ci := range s.renewals[doy] {
			c := &s.custs[ci]
			if c.stage != stCustomer || c.churnPlan {
				continue
			}
			r := s.rng
			owner := c.owner
			tT := s.bizTime(s.nextWorking(T))
			switch u := r.Float64(); {
			case u < 0.09: // does not renew
				c.churnPlan = true
				s.add(ev{kind: kCustomer, occ: tT, rec: s.recOf(tT), a: ci, e1: stChurned, flags: fIfChange})
			case u < 0.55 || T-d < 10 || !s.activeOn(owner, d):
				s.newContract(owner, ci, tT, roundMoney(r, float64(c.acv)*uniform(r, 1, 1.08)), 0, ckRenewal)
			default:
				if int(c.oppUntil) < d {
					s.newOpp(owner, ci, s.bizTime(s.nextWorking(d)), osProposal, ckRenewal, d)
				}
			}
		}
	}
}

// ---- follow-ups ----

// pickCustomer draws one of the employee's customers by attention weight.
func (s *sim) pickCustomer(ei int32, d int) int32 {
	e := &s.emps[ei]
	if len(e.custs) == 0 {
		return -1
	}
	if e.cumDay != d {
		e.cum = e.cum[:0]
		var sum float64
		for _, ci := range e.custs {
			c := &s.custs[ci]
			w := float64(c.weight)
			switch {
			case int(c.dormantDay) <= d:
				w = 0
			case c.stage == stChurned:
				w *= 0.05
			case int(c.oppUntil) >= d:
				w *= 2
			}
			sum += w
			e.cum = append(e.cum, sum)
		}
		e.cumDay = d
	}
	total := e.cum[len(e.cum)-1]
	if total <= 0 {
		return -1
	}
	i := sort.SearchFloat64s(e.cum, s.rng.Float64()*total)
	if i >= len(e.custs) {
		i = len(e.custs) - 1
	}
	return e.custs[i]
}

func (s *sim) isBackfillDay(ei int32, d int) bool {
	if ei != s.plan.backfiller {
		return false
	}
	return slices.Contains(s.plan.backfillDays, d)
}

func (s *sim) followups(d int) {
	r := s.rng
	work := s.working(d)
	for ei := range s.emps {
		e := &s.emps[ei]
		id := int32(ei)
		if e.fuRate == 0 || !s.activeOn(id, d) {
			continue
		}
		rate := e.fuRate * 0.7 // the rest are first responses and kept promises
		if !work {
			rate = e.fuRate * 0.03
		}
		if e.team == s.plan.dropTeam && d >= s.plan.dropFrom {
			rate *= 0.3
		}
		n := s.poisson(rate)
		if s.isBackfillDay(id, d) {
			n = max(n, 9)
		}
		for ; n > 0; n-- {
			var ci int32
			switch {
			case e.role == roleMarketing:
				if len(s.leadRing) == 0 {
					continue
				}
				ci = s.leadRing[r.IntN(len(s.leadRing))]
			case e.role == roleManager && r.Float64() < 0.5:
				// joins a team member's customer
				mates := s.teamSales(e.team, d)
				if len(mates) == 0 {
					continue
				}
				ci = s.pickCustomer(mates[r.IntN(len(mates))], d)
			default:
				ci = s.pickCustomer(id, d)
			}
			if ci < 0 {
				continue
			}
			t := s.bizTime(d)
			if !work {
				t = s.dayStart(d) + int64(uniform(r, 9, 21)*3600)
			}
			s.followup(id, ci, t, 0, false)
		}
	}
}

func (s *sim) teamSales(tm int16, d int) []int32 {
	var out []int32
	for ei := range s.emps {
		if s.emps[ei].team == tm && s.emps[ei].role == roleSales && s.activeOn(int32(ei), d) {
			out = append(out, int32(ei))
		}
	}
	return out
}

// followup logs one follow-up and plans what it promises.
func (s *sim) followup(ei, ci int32, t int64, depth int, first bool) {
	r := s.rng
	e := &s.emps[ei]
	c := &s.custs[ci]
	d := s.dayOf(t)
	s.n.follow++
	f := ev{kind: kFollowup, occ: t, rec: s.recOf(t), id: s.n.follow, a: ci, b: ei, e2: stKeep, flags: s.extra()}
	// channel
	u := r.Float64()
	ch := uint8(0)
	for ch < 5 && u >= e.chanCum[ch] {
		ch++
	}
	if first {
		ch = chPhone
		if r.Float64() < 0.4 {
			ch = chWechat
		}
	}
	f.e1 = ch
	if r.Float64() < 0.8 {
		f.e2 = uint8(r.IntN(len(followupSummaries[ch])))
	}
	switch ch {
	case chPhone:
		f.amt, f.flags = int64(math.Min(3600, lognormal(r, 240, 0.8))), f.flags|fDuration
	case chVisit:
		f.amt, f.flags = int64(uniform(r, 1800, 7200)), f.flags|fDuration
	case chMeeting:
		f.amt, f.flags = int64(uniform(r, 1800, 5400)), f.flags|fDuration
	case chOther:
		if r.Float64() < 0.5 {
			f.amt, f.flags = int64(uniform(r, 300, 3600)), f.flags|fDuration
		}
	}
	if c.opp != 0 && int(c.oppUntil) >= d && r.Float64() < 0.75 {
		f.c = c.opp
	}
	if s.isBackfillDay(ei, d) && depth == 0 {
		// entered on Friday afternoon, four days later
		f.rec = s.dayStart(d+4) + 15*3600 + r.Int64N(3*3600)
		f.flags |= fBackfilled
	}
	// promise of a next follow-up
	if r.Float64() < 0.45 && depth < 6 {
		pd := d + 1 + r.IntN(7)
		for !s.working(pd) {
			pd++
		}
		promise := s.dayStart(pd) + int64(uniform(r, 9, 17)*3600)
		f.ts = promise
		keep := e.keep
		if e.team == s.plan.dropTeam && pd >= s.plan.dropFrom {
			keep *= 0.3
		}
		ok := s.activeOn(ei, pd) && int(c.dormantDay) > pd+3
		switch {
		case ok && r.Float64() < keep:
			tk := promise + int64(uniform(r, -2, 4)*3600)
			if tk <= t+1800 {
				tk = promise
			}
			s.followup(ei, ci, tk, depth+1, false)
		case ok && r.Float64() < 0.5:
			ld := pd + 2 + r.IntN(4)
			if s.activeOn(ei, ld) && int(c.dormantDay) > ld {
				s.followup(ei, ci, s.bizTime(ld), depth+1, false)
			}
		}
	}
	s.add(f)
}

// plantBurst: after a trade show the burster enters two dozen contacts at
// once, all recorded within a few minutes.
func (s *sim) plantBurst(d int) {
	ei := s.plan.burster
	if ei < 0 || !slices.Contains(s.plan.burstDays, d) || !s.activeOn(ei, d) {
		return
	}
	r := s.rng
	at := s.dayStart(d) + 17*3600 + 30*60 + r.Int64N(600)
	n := 22 + r.IntN(5)
	for i := 0; i < n; i++ {
		src := uint8(2) // trade_show
		ci := s.newCustomer(ei, stLead, src)
		t := s.dayStart(d) + int64(uniform(r, 9, 16.5)*3600)
		s.add(ev{kind: kCustomer, occ: t, rec: at - 60, a: ci, e1: stLead})
		s.n.lead++
		s.add(ev{kind: kLead, occ: t + 1, rec: at - 59, id: s.n.lead, a: ci, b: ei, e1: src, e2: 2})
		s.n.follow++
		s.add(ev{kind: kFollowup, occ: t + 2, rec: at + int64(i)*int64(8+r.IntN(10)), id: s.n.follow, a: ci, b: ei,
			e1: chOther, e2: 1, flags: fBurst})
	}
}

// ---- tickets ----

func (s *sim) pickAgent(list []int32, d int, not int32) int32 {
	if len(list) == 0 {
		return -1
	}
	for try := 0; try < 10; try++ {
		ei := list[s.rng.IntN(len(list))]
		if ei != not && s.activeOn(ei, d) && s.emps[ei].leaveFrom > d+7 && s.emps[ei].endDay > d+3 {
			return ei
		}
	}
	return -1
}

func (s *sim) tickets(d int) {
	if len(s.paying) == 0 || len(s.l1) == 0 {
		return
	}
	r := s.rng
	l := 26 * float64(len(s.l1))
	if !s.working(d) {
		l *= 0.25
	}
	for n := s.poisson(l); n > 0; n-- {
		as := s.pickAgent(s.l1, d, -1)
		if as < 0 {
			continue
		}
		ci := s.paying[int(float64(len(s.paying))*math.Pow(r.Float64(), 1.4))]
		var t int64
		if r.Float64() < 0.93 {
			t = s.dayStart(d) + int64(uniform(r, 8, 20)*3600)
		} else {
			t = s.dayStart(d) + r.Int64N(86400)
		}
		s.ticket(ci, as, t, d)
	}
}

func (s *sim) ticket(ci, as int32, t int64, d int) {
	r := s.rng
	s.n.ticket++
	id := s.n.ticket
	var pr uint8
	switch u := r.Float64(); {
	case u < 0.05:
		pr = prUrgent
	case u < 0.23:
		pr = prHigh
	case u < 0.78:
		pr = prNormal
	default:
		pr = prLow
	}
	complaint := r.Float64() < 0.05
	cat := int32(r.IntN(catComplaint))
	if complaint {
		cat = catComplaint
		if pr == prLow {
			pr = prNormal
		}
	}
	op := ev{kind: kTicketOpened, occ: t, rec: t + r.Int64N(5), id: id, a: ci, b: -1, c: cat, e1: pr, e2: uint8(r.IntN(len(ticketChannels))), flags: s.extra()}
	if r.Float64() < 0.15 {
		op.e2 = stKeep
	}
	if r.Float64() < 0.1 && !complaint {
		op.c = -1
	}
	if complaint {
		op.flags |= fComplaint
	} else if r.Float64() < 0.3 {
		op.flags |= fNotComp
	}
	assignee := as
	if r.Float64() < 0.6 {
		op.b = as
		s.add(op)
	} else {
		s.add(op)
		ta := t + 60 + r.Int64N(25*60)
		s.add(ev{kind: kTicketAssigned, occ: ta, rec: ta + r.Int64N(5), id: id, b: as})
	}
	// first response
	sla := slaMinutes[pr] * 60
	var delay float64
	breached := false
	switch u := r.Float64(); {
	case u < 0.004:
		return // never answered
	case u < 0.084:
		delay = float64(sla) * uniform(r, 1.05, 3)
		breached = true
	default:
		delay = math.Max(60, float64(sla)*math.Pow(uniform(r, 0.02, 0.92), 1.7))
	}
	tr := t + int64(delay)
	if !breached && s.toService(tr) != tr && s.toService(t) == t {
		// answered before the desk closes
		closeAt := s.dayStart(d) + 21*3600
		if !s.working(d) {
			closeAt = s.dayStart(d) + 18*3600
		}
		if closeAt > t {
			tr = t + int64(float64(closeAt-t)*uniform(r, 0.1, 0.95))
		}
	}
	tr = s.toService(tr)
	if tr-t > sla {
		breached = true
	}
	if r.Float64() < 0.04 { // handed to a colleague before answering
		if o := s.pickAgent(s.l1, d, assignee); o >= 0 {
			ta := t + (tr-t)/2
			s.add(ev{kind: kTicketAssigned, occ: ta, rec: ta + r.Int64N(5), id: id, b: o})
			assignee = o
		}
	}
	s.add(ev{kind: kTicketResponded, occ: tr, rec: tr + r.Int64N(30), id: id, b: assignee})
	tt := tr
	if r.Float64() < 0.14 { // escalated to tier 2
		if o := s.pickAgent(s.t2, s.dayOf(tr), assignee); o >= 0 {
			tt = s.toService(tr + int64(uniform(r, 0.5, 6)*3600))
			s.add(ev{kind: kTicketAssigned, occ: tt, rec: tt + r.Int64N(5), id: id, b: o})
			assignee = o
		}
	}
	med := [4]float64{45, 22, 8, 3}[pr]
	if complaint {
		med *= 1.5
	}
	tres := s.toService(tt + int64(lognormal(r, med, 0.8)*3600))
	s.add(ev{kind: kTicketResolved, occ: tres, rec: tres + r.Int64N(60), id: id, b: assignee})
	reopened := false
	if r.Float64() < 0.05 {
		reopened = true
		to := tres + int64(uniform(r, 3, 120)*3600)
		s.add(ev{kind: kTicketReopened, occ: to, rec: to + r.Int64N(30), id: id})
		tres = s.toService(to + int64(uniform(r, 2, 30)*3600))
		s.add(ev{kind: kTicketResolved, occ: tres, rec: tres + r.Int64N(60), id: id, b: assignee})
	}
	if r.Float64() < 0.5 {
		w := []float64{4, 5, 9, 27, 55}
		if breached || reopened {
			w = []float64{12, 13, 20, 30, 25}
		}
		if complaint {
			w = []float64{20, 20, 25, 20, 15}
		}
		score := uint8(1 + s.pickWeighted(w))
		tc := tres + int64(uniform(r, 0.15, 36)*3600)
		ce := ev{kind: kCSAT, occ: tc, rec: tc + r.Int64N(10), id: id, e1: score, e2: stKeep}
		if r.Float64() < 0.3 {
			ce.e2 = uint8(r.IntN(len(csatComments)))
		}
		s.add(ce)
	}
}

// ---- logins ----

func (s *sim) logins(d int) {
	r := s.rng
	work := s.working(d)
	ds := s.dayStart(d)
	for ei := range s.emps {
		e := &s.emps[ei]
		id := int32(ei)
		if !s.activeOn(id, d) {
			continue
		}
		if !work {
			if r.Float64() < 0.05 {
				s.login(id, ds+int64(uniform(r, 9, 22)*3600), 1)
			}
			continue
		}
		if r.Float64() >= e.diligence {
			continue // a day off
		}
		s.login(id, ds+int64(uniform(r, 8.3, 9.75)*3600), 0)
		mobile := 0.4
		if e.role == roleSales {
			mobile = 0.7
		}
		if r.Float64() < mobile {
			s.login(id, ds+int64(uniform(r, 10, 19)*3600), 1)
		}
		for k := s.poisson(0.9); k > 0; k-- { // new sessions after lunch, meetings, expiry
			s.login(id, ds+int64(uniform(r, 10, 18.5)*3600), 0)
		}
	}
}

func (s *sim) login(ei int32, t int64, client uint8) {
	r := s.rng
	e := ev{kind: kLogin, occ: t, rec: t, a: ei, e1: client}
	switch u := r.Float64(); {
	case u < 0.05:
		e.e1 = stKeep
	case u < 0.06:
		e.e1 = 2 // api
	}
	if r.Float64() < 0.3 {
		e.flags |= fNoRec
	}
	s.add(e)
}

// ---- owner changes ----

func (s *sim) reassign(ci, to int32, t int64) {
	c := &s.custs[ci]
	from := &s.emps[c.owner]
	if i := slices.Index(from.custs, ci); i >= 0 {
		from.custs = slices.Delete(from.custs, i, i+1)
	}
	from.cumDay = -1
	c.owner = to
	s.emps[to].custs = append(s.emps[to].custs, ci)
	s.emps[to].cumDay = -1
	s.add(ev{kind: kCustomer, occ: t, rec: t + 5, a: ci, e1: stKeep})
}

func (s *sim) ownerChanges(d int) {
	r := s.rng
	if ei := s.plan.deactivated; ei >= 0 && d == s.emps[ei].endDay {
		mates := s.teamSales(s.emps[ei].team, d+1)
		if len(mates) == 0 {
			mates = s.salesActive(d + 1)
		}
		t := s.dayStart(d) + 18*3600 + 20*60
		for i, ci := range slices.Clone(s.emps[ei].custs) {
			if len(mates) > 0 {
				s.reassign(ci, mates[i%len(mates)], t+int64(i)*3)
			}
		}
	}
	// the new sales hire takes over some customers from teammates
	for ei := range s.emps {
		e := &s.emps[ei]
		if e.role != roleSales || e.startDay == 0 || d != e.startDay+2 {
			continue
		}
		t := s.dayStart(d) + 10*3600
		for _, m := range s.teamSales(e.team, d) {
			if m == int32(ei) {
				continue
			}
			for k := 0; k < 3 && len(s.emps[m].custs) > 10; k++ {
				cs := s.emps[m].custs
				s.reassign(cs[r.IntN(len(cs))], int32(ei), t)
				t += 7
			}
		}
	}
	// occasional single reassignments
	if s.nDays >= 8 && (d == s.nDays/4 || d == s.nDays/2 || d == s.nDays*3/4) {
		reps := s.salesActive(d)
		if len(reps) >= 2 {
			a := reps[r.IntN(len(reps))]
			b := reps[r.IntN(len(reps))]
			if a != b && len(s.emps[a].custs) > 1 {
				cs := s.emps[a].custs
				s.reassign(cs[r.IntN(len(cs))], b, s.bizTime(d))
			}
		}
	}
}

// targetValues proposes a month's targets for a rep: revenue, new customers,
// collections, follow-ups.
func (s *sim) targetValues(ei int32, wdays int) [4]int64 {
	r := s.rng
	e := &s.emps[ei]
	rev := math.Max(1, math.Round(e.expRevenue/100*uniform(r, 0.85, 1.15)/10000)) * 10000
	return [4]int64{
		int64(rev),
		int64(math.Max(1, math.Round(e.expNew*uniform(r, 0.9, 1.4)))),
		int64(math.Max(1, math.Round(rev*uniform(r, 0.75, 0.95)/5000)) * 5000),
		int64(math.Round(e.fuRate*float64(wdays)*uniform(r, 0.85, 1.0)/10) * 10),
	}
}
