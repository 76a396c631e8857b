package generate

import (
	"math"
	"math/rand/v2"
	"time"
)

const never = math.MaxInt32 // a day index that is never reached

type team struct {
	name    string
	kind    uint8 // roleSales, roleService or roleMarketing
	key     bool  // key-accounts team: fewer, larger deals
	tier2   bool  // second-level service team
	manager int32
}

type employee struct {
	name    string
	role    uint8
	team    int16
	mgr     int32 // employee index of the manager, -1 for none
	hiredOn int64 // unix time of the hire date (local midnight); 0 = not given

	startDay  int // first day present in history (0 = present at start)
	endDay    int // deactivated at the end of this day (never = stays)
	leaveFrom int // from this day on: no logins, no activity (login gap)

	teamChangeDay int
	newTeam       int16

	// behaviour
	fuRate, oppRate, winRate, stageDays, amountMedian float64
	fill, keep, diligence                             float64
	chanCum                                           [6]float64
	custs                                             []int32   // customers owned
	cum                                               []float64 // cumulative pick weights, rebuilt daily
	cumDay                                            int

	expRevenue, expNew float64 // per month, for targets (revenue in cents)

	poorCompleteness, backfiller, burster, behind, loginGap, special bool
}

type customer struct {
	owner      int32
	stage      uint8
	fill       uint16 // 2 bits per profile field: 0 filled, 1 absent, 2 "", 3 blanks
	nameKind   uint8  // 0 pinyin parts, 1 Chinese, 2 English
	city       uint8
	brand      uint8
	suffix     uint8
	industry   uint8
	region     uint8
	source     uint8
	needs      uint8
	payer      uint8 // 0 good, 1 late, 2 partial, 3 bad
	hasDeal    bool  // has signed a contract
	churnPlan  bool  // churn or renewal already planned
	renewDoy   int16 // renewal day of year, -1 none
	weight     float32
	phone      uint32
	opp        int32 // current opportunity number, 0 none
	oppUntil   int32 // day index the current opportunity closes
	dormantDay int32 // no follow-ups from this day (planted dormancy); never = none
	acv        int64 // annual contract value, cents
}

// profile fields of customer.upserted, in the order of customer.fill's bit pairs.
var profileFields = []string{"phone", "email", "industry", "region", "source", "needs"}

// team templates: the first six are the standard company; more are added for
// bigger companies.
var teamTemplates = []team{
	{name: "East Sales", kind: roleSales},
	{name: "Service Desk", kind: roleService},
	{name: "North Sales", kind: roleSales},
	{name: "Key Accounts", kind: roleSales, key: true},
	{name: "Service Tier 2", kind: roleService, tier2: true},
	{name: "Marketing", kind: roleMarketing},
	{name: "South Sales", kind: roleSales},
	{name: "Service Desk South", kind: roleService},
	{name: "West Sales", kind: roleSales},
	{name: "Central Sales", kind: roleSales},
	{name: "Service Tier 2 South", kind: roleService, tier2: true},
	{name: "Inside Sales", kind: roleSales},
	{name: "Customer Success", kind: roleService},
	{name: "Northeast Sales", kind: roleSales},
	{name: "Growth Marketing", kind: roleMarketing},
	{name: "Southwest Sales", kind: roleSales},
	{name: "Strategic Accounts", kind: roleSales, key: true},
	{name: "Service Desk West", kind: roleService},
}

func teamWeight(t *team) float64 {
	switch {
	case t.kind == roleMarketing:
		return 0.6
	case t.key, t.tier2:
		return 0.8
	case t.kind == roleService:
		return 1.25
	}
	return 1
}

func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

