package generate

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Live continues from the end of the history: it emits rate events per
// second (steady pacing, a chunk of about rate/20 every 50 ms) until ctx is
// done, with occurred_at = the wall clock. The mix is that of a working day:
// logins, follow-ups, leads, opportunities moving through the funnel, won
// deals with their contracts, invoices and payments, tickets being opened,
// answered, escalated, resolved, reopened and rated. Entities continue the
// history's (customers, employees, id numbering); if History has not run on
// this Generator, the history is simulated first without being sent. Event
// ids come from a generator seeded by the wall clock, so two live runs never
// share an event_id. It returns the number of messages sent; the end of ctx
// is not an error.
func (g *Generator) Live(ctx context.Context, sink Sink, rate float64) (int, error) {
	if !(rate > 0) {
		return 0, errors.New("generate: live rate must be > 0")
	}
	s := g.last
	if s == nil {
		s = newSim(g.opts, g.opts.Employees, g.opts.Days)
		s.limitEnd, s.silent = true, true
		if err := s.run(); err != nil {
			return 0, err
		}
		g.last = s
	}
	wall := uint64(time.Now().UnixNano())
	s.rng = rand.New(rand.NewPCG(uint64(g.opts.Seed)^wall, 1))
	s.idr = rand.New(rand.NewPCG(uint64(g.opts.Seed)^wall, 2))
	s.badr = rand.New(rand.NewPCG(uint64(g.opts.Seed)^wall, 3))
	lv := &live{s: s}

	chunk := max(1, int(rate/20+0.5))
	start := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	for {
		select {
		case <-ctx.Done():
			return sent, nil
		case <-tick.C:
		}
		now := time.Now()
		due := int(now.Sub(start).Seconds()*rate) - sent
		if due <= 0 {
			continue
		}
		if due > 4*chunk { // the sink is slow: do not try to catch up all at once
			start = start.Add(time.Duration(float64(due-4*chunk) / rate * float64(time.Second)))
			due = 4 * chunk
		}
		msgs := lv.next(now.Unix(), due)
		if err := sink.Send(ctx, msgs); err != nil {
			if ctx.Err() != nil {
				return sent, nil
			}
			return sent, err
		}
		sent += len(msgs)
	}
}

type liveTicket struct {
	id, assignee int32
	state        uint8 // 0 open, 1 answered, 2 resolved, 3 reopened
	complaint    bool
}

type liveOpp struct {
	id, cust, owner int32
	stage           uint8
	amount          int64
}

type liveInvoice struct {
	id, contract int32
	amount       int64
}

type live struct {
	s        *sim
	now      int64
	out      []Message
	tickets  []liveTicket
	opps     []liveOpp
	invoices []liveInvoice
}

const livePool = 5000

// next makes n messages occurring at now.
func (l *live) next(now int64, n int) []Message {
	s := l.s
	l.now = now
	l.out = make([]Message, 0, n)
	d := s.dayOf(now)
	s.cur = d
	l.targets(d)
	w := []float64{12, 30, 8, 26, 4, 3, 7, 4, 2} // login followup ticket ticket-step lead opp opp-step payment customer
	for len(l.out) < n {
		switch s.pickWeighted(w) {
		case 0:
			if ei := l.anyActive(d); ei >= 0 {
				l.emit(ev{kind: kLogin, a: ei, e1: uint8(s.rng.IntN(2))})
			}
		case 1:
			reps := s.salesActive(d)
			if len(reps) == 0 {
				continue
			}
			ei := reps[s.rng.IntN(len(reps))]
			if ci := s.pickCustomer(ei, d); ci >= 0 {
				l.followup(ei, ci, d)
			}
		case 2:
			l.openTicket(d)
		case 3:
			l.ticketStep(d)
		case 4:
			reps := s.salesActive(d)
			if len(reps) == 0 {
				continue
			}
			owner := reps[s.rng.IntN(len(reps))]
			src := uint8(s.pickWeighted(leadSourceWeights))
			ci := s.newCustomer(owner, stLead, src)
			l.emit(ev{kind: kCustomer, a: ci, e1: stLead})
			s.n.lead++
			camp := uint8(stKeep)
			if cs := campaignsBySource[src]; len(cs) > 0 {
				camp = cs[s.rng.IntN(len(cs))]
			}
			l.emit(ev{kind: kLead, id: s.n.lead, a: ci, b: owner, e1: src, e2: camp})
		case 5:
			l.newOpp(d)
		case 6:
			l.oppStep(d)
		case 7:
			l.payment()
		case 8:
			reps := s.salesActive(d)
			if len(reps) == 0 {
				continue
			}
			if ci := s.pickCustomer(reps[s.rng.IntN(len(reps))], d); ci >= 0 {
				l.emit(ev{kind: kCustomer, a: ci, e1: stKeep, flags: fFillIn})
			}
		}
	}
	return l.out
}

