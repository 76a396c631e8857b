package config

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pulsekpi/pulse/event"
	"github.com/pulsekpi/pulse/metric"
)

// checkFunc reports a bad setting with its file line, or with the variable
// that set it; nil when bad is false.
type checkFunc func(field string, bad bool, format string, args ...any) error

// EmployeeRoles are the roles employee.upserted can give (events.md): the
// roles a scorecard can be for.
func EmployeeRoles() []string {
	for _, t := range event.Types() {
		if t.Name != "employee.upserted" {
			continue
		}
		for _, f := range t.Fields {
			if f.Name == "role" {
				return slices.Clone(f.Enum)
			}
		}
	}
	return nil
}

// validateModels checks the settings of the transform: the scheduler, the
// calendar, the KPI definitions and the scorecards. Lists are checked item
// by item, so an error names calendar.holidays[2] or
// scorecards.roles.sales[1].target.
func (c *Config) validateModels(check checkFunc) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	t := c.Transform
	add(check("transform.interval", t.Interval < 100*time.Millisecond, "must be at least 100ms, got %s", t.Interval))
	add(check("transform.max_idle", t.MaxIdle < t.Interval, "must be at least transform.interval (%s), got %s", t.Interval, t.MaxIdle))
	add(check("transform.concurrency", t.Concurrency < 1 || t.Concurrency > 16, "must be between 1 and 16, got %d", t.Concurrency))

	holidays := checkDates(check, add, "calendar.holidays", c.Calendar.Holidays)
	makeup := checkDates(check, add, "calendar.makeup_days", c.Calendar.MakeupDays)
	for i, d := range c.Calendar.MakeupDays {
		if j, ok := makeup[d]; !ok || j != i {
			continue // not a date, or a repeat: already reported
		}
		field := fmt.Sprintf("calendar.makeup_days[%d]", i)
		if j, both := holidays[d]; both {
			add(check(field, true, "%s is also calendar.holidays[%d]; a day is a holiday or a make-up day, not both", d, j))
			continue
		}
		day, _ := time.Parse(time.DateOnly, d)
		wd := day.Weekday()
		add(check(field, wd != time.Saturday && wd != time.Sunday, "%s is a %s; a make-up day is a weekend day that is worked", d, wd))
	}

	sla := c.KPIs.SLAMinutes
	for _, pr := range metric.Priorities() {
		if _, ok := sla[pr]; !ok {
			add(check("kpis.sla_minutes", true, "no SLA for priority %s (give each of %s)", pr, strings.Join(metric.Priorities(), ", ")))
		}
	}
	for _, pr := range sortedKeys(sla) {
		field := "kpis.sla_minutes." + pr
		if !slices.Contains(metric.Priorities(), pr) {
			add(check(field, true, "not a ticket priority (%s)", strings.Join(metric.Priorities(), ", ")))
			continue
		}
		add(check(field, sla[pr] <= 0, "must be a positive number of minutes, got %d", sla[pr]))
	}
	pf := c.KPIs.ProfileFields
	add(check("kpis.profile_fields", len(pf) == 0, "at least one field is needed"))
	seenField := map[string]int{}
	for i, f := range pf {
		field := fmt.Sprintf("kpis.profile_fields[%d]", i)
		if !metric.IsIdentifier(f) {
			add(check(field, true, "%q is not a field name ([A-Za-z_][A-Za-z0-9_]*)", f))
			continue
		}
		if j, dup := seenField[f]; dup {
			add(check(field, true, "%s is already kpis.profile_fields[%d]", f, j))
			continue
		}
		seenField[f] = i
	}
	// Above 0: the transformer reads a zero grace as its default.
	add(check("kpis.close_grace", c.KPIs.CloseGrace <= 0, "must be above 0, got %s", c.KPIs.CloseGrace))

	sc := c.Scorecards
	add(check("scorecards.cap", !(sc.Cap >= 1) || math.IsInf(sc.Cap, 1), "must be a number of at least 1, got %v", sc.Cap))
	roles := EmployeeRoles()
	for _, role := range sortedKeys(sc.Roles) {
		where := "scorecards.roles." + role
		if !slices.Contains(roles, role) {
			add(check(where, true, "not an employee role (%s)", strings.Join(roles, ", ")))
			continue
		}
		lines := sc.Roles[role]
		add(check(where, len(lines) == 0, "a scorecard needs at least one KPI"))
		seenKPI := map[string]int{}
		for i, l := range lines {
			at := fmt.Sprintf("%s[%d]", where, i)
			known := slices.Contains(metric.KPIs(), l.KPI)
			if j, dup := seenKPI[l.KPI]; dup {
				add(check(at+".kpi", true, "%s is already %s[%d]", l.KPI, where, j))
			} else {
				add(check(at+".kpi", !known, "%q is not a KPI of metrics.md", l.KPI))
				seenKPI[l.KPI] = i
			}
			add(check(at+".weight", !(l.Weight > 0) || math.IsInf(l.Weight, 1), "must be a number above 0, got %v", l.Weight))
			if l.Target.FromTargets {
				add(check(at+".target", known && !slices.Contains(metric.TargetMetrics(), l.KPI),
					"%s needs a KPI that target.set names (%s), not %s", FromTargets, strings.Join(metric.TargetMetrics(), ", "), l.KPI))
			} else {
				v := l.Target.Value
				add(check(at+".target", !(v > 0) || math.IsInf(v, 1), "must be a number above 0 or %s, got %v", FromTargets, v))
			}
			add(check(at+".direction", l.Direction != "higher" && l.Direction != "lower", "must be higher or lower, got %q", l.Direction))
		}
	}
	return errs
}

// checkDates checks a list of YYYY-MM-DD dates, each given once, and
// returns the index of each good date.
func checkDates(check checkFunc, add func(error), setting string, dates []string) map[string]int {
	seen := map[string]int{}
	for i, d := range dates {
		field := fmt.Sprintf("%s[%d]", setting, i)
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			add(check(field, true, "%q is not a date (YYYY-MM-DD)", d))
			continue
		}
		if j, dup := seen[d]; dup {
			add(check(field, true, "%s is already %s[%d]", d, setting, j))
			continue
		}
		seen[d] = i
	}
	return seen
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
