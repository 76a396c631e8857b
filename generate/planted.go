package generate

import (
	"fmt"
	"time"
)

// Planted describes the anomalies planted in a generator's history, for
// tests and demos. Days are local midnights in the business time zone.
type Planted struct {
	BackFiller       string      // logs a Monday's follow-ups on the Friday after (recorded_at > 72 h later)
	BackfillDays     []time.Time // the Mondays concerned
	Burster          string      // enters ~24 follow-ups within a few minutes after a trade show
	BurstDays        []time.Time
	DropTeam         string    // team id whose follow-ups drop to ~30% ...
	DropTeamName     string    //
	DropFrom         time.Time // ... from this day
	DormantCustomers []string  // active customers nobody follows up on any more (from 33-57 days before Now)
	BehindTarget     string    // whose deals in the current month all slip: revenue far behind target
	LoginGap         []string  // active people with no login (nor activity) on the last 8 working days
	Deactivated      string    // active:false mid-history; customers handed to teammates
	TeamChange       string    // moves from the first to the second sales team mid-history
	PoorCompleteness []string  // customer records with few profile fields filled
	LaterHires       []string  // hired within the history
	MissingTarget    string    // has no target.set for MissingMonth
	MissingMonth     string    // YYYY-MM
	RevisedTarget    string    // revenue target lowered mid-month (a second target.set)
}

// Planted returns what History plants (the plan only; it does not run the
// simulation).
func (g *Generator) Planted() Planted {
	s := newSim(g.opts, g.opts.Employees, g.opts.Days)
	p := &s.plan
	emp := func(ei int32) string {
		if ei < 0 {
			return ""
		}
		return string(unquoted(appendEmpID(nil, ei)))
	}
	day := func(d int) time.Time { return time.Unix(s.dayStart(d), 0).In(s.o.Location) }
	out := Planted{
		BackFiller:    emp(p.backfiller),
		Burster:       emp(p.burster),
		DropTeam:      string(unquoted(appendTeamID(nil, p.dropTeam))),
		DropTeamName:  s.teams[p.dropTeam].name,
		DropFrom:      day(p.dropFrom),
		BehindTarget:  emp(p.behind),
		Deactivated:   emp(p.deactivated),
		TeamChange:    emp(p.teamChanger),
		MissingTarget: emp(p.missingTarget),
		RevisedTarget: emp(p.revised),
	}
	if p.missingMonth > 0 {
		out.MissingMonth = fmt.Sprintf("%04d-%02d", p.missingMonth/100, p.missingMonth%100)
	}
	for _, d := range p.backfillDays {
		out.BackfillDays = append(out.BackfillDays, day(d))
	}
	for _, d := range p.burstDays {
		out.BurstDays = append(out.BurstDays, day(d))
	}
	for _, ci := range p.dormant {
		out.DormantCustomers = append(out.DormantCustomers, string(unquoted(appendCustID(nil, ci))))
	}
	for _, ei := range p.loginGap {
		out.LoginGap = append(out.LoginGap, emp(ei))
	}
	for _, ei := range p.poorCompleteness {
		out.PoorCompleteness = append(out.PoorCompleteness, emp(ei))
	}
	for ei := range s.emps {
		if s.emps[ei].startDay > 0 {
			out.LaterHires = append(out.LaterHires, emp(int32(ei)))
		}
	}
	return out
}