// emit writes one event at l.now.
func (l *live) emit(e ev) {
	s := l.s
	e.occ, e.rec = l.now, l.now
	s.seq++
	e.seq = s.seq
	if !s.materialize(&e) {
		return
	}
	topic, key, val := s.encode(&e)
	if s.o.BadRate > 0 && s.badr.Float64() < s.o.BadRate {
		val = s.corrupt(&e, val)
	}
	l.out = append(l.out, Message{Topic: topic, Key: append([]byte(nil), key...), Value: append([]byte(nil), val...)})
}

func (l *live) anyActive(d int) int32 {
	s := l.s
	for try := 0; try < 10; try++ {
		ei := int32(s.rng.IntN(len(s.emps)))
		if s.activeOn(ei, d) {
			return ei
		}
	}
	return -1
}

func (l *live) followup(ei, ci int32, d int) {
	s := l.s
	r := s.rng
	e := &s.emps[ei]
	c := &s.custs[ci]
	s.n.follow++
	f := ev{kind: kFollowup, id: s.n.follow, a: ci, b: ei, e2: stKeep}
	u := r.Float64()
	for f.e1 < 5 && u >= e.chanCum[f.e1] {
		f.e1++
	}
	if r.Float64() < 0.8 {
		f.e2 = uint8(r.IntN(len(followupSummaries[f.e1])))
	}
	if f.e1 == chPhone {
		f.amt, f.flags = int64(uniform(r, 60, 900)), fDuration
	}
	if c.opp != 0 && int(c.oppUntil) >= d {
		f.c = c.opp
	}
	if r.Float64() < 0.45 {
		f.ts = s.toBiz(l.now + int64(uniform(r, 1, 7)*86400))
	}
	l.emit(f)
}

func (l *live) openTicket(d int) {
	s := l.s
	r := s.rng
	if len(s.paying) == 0 || len(l.tickets) >= livePool {
		return
	}
	as := s.pickAgent(s.l1, d, -1)
	if as < 0 {
		return
	}
	s.n.ticket++
	t := liveTicket{id: s.n.ticket, assignee: as, complaint: r.Float64() < 0.05}
	pr := uint8(s.pickWeighted([]float64{22, 55, 18, 5}))
	cat := int32(r.IntN(catComplaint))
	var fl uint16
	if t.complaint {
		cat, fl = catComplaint, fComplaint
	}
	l.emit(ev{kind: kTicketOpened, id: t.id, a: s.paying[r.IntN(len(s.paying))], b: as, c: cat, e1: pr,
		e2: uint8(r.IntN(len(ticketChannels))), flags: fl})
	l.tickets = append(l.tickets, t)
}

func (l *live) ticketStep(d int) {
	s := l.s
	r := s.rng
	if len(l.tickets) == 0 {
		l.openTicket(d)
		return
	}
	i := r.IntN(len(l.tickets))
	t := &l.tickets[i]
	switch t.state {
	case 0:
		l.emit(ev{kind: kTicketResponded, id: t.id, b: t.assignee})
		t.state = 1
	case 1, 3:
		if t.state == 1 && r.Float64() < 0.15 {
			if o := s.pickAgent(s.t2, d, t.assignee); o >= 0 {
				t.assignee = o
				l.emit(ev{kind: kTicketAssigned, id: t.id, b: o})
				return
			}
		}
		l.emit(ev{kind: kTicketResolved, id: t.id, b: t.assignee})
		t.state = 2
	case 2:
		if r.Float64() < 0.08 {
			l.emit(ev{kind: kTicketReopened, id: t.id})
			t.state = 3
			return
		}
		if r.Float64() < 0.6 {
			w := []float64{4, 5, 9, 27, 55}
			if t.complaint {
				w = []float64{20, 20, 25, 20, 15}
			}
			l.emit(ev{kind: kCSAT, id: t.id, e1: uint8(1 + s.pickWeighted(w)), e2: stKeep})
		}
		l.tickets[i] = l.tickets[len(l.tickets)-1]
		l.tickets = l.tickets[:len(l.tickets)-1]
	}
}

