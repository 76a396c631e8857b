package transform

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
