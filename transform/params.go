package transform

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pulsekpi/pulse/metric"
)

// Params are the business settings the models read through macros: the
// time zone, the working calendar, the SLAs, the profile fields that make a
// customer record complete, and the scorecards. Changing any of them
// changes what every period means, so the runner rebuilds in full when
// they change.
type Params struct {
	// Timezone is the IANA name of the business time zone.
	Timezone string
	// Holidays are dates (YYYY-MM-DD) that are not working days though they
	// fall on Monday to Friday.
	Holidays []string
	// MakeupDays are dates (YYYY-MM-DD) that are working days though they
	// fall on a weekend (Chinese calendars move days this way).
	MakeupDays []string
	// SLAMinutes is the first-response SLA of each ticket priority.
	SLAMinutes map[string]int
	// ProfileFields are the customer.upserted data fields whose share of
	// filled values is a customer's completeness. A name that is not a
	// contract field is looked up in the event's extra fields.
	ProfileFields []string
	// Scorecards are the scorecards by role.
	Scorecards map[string][]ScoreKPI
	// ScoreCap caps a sub-score at cap × 100.
	ScoreCap float64
}

// ScoreKPI is one line of a scorecard.
type ScoreKPI struct {
	KPI    string
	Weight float64
	// Target is a number, unless FromTargets: then it is the employee's
	// target.set value for the KPI's metric.
	Target      float64
	FromTargets bool
	// Direction is "higher" (higher is better) or "lower".
	Direction string
}

// DefaultParams are the defaults of metrics.md.
func DefaultParams() Params {
	return Params{
		Timezone:      "UTC",
		SLAMinutes:    map[string]int{"urgent": 60, "high": 240, "normal": 480, "low": 1440},
		ProfileFields: []string{"phone", "email", "industry", "region", "source", "needs"},
		Scorecards: map[string][]ScoreKPI{
			"sales": {
				{KPI: "revenue", Weight: 40, FromTargets: true, Direction: "higher"},
				{KPI: "visits", Weight: 20, Target: 20, Direction: "higher"},
				{KPI: "customer_coverage", Weight: 20, Target: 0.8, Direction: "higher"},
				{KPI: "followup_timeliness", Weight: 10, Target: 0.9, Direction: "higher"},
				{KPI: "completeness", Weight: 10, Target: 0.9, Direction: "higher"},
			},
			"service": {
				{KPI: "first_response_minutes", Weight: 30, Target: 60, Direction: "lower"},
				{KPI: "resolution_rate", Weight: 30, Target: 0.9, Direction: "higher"},
				{KPI: "csat_avg", Weight: 30, Target: 4.5, Direction: "higher"},
				{KPI: "complaint_resolution_hours", Weight: 10, Target: 24, Direction: "lower"},
			},
		},
		ScoreCap: 1.2,
	}
}