func (l *live) newOpp(d int) {
	s := l.s
	r := s.rng
	reps := s.salesActive(d)
	if len(reps) == 0 || len(l.opps) >= livePool {
		return
	}
	owner := reps[r.IntN(len(reps))]
	ci := s.pickOppCustomer(owner, d)
	if ci < 0 {
		return
	}
	s.n.opp++
	o := liveOpp{id: s.n.opp, cust: ci, owner: owner, stage: osQualification,
		amount: roundMoney(r, lognormal(r, s.emps[owner].amountMedian, 0.7))}
	l.emit(ev{kind: kOppCreated, id: o.id, a: ci, b: owner, amt: o.amount, e1: o.stage})
	c := &s.custs[ci]
	if c.stage == stLead {
		l.emit(ev{kind: kCustomer, a: ci, e1: stProspect, flags: fIfChange})
	}
	c.opp, c.oppUntil = o.id, int32(d+45)
	l.opps = append(l.opps, o)
}

func (l *live) oppStep(d int) {
	s := l.s
	r := s.rng
	if len(l.opps) == 0 {
		l.newOpp(d)
		return
	}
	i := r.IntN(len(l.opps))
	o := &l.opps[i]
	done := false
	switch {
	case r.Float64() < 0.18:
		l.emit(ev{kind: kOppStage, id: o.id, e1: osLost, e2: uint8(r.IntN(len(lostReasons)))})
		done = true
	case o.stage == osNegotiation:
		if r.Float64() < 0.55 {
			l.emit(ev{kind: kOppStage, id: o.id, e1: osWon, e2: stKeep, amt: o.amount, flags: fAmount})
			l.contract(o)
		} else {
			l.emit(ev{kind: kOppStage, id: o.id, e1: osLost, e2: uint8(r.IntN(len(lostReasons)))})
		}
		done = true
	default:
		o.stage++
		l.emit(ev{kind: kOppStage, id: o.id, e1: o.stage, e2: stKeep})
	}
	if done {
		s.custs[o.cust].oppUntil = int32(d - 1)
		l.opps[i] = l.opps[len(l.opps)-1]
		l.opps = l.opps[:len(l.opps)-1]
	}
}

func (l *live) contract(o *liveOpp) {
	s := l.s
	c := &s.custs[o.cust]
	kind := ckNew
	if c.hasDeal {
		kind = ckUpsell
	}
	s.n.contract++
	id := s.n.contract
	l.emit(ev{kind: kContract, id: id, a: o.cust, b: o.owner, c: o.id, amt: o.amount, e1: kind})
	if !c.hasDeal {
		c.hasDeal = true
		s.paying = append(s.paying, o.cust)
	}
	l.emit(ev{kind: kCustomer, a: o.cust, e1: stCustomer, flags: fIfChange})
	s.n.invoice++
	l.emit(ev{kind: kInvoice, id: s.n.invoice, c: id, amt: o.amount, ts: l.now + 30*86400})
	if len(l.invoices) < livePool {
		l.invoices = append(l.invoices, liveInvoice{id: s.n.invoice, contract: id, amount: o.amount})
	}
}

func (l *live) payment() {
	s := l.s
	if len(l.invoices) == 0 {
		return
	}
	i := s.rng.IntN(len(l.invoices))
	inv := l.invoices[i]
	s.n.payment++
	l.emit(ev{kind: kPayment, id: s.n.payment, b: inv.id, c: inv.contract, amt: inv.amount})
	l.invoices[i] = l.invoices[len(l.invoices)-1]
	l.invoices = l.invoices[:len(l.invoices)-1]
}

// targets sets the month's targets when live runs into a month that has none.
func (l *live) targets(d int) {
	s := l.s
	y, m, _ := s.date(d)
	month := y*100 + m
	if s.targetsDone[month] {
		return
	}
	s.targetsDone[month] = true
	monthStart := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, s.o.Location).Unix()
	for ei := range s.emps {
		e := &s.emps[ei]
		if e.role != roleSales || !s.activeOn(int32(ei), d) {
			continue
		}
		vals := s.targetValues(int32(ei), 21)
		for k, v := range vals {
			l.emit(ev{kind: kTarget, a: int32(ei), e1: uint8(k), ts: monthStart, amt: v})
		}
	}
}
