-- KPIs as published, long: one row per period, subject and KPI (NULL
-- values kept), from kpis_wide, so that one statement can compare any KPI
-- across people and periods.
-- grain: one row per (grain, period_start, subject_type, subject_id, kpi)
-- @materialized view
SELECT grain, period_start, subject_type, subject_id, kpi, value
FROM marts.kpis_wide
UNPIVOT INCLUDE NULLS (value FOR kpi IN (revenue, contracts, avg_deal_size, new_customers, deals_won, deals_lost, win_rate, conversion_cycle_days, followups, visits, channels_used, customer_coverage, dormant_customers, followup_timeliness, lead_response_hours, lead_response_rate_24h, collections, collection_rate, completeness, login_days, missed_login_days, attainment_revenue, attainment_new_customers, attainment_collections, attainment_followups, tickets_assigned, tickets_resolved, first_response_minutes, sla_breaches, resolution_hours, resolution_rate, reopen_rate, csat_avg, csat_responses, complaints, complaint_resolution_hours))
