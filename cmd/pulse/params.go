package main

import (
	"maps"
	"slices"

	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/transform"
)

// transformParams are the business settings of cfg as the transformer's
// macros take them: the time zone, the calendar, the KPI settings and the
// scorecards. The slices and maps are copies, not shared with cfg.
func transformParams(cfg config.Config) transform.Params {
	p := transform.Params{
		Timezone:      cfg.Timezone,
		Holidays:      slices.Clone(cfg.Calendar.Holidays),
		MakeupDays:    slices.Clone(cfg.Calendar.MakeupDays),
		SLAMinutes:    maps.Clone(cfg.KPIs.SLAMinutes),
		ProfileFields: slices.Clone(cfg.KPIs.ProfileFields),
		Scorecards:    make(map[string][]transform.ScoreKPI, len(cfg.Scorecards.Roles)),
		ScoreCap:      cfg.Scorecards.Cap,
	}
	for role, lines := range cfg.Scorecards.Roles {
		kpis := make([]transform.ScoreKPI, len(lines))
		for i, l := range lines {
			kpis[i] = transform.ScoreKPI{KPI: l.KPI, Weight: l.Weight, Target: l.Target.Value,
				FromTargets: l.Target.FromTargets, Direction: l.Direction}
		}
		p.Scorecards[role] = kpis
	}
	return p
}
