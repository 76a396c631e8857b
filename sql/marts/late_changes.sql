-- Late changes: for every closed period, each KPI whose live figure (from
-- the events as they stand, late ones included) differs from the figure
-- frozen at closing: what would change, and by how much.
-- grain: one row per (grain, period_start, subject_type, subject_id, kpi)
-- @materialized view
WITH live AS (
    SELECT grain, period_start, subject_type, subject_id, kpi, value
    FROM (
        SELECT c.* FROM marts.kpis_computed AS c
        SEMI JOIN ops.closed_periods AS z USING (grain, period_start)
    )
    UNPIVOT INCLUDE NULLS (value FOR kpi IN (
        revenue, contracts, avg_deal_size, new_customers, deals_won, deals_lost, win_rate,
        conversion_cycle_days, followups, visits, channels_used, customer_coverage, dormant_customers,
        followup_timeliness, lead_response_hours, lead_response_rate_24h, collections, collection_rate,
        completeness, login_days, missed_login_days, attainment_revenue, attainment_new_customers,
        attainment_collections, attainment_followups, tickets_assigned, tickets_resolved,
        first_response_minutes, sla_breaches, resolution_hours, resolution_rate, reopen_rate, csat_avg,
        csat_responses, complaints, complaint_resolution_hours))
),
frozen AS (
    SELECT f.* FROM ops.frozen_kpis AS f SEMI JOIN ops.closed_periods AS z USING (grain, period_start)
)
SELECT coalesce(l.grain, f.grain) AS grain, coalesce(l.period_start, f.period_start) AS period_start,
       coalesce(l.subject_type, f.subject_type) AS subject_type, coalesce(l.subject_id, f.subject_id) AS subject_id,
       coalesce(l.kpi, f.kpi) AS kpi,
       f.value AS frozen_value, CAST(l.value AS DOUBLE) AS live_value,
       CAST(l.value AS DOUBLE) - f.value AS change,
       z.closed_at
FROM live AS l
FULL JOIN frozen AS f
  ON f.grain = l.grain AND f.period_start = l.period_start AND f.subject_type = l.subject_type
 AND f.subject_id = l.subject_id AND f.kpi = l.kpi
JOIN ops.closed_periods AS z
  ON z.grain = coalesce(l.grain, f.grain) AND z.period_start = coalesce(l.period_start, f.period_start)
WHERE f.value IS DISTINCT FROM CAST(l.value AS DOUBLE)