func clampf(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// buildCompany creates teams, employees and the initial customer base.
func (s *sim) buildCompany() {
	r := s.rng
	E := s.nEmp
	nExec := 1
	if E >= 30 {
		nExec = 2
	}
	if E >= 400 {
		nExec = 3
	}
	const nHires = 2
	rest := E - nExec - nHires
	nTeams := int(math.Round(float64(rest) / 9.7))
	if nTeams < 2 {
		nTeams = 2
	}
	for i := 0; i < nTeams; i++ {
		t := teamTemplates[i%len(teamTemplates)]
		if k := i / len(teamTemplates); k > 0 {
			t.name += " " + string(rune('1'+k))
		}
		s.teams = append(s.teams, t)
	}
	// team sizes by largest remainder on weights, at least 2 each
	sizes := make([]int, nTeams)
	var wsum float64
	for i := range s.teams {
		wsum += teamWeight(&s.teams[i])
	}
	left := rest
	rem := make([]float64, nTeams)
	for i := range s.teams {
		x := float64(rest) * teamWeight(&s.teams[i]) / wsum
		sizes[i] = int(x)
		if sizes[i] < 2 {
			sizes[i] = 2
		}
		rem[i] = x - float64(int(x))
		left -= sizes[i]
	}
	for left > 0 { // hand out the rest by largest remainder
		best := 0
		for j := range rem {
			if rem[j] > rem[best] {
				best = j
			}
		}
		sizes[best]++
		rem[best] -= 1
		left--
	}
	for left < 0 { // tiny companies: take from the biggest team
		big := 0
		for i := range sizes {
			if sizes[i] > sizes[big] {
				big = i
			}
		}
		sizes[big]--
		left++
	}

	used := map[string]bool{}
	newEmp := func(role uint8, tm int16, mgr int32) int32 {
		e := employee{role: role, team: tm, mgr: mgr, endDay: never, leaveFrom: never, teamChangeDay: never, cumDay: -1}
		e.name = s.personName(used)
		years := uniform(r, 0.3, 8)
		if role == roleExecutive || role == roleManager {
			years = uniform(r, 2, 12)
		}
		e.hiredOn = s.dayStart(-int(years * 365.25)) // local midnight
		s.emps = append(s.emps, e)
		return int32(len(s.emps) - 1)
	}
	// executives
	for i := 0; i < nExec; i++ {
		mgr := int32(-1)
		if i > 0 {
			mgr = 0
		}
		newEmp(roleExecutive, -1, mgr)
	}
	execFor := func(t *team) int32 {
		if nExec == 1 || t.kind == roleService {
			return 0
		}
		return 1
	}
	for ti := range s.teams {
		t := &s.teams[ti]
		t.manager = newEmp(roleManager, int16(ti), execFor(t))
		for k := 1; k < sizes[ti]; k++ {
			newEmp(t.kind, int16(ti), t.manager)
		}
	}
	// later hires: a sales rep into the second sales team, a service agent into the first service team
	salesTeams := s.teamsOf(roleSales, false)
	serviceTeams := s.teamsOf(roleService, false)
	hireTeam := salesTeams[0]
	if len(salesTeams) > 1 {
		hireTeam = salesTeams[1]
	}
	h1 := newEmp(roleSales, int16(hireTeam), s.teams[hireTeam].manager)
	s.emps[h1].startDay = max(1, int(float64(s.nDays)*0.3))
	hireTeam2 := hireTeam
	role2 := roleSales
	if len(serviceTeams) > 0 {
		hireTeam2, role2 = serviceTeams[0], roleService
	}
	h2 := newEmp(role2, int16(hireTeam2), s.teams[hireTeam2].manager)
	s.emps[h2].startDay = max(2, int(float64(s.nDays)*0.62))
	for _, h := range []int32{h1, h2} {
		s.emps[h].hiredOn = s.dayStart(s.emps[h].startDay)
		s.emps[h].special = true
	}
	for i := range s.emps {
		s.initBehaviour(int32(i))
	}
}

func (s *sim) teamsOf(kind uint8, key bool) []int {
	var out []int
	for i := range s.teams {
		if s.teams[i].kind == kind && (!key || s.teams[i].key) {
			out = append(out, i)
		}
	}
	return out
}

func (s *sim) personName(used map[string]bool) string {
	r := s.rng
	var n string
	for try := 0; try < 30; try++ {
		u := r.Float64()
		switch {
		case u < 0.14:
			n = englishFirst[r.IntN(len(englishFirst))] + " " + englishLast[r.IntN(len(englishLast))]
		case u < 0.24:
			n = englishFirst[r.IntN(len(englishFirst))] + " " + surnames[r.IntN(len(surnames))]
		default:
			n = surnames[r.IntN(len(surnames))] + " " + givenNames[r.IntN(len(givenNames))]
		}
		if !used[n] {
			break
		}
	}
	used[n] = true
	return n
}

func (s *sim) initBehaviour(ei int32) {
	r := s.rng
	e := &s.emps[ei]
	key := e.team >= 0 && s.teams[e.team].key
	e.diligence = uniform(r, 0.9, 0.99)
	e.keep = uniform(r, 0.6, 0.9)
	e.fill = uniform(r, 0.89, 0.98)
	e.winRate = uniform(r, 0.2, 0.34)
	e.stageDays = uniform(r, 4, 6.5)
	e.amountMedian = 4_200_000 * uniform(r, 0.8, 1.25) // cents
	mix := [6]float64{36, 7, 30, 13, 9, 5}             // phone visit wechat email meeting other
	switch e.role {
	case roleSales:
		e.fuRate = clampf(30+4.5*r.NormFloat64(), 16, 44)
		e.oppRate = uniform(r, 0.26, 0.38)
		if key {
			e.fuRate = clampf(18+2.5*r.NormFloat64(), 10, 26)
			e.oppRate = uniform(r, 0.10, 0.15)
			e.stageDays = uniform(r, 7, 10)
			e.amountMedian = 26_000_000 * uniform(r, 0.8, 1.25)
			e.winRate = uniform(r, 0.24, 0.36)
			mix = [6]float64{25, 20, 20, 12, 18, 5}
		}
	case roleManager:
		if s.teams[e.team].kind == roleSales {
			e.fuRate = uniform(r, 3, 6)
			e.oppRate = 0.04
			mix = [6]float64{30, 25, 15, 5, 25, 0}
		}
		e.diligence = uniform(r, 0.88, 0.97)
	case roleMarketing:
		e.fuRate = uniform(r, 2, 4)
		mix = [6]float64{10, 0, 30, 60, 0, 0}
	case roleExecutive:
		e.diligence = uniform(r, 0.7, 0.85)
	}
	var sum float64
	for i := range mix {
		mix[i] *= uniform(r, 0.7, 1.3)
		sum += mix[i]
		e.chanCum[i] = sum
	}
	for i := range e.chanCum {
		e.chanCum[i] /= sum
	}
}

// buildCustomers creates the customer base at the start of history.
func (s *sim) buildCustomers() {
	r := s.rng
	for ei := range s.emps {
		e := &s.emps[ei]
		if e.startDay > 0 {
			continue
		}
		var n int
		switch {
		case e.role == roleSales && s.teams[e.team].key:
			n = int(clampf(38+8*r.NormFloat64(), 20, 60))
		case e.role == roleSales:
			n = int(clampf(85+15*r.NormFloat64(), 40, 130))
		case e.role == roleManager && s.teams[e.team].kind == roleSales:
			n = 6 + r.IntN(6)
		default:
			continue
		}
		for i := 0; i < n; i++ {
			u := r.Float64()
			st := stCustomer
			switch {
			case u < 0.25:
				st = stLead
			case u < 0.42:
				st = stProspect
			}
			ci := s.newCustomer(int32(ei), st, uint8(s.pickWeighted(leadSourceWeights)))
			c := &s.custs[ci]
			if st == stCustomer {
				c.hasDeal = true
				c.renewDoy = int16(r.IntN(365))
				s.renewals[c.renewDoy] = append(s.renewals[c.renewDoy], ci)
				s.paying = append(s.paying, ci)
			}
		}
	}
}

// newCustomer adds a customer owned by owner; it is not emitted here.
func (s *sim) newCustomer(owner int32, st uint8, source uint8) int32 {
	r := s.rng
	e := &s.emps[owner]
	c := customer{owner: owner, stage: st, source: source, renewDoy: -1, dormantDay: never, oppUntil: -1}
	switch u := r.Float64(); {
	case u < 0.12:
		c.nameKind = 1
		c.brand = uint8(r.IntN(len(chineseCompanyNames)))
	case u < 0.2:
		c.nameKind = 2
		c.brand = uint8(r.IntN(len(englishCompanyNames)))
	default:
		c.brand = uint8(r.IntN(len(brands)))
	}
	c.city = uint8(r.IntN(len(cities)))
	c.suffix = uint8(r.IntN(len(companySuffixes)))
	c.industry = uint8(r.IntN(len(industries)))
	c.region = uint8(r.IntN(len(regions)))
	c.needs = uint8(r.IntN(len(customerNeeds)))
	c.phone = r.Uint32()
	for f := 0; f < len(profileFields); f++ {
		p := e.fill
		switch profileFields[f] {
		case "needs":
			p -= 0.08
		case "industry", "region":
			p += 0.04
		}
		if r.Float64() < p {
			continue
		}
		var m uint16 = 1 // absent
		if u := r.Float64(); u < 0.3 {
			m = 2 // ""
		} else if u < 0.45 {
			m = 3 // "  "
		}
		c.fill |= m << (2 * f)
	}
	switch u := r.Float64(); {
	case u < 0.72:
		c.payer = 0
	case u < 0.88:
		c.payer = 1
	case u < 0.95:
		c.payer = 2
	default:
		c.payer = 3
	}
	w := lognormal(r, 1, 0.5)
	if r.Float64() < 0.12 {
		w = 0.025 // neglected
	}
	switch st {
	case stLead:
		w *= 0.8
	case stProspect:
		w *= 1.4
	}
	c.weight = float32(w)
	med := 3_600_000.0
	if e.team >= 0 && s.teams[e.team].key {
		med = 22_000_000
	}
	c.acv = roundMoney(r, lognormal(r, med, 0.7))
	s.custs = append(s.custs, c)
	ci := int32(len(s.custs) - 1)
	e.custs = append(e.custs, ci)
	e.cumDay = -1
	return ci
}

// roundMoney rounds an amount in cents the way people quote prices: mostly to
// thousands or hundreds, sometimes exact cents.
func roundMoney(r *rand.Rand, cents float64) int64 {
	if cents < 100 {
		cents = 100
	}
	switch u := r.Float64(); {
	case u < 0.65:
		return int64(math.Max(1, math.Round(cents/100_000))) * 100_000
	case u < 0.9:
		return int64(math.Max(1, math.Round(cents/10_000))) * 10_000
	case u < 0.95:
		return int64(math.Round(cents/100))*100 + 50
	default:
		return int64(math.Round(cents))
	}
}

// pickWeighted returns an index drawn with the given weights.
func (s *sim) pickWeighted(w []float64) int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	u := s.rng.Float64() * sum
	for i, x := range w {
		u -= x
		if u < 0 {
			return i
		}
	}
	return len(w) - 1
}