// Validate reports the first setting that cannot work.
func (p Params) Validate() error {
	if _, err := time.LoadLocation(p.Timezone); err != nil || p.Timezone == "" {
		return fmt.Errorf("timezone %q: not an IANA time zone", p.Timezone)
	}
	for _, set := range []struct {
		name  string
		dates []string
	}{{"holidays", p.Holidays}, {"makeup_days", p.MakeupDays}} {
		for _, d := range set.dates {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				return fmt.Errorf("%s: %q is not a date (YYYY-MM-DD)", set.name, d)
			}
		}
	}
	for _, pr := range metric.Priorities() {
		if m, ok := p.SLAMinutes[pr]; !ok || m <= 0 {
			return fmt.Errorf("sla_minutes.%s: must be a positive number of minutes", pr)
		}
	}
	for pr := range p.SLAMinutes {
		if !slices.Contains(metric.Priorities(), pr) {
			return fmt.Errorf("sla_minutes.%s: not a ticket priority (low, normal, high, urgent)", pr)
		}
	}
	if len(p.ProfileFields) == 0 {
		return errors.New("profile_fields: at least one field is needed")
	}
	for _, f := range p.ProfileFields {
		if !metric.IsIdentifier(f) {
			return fmt.Errorf("profile_fields: %q is not a field name", f)
		}
	}
	if p.ScoreCap < 1 {
		return fmt.Errorf("score_cap: %v is below 1", p.ScoreCap)
	}
	for role, lines := range p.Scorecards {
		if len(lines) == 0 {
			return fmt.Errorf("scorecards.%s: no KPIs", role)
		}
		for i, l := range lines {
			where := fmt.Sprintf("scorecards.%s[%d]", role, i)
			if !slices.Contains(metric.KPIs(), l.KPI) {
				return fmt.Errorf("%s.kpi: %q is not a KPI of metrics.md", where, l.KPI)
			}
			if l.Weight <= 0 {
				return fmt.Errorf("%s.weight: must be above 0", where)
			}
			if l.FromTargets && !slices.Contains(metric.TargetMetrics(), l.KPI) {
				return fmt.Errorf("%s.target: from_targets needs a target.set metric (%s)", where, strings.Join(metric.TargetMetrics(), ", "))
			}
			if !l.FromTargets && l.Target <= 0 {
				return fmt.Errorf("%s.target: must be above 0 or from_targets", where)
			}
			if l.Direction != "higher" && l.Direction != "lower" {
				return fmt.Errorf("%s.direction: %q is neither higher nor lower", where, l.Direction)
			}
		}
	}
	return nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func dateList(ds []string) string {
	if len(ds) == 0 {
		return "[]::DATE[]"
	}
	q := make([]string, len(ds))
	for i, d := range ds {
		q[i] = "DATE " + quote(d)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// Statements are the SQL that defines the parameter macros of sql/README.md.
func (p Params) Statements() []string {
	var sla strings.Builder
	sla.WriteString("CASE priority")
	for _, pr := range metric.Priorities() {
		fmt.Fprintf(&sla, " WHEN %s THEN %d", quote(pr), p.SLAMinutes[pr])
	}
	sla.WriteString(" END")
	fields := make([]string, len(p.ProfileFields))
	for i, f := range p.ProfileFields {
		fields[i] = quote(f)
	}
	roles := make([]string, 0, len(p.Scorecards))
	for r := range p.Scorecards {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	var rows []string
	for _, r := range roles {
		for i, l := range p.Scorecards[r] {
			target := "NULL"
			if !l.FromTargets {
				target = strconv.FormatFloat(l.Target, 'g', -1, 64)
			}
			rows = append(rows, fmt.Sprintf("(%s, %d, %s, %s::DOUBLE, %s::DOUBLE, %t, %s)",
				quote(r), i+1, quote(l.KPI), strconv.FormatFloat(l.Weight, 'g', -1, 64), target, l.FromTargets, quote(l.Direction)))
		}
	}
	scorecards := "SELECT NULL::VARCHAR AS role, NULL::INTEGER AS line, NULL::VARCHAR AS kpi, NULL::DOUBLE AS weight, NULL::DOUBLE AS target, NULL::BOOLEAN AS from_targets, NULL::VARCHAR AS direction WHERE false"
	if len(rows) > 0 {
		scorecards = "SELECT * FROM (VALUES " + strings.Join(rows, ", ") + ") AS s(role, line, kpi, weight, target, from_targets, direction)"
	}
	return []string{
		"CREATE OR REPLACE MACRO pulse_tz() AS " + quote(p.Timezone),
		// Business time: local wall time and date of an instant, the instant
		// a local date starts, and the period of a grain holding a date.
		"CREATE OR REPLACE MACRO pulse_local(ts) AS timezone(pulse_tz(), ts)",
		"CREATE OR REPLACE MACRO pulse_date(ts) AS CAST(timezone(pulse_tz(), ts) AS DATE)",
		"CREATE OR REPLACE MACRO pulse_at(d) AS timezone(pulse_tz(), CAST(d AS TIMESTAMP))",
		"CREATE OR REPLACE MACRO pulse_period_start(grain, d) AS CASE grain WHEN 'day' THEN CAST(d AS DATE) " +
			"WHEN 'week' THEN CAST(date_trunc('week', d) AS DATE) WHEN 'month' THEN CAST(date_trunc('month', d) AS DATE) " +
			"WHEN 'quarter' THEN CAST(date_trunc('quarter', d) AS DATE) END",
		"CREATE OR REPLACE MACRO pulse_period_end(grain, d) AS CASE grain WHEN 'day' THEN CAST(d AS DATE) + 1 " +
			"WHEN 'week' THEN CAST(d AS DATE) + 7 WHEN 'month' THEN CAST(d + INTERVAL 1 MONTH AS DATE) " +
			"WHEN 'quarter' THEN CAST(d + INTERVAL 3 MONTH AS DATE) END",
		"CREATE OR REPLACE MACRO pulse_holidays() AS " + dateList(p.Holidays),
		"CREATE OR REPLACE MACRO pulse_makeup_days() AS " + dateList(p.MakeupDays),
		"CREATE OR REPLACE MACRO pulse_sla_minutes(priority) AS " + sla.String(),
		"CREATE OR REPLACE MACRO pulse_profile_fields() AS [" + strings.Join(fields, ", ") + "]::VARCHAR[]",
		"CREATE OR REPLACE MACRO pulse_score_cap() AS " + strconv.FormatFloat(p.ScoreCap, 'g', -1, 64) + "::DOUBLE",
		"CREATE OR REPLACE MACRO pulse_scorecard_kpis() AS TABLE " + scorecards,
	}
}
