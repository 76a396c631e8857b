// Package metric names what metrics.md defines: the KPIs, the metrics a
// target can be set for, the ticket priorities. Config, transforms and the
// server check names against it.
package metric

// kpis are the KPIs of metrics.md, in its order: the columns of the wide
// KPI marts and the names GET /api/kpis answers with.
var kpis = []string{
	"revenue", "contracts", "avg_deal_size", "new_customers",
	"deals_won", "deals_lost", "win_rate", "conversion_cycle_days",
	"followups", "visits", "channels_used",
	"customer_coverage", "dormant_customers", "followup_timeliness",
	"lead_response_hours", "lead_response_rate_24h",
	"collections", "collection_rate", "completeness",
	"login_days", "missed_login_days",
	"attainment_revenue", "attainment_new_customers", "attainment_collections", "attainment_followups",
	"tickets_assigned", "tickets_resolved", "first_response_minutes", "sla_breaches",
	"resolution_hours", "resolution_rate", "reopen_rate",
	"csat_avg", "csat_responses", "complaints", "complaint_resolution_hours",
}

// KPIs returns the KPI names of metrics.md in its order.
func KPIs() []string { return append([]string(nil), kpis...) }

// TargetMetrics are the metrics target.set can name; a scorecard line whose
// target comes from targets must be one of them.
func TargetMetrics() []string {
	return []string{"revenue", "new_customers", "collections", "followups"}
}

// Priorities are the ticket priorities of events.md, lowest first.
func Priorities() []string { return []string{"low", "normal", "high", "urgent"} }

// Grains are the period grains of metrics.md.
func Grains() []string { return []string{"day", "week", "month", "quarter"} }

// IsIdentifier reports whether s is [A-Za-z_][A-Za-z0-9_]*: the names
// (profile fields, columns) that Pulse writes into SQL unquoted.
func IsIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