// planAnomalies picks the people and days of the planted anomalies.
func (s *sim) planAnomalies() {
	r := s.rng
	salesTeams := s.teamsOf(roleSales, false)
	pick := func(prefer []int, role uint8) int32 {
		for pass := 0; pass < 2; pass++ {
			var cands []int32
			for i := range s.emps {
				e := &s.emps[i]
				if e.role != role || e.special || e.startDay > 0 {
					continue
				}
				if pass == 0 {
					ok := false
					for _, t := range prefer {
						if int(e.team) == t {
							ok = true
						}
					}
					if !ok {
						continue
					}
				}
				cands = append(cands, int32(i))
			}
			if len(cands) > 0 {
				ei := cands[r.IntN(len(cands))]
				s.emps[ei].special = true
				return ei
			}
		}
		// not enough people: reuse anyone of the role
		for i := range s.emps {
			if s.emps[i].role == role && s.emps[i].startDay == 0 {
				return int32(i)
			}
		}
		return -1
	}
	east, north, key := salesTeams[0], salesTeams[0], salesTeams[0]
	if len(salesTeams) > 1 {
		north = salesTeams[1]
	}
	if k := s.teamsOf(roleSales, true); len(k) > 0 {
		key = k[0]
	} else if len(salesTeams) > 2 {
		key = salesTeams[2]
	}
	others := []int{north, key}
	lastDay := s.nDays - 1
	p := &s.plan

	// activity drop: the first sales team, last 14 days
	p.dropTeam = int16(east)
	p.dropFrom = max(1, s.nDays-14)

	// team change: East -> North at 40% of history
	if ei := pick([]int{east}, roleSales); ei >= 0 && north != east {
		s.emps[ei].teamChangeDay = max(1, int(float64(s.nDays)*0.4))
		s.emps[ei].newTeam = int16(north)
		p.teamChanger = ei
	}
	// deactivation at 55% of history: customers go to teammates
	if ei := pick([]int{key}, roleSales); ei >= 0 {
		s.emps[ei].endDay = max(1, int(float64(s.nDays)*0.55))
		p.deactivated = ei
	}
	// poor record completeness
	for _, t := range [][]int{{east}, others} {
		if ei := pick(t, roleSales); ei >= 0 {
			s.emps[ei].poorCompleteness = true
			s.emps[ei].fill = uniform(r, 0.38, 0.52)
			p.poorCompleteness = append(p.poorCompleteness, ei)
		}
	}
	// back-filler: logs Monday's follow-ups on Friday afternoon
	if ei := pick([]int{north}, roleSales); ei >= 0 {
		s.emps[ei].backfiller = true
		p.backfiller = ei
		for d := lastDay - 4; d >= 0 && len(p.backfillDays) < 3; d-- {
			if s.weekday(d) == time.Monday && d+4 < s.nDays-1 {
				p.backfillDays = append(p.backfillDays, d)
				d -= 13
			}
		}
	}
	// entry burst: after a trade show, ~24 contacts entered within minutes
	if ei := pick(others, roleSales); ei >= 0 {
		s.emps[ei].burster = true
		p.burster = ei
		for _, back := range []int{6, 40} {
			d := lastDay - back
			for d > 0 && !s.working(d) {
				d--
			}
			if d >= 1 {
				p.burstDays = append(p.burstDays, d)
			}
		}
	}
	// behind target in the current month
	if ei := pick([]int{north, key}, roleSales); ei >= 0 {
		s.emps[ei].behind = true
		p.behind = ei
	}
	// login gap: no activity at all on the last ~8 working days
	gapFrom := lastDay
	for n := 0; gapFrom > 0 && n < 8; gapFrom-- {
		if s.working(gapFrom) {
			n++
		}
	}
	gapFrom++
	if ei := pick(others, roleSales); ei >= 0 {
		s.emps[ei].leaveFrom, s.emps[ei].loginGap = gapFrom, true
		p.loginGap = append(p.loginGap, ei)
	}
	if svc := s.teamsOf(roleService, false); len(svc) > 0 {
		pref := []int{svc[len(svc)-1]}
		if ei := pick(pref, roleService); ei >= 0 {
			s.emps[ei].leaveFrom, s.emps[ei].loginGap = gapFrom, true
			p.loginGap = append(p.loginGap, ei)
		}
	}
	// a month without targets for one rep: the previous month
	if ei := pick([]int{east}, roleSales); ei >= 0 {
		p.missingTarget = ei
		y, m, _ := s.date(lastDay)
		m--
		if m == 0 {
			y, m = y-1, 12
		}
		p.missingMonth = y*100 + m
	}
	// a revised target: one rep's revenue target lowered mid-month
	if ei := pick(others, roleSales); ei >= 0 {
		p.revised = ei
	}

	// dormant customers: active customers nobody follows up any more
	nd := max(6, len(s.custs)/150)
	for tries := 0; len(p.dormant) < nd && tries < nd*50; tries++ {
		ci := int32(r.IntN(len(s.custs)))
		c := &s.custs[ci]
		o := &s.emps[c.owner]
		if c.dormantDay != never || c.stage == stLead || o.special || o.role != roleSales {
			continue
		}
		c.dormantDay = int32(max(1, s.nDays-33-r.IntN(25)))
		p.dormant = append(p.dormant, ci)
	}
}

// targets computes expected monthly revenue and new customers per rep.
func (s *sim) initExpectations() {
	for ei := range s.emps {
		e := &s.emps[ei]
		if e.role != roleSales {
			continue
		}
		mean := e.amountMedian * math.Exp(0.7*0.7/2)
		newBiz := e.oppRate * 21 * e.winRate * (0.7*mean + 0.3*0.6*mean)
		var renew float64
		for _, ci := range e.custs {
			if s.custs[ci].stage == stCustomer {
				renew += float64(s.custs[ci].acv)
			}
		}
		renew = renew * 0.85 / 12
		e.expRevenue = newBiz + renew
		if e.startDay > 0 {
			e.expRevenue = newBiz*0.8 + 0.5*renew
		}
		e.expNew = e.oppRate * 21 * 0.7 * e.winRate
	}
}
