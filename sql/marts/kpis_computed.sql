-- KPIs of metrics.md, computed from the events as they stand, one wide row
-- per period and subject: every employee active at t or with an item in
-- the period, every team of those employees (members at t), and the
-- company (subject_id ''). Counts are 0 where nothing happened; a ratio,
-- mean or median without denominator or items is NULL. Closed periods keep
-- their frozen figures in the public marts (employee_kpis, …); this table
-- always holds the live ones, against which late changes are listed.
-- grain: one row per (grain, period_start, subject_type, subject_id)
-- @materialized incremental
-- @key grain, period_start
-- @scope staging.dirty_periods
-- @test unique(grain, period_start, subject_type, subject_id)
-- @test accepted_values(subject_type, 'employee', 'team', 'company')
-- @test not_null(revenue)
-- @test range(win_rate, 0, 1)
-- @test range(customer_coverage, 0, 1)
-- @test range(followup_timeliness, 0, 1)
-- @test range(lead_response_rate_24h, 0, 1)
-- @test range(completeness, 0, 1)
-- @test range(resolution_rate, 0, 1)
-- @test range(reopen_rate, 0, 1)
-- @test range(csat_avg, 1, 5)
-- @test expression(revenue >= 0 AND contracts >= 0 AND followups >= visits AND login_days >= 0)
-- @test expression(grain IN ('month', 'quarter') OR attainment_revenue IS NULL)
WITH subjects AS (
    SELECT grain, period_start, 'employee' AS subject_type, employee_id AS subject_id
    FROM staging.period_members WHERE active
    UNION
    SELECT grain, period_start, 'team', team_id FROM staging.period_members WHERE active
    UNION
    SELECT grain, period_start, 'company', '' FROM staging.dirty_periods
    UNION SELECT grain, period_start, subject_type, subject_id FROM marts.kpi_sales
    UNION SELECT grain, period_start, subject_type, subject_id FROM marts.kpi_followups
    UNION SELECT grain, period_start, subject_type, subject_id FROM marts.kpi_customers
    UNION SELECT grain, period_start, subject_type, subject_id FROM marts.kpi_logins
    UNION SELECT grain, period_start, subject_type, subject_id FROM marts.kpi_tickets
),
scoped AS (
    SELECT s.* FROM subjects AS s SEMI JOIN staging.dirty_periods USING (grain, period_start)
)
SELECT
    s.grain, s.period_start, s.subject_type, s.subject_id,
    CAST(coalesce(a.revenue, 0) AS DOUBLE) AS revenue,
    coalesce(a.contracts, 0) AS contracts,
    CAST(a.revenue / nullif(a.contracts, 0) AS DOUBLE) AS avg_deal_size,
    coalesce(a.new_customers, 0) AS new_customers,
    coalesce(a.deals_won, 0) AS deals_won,
    coalesce(a.deals_lost, 0) AS deals_lost,
    a.deals_won / nullif(a.deals_won + a.deals_lost, 0) AS win_rate,
    a.conversion_cycle_days,
    coalesce(f.followups, 0) AS followups,
    coalesce(f.visits, 0) AS visits,
    coalesce(f.channels_used, 0) AS channels_used,
    c.covered_customers / nullif(c.owned_customers, 0) AS customer_coverage,
    coalesce(c.owned_customers - c.covered_customers, 0) AS dormant_customers,
    f.timely_followups / nullif(f.due_followups, 0) AS followup_timeliness,
    f.lead_response_hours,
    f.leads_answered_24h / nullif(f.leads_due_24h, 0) AS lead_response_rate_24h,
    CAST(coalesce(a.collections, 0) AS DOUBLE) AS collections,
    CAST(a.collection_paid / nullif(a.collection_due, 0) AS DOUBLE) AS collection_rate,
    c.completeness,
    coalesce(l.login_days, 0) AS login_days,
    CASE WHEN s.subject_type <> 'employee' OR m.active THEN coalesce(l.missed_login_days, 0) END AS missed_login_days,
    CAST(coalesce(a.revenue, 0) AS DOUBLE) / nullif(g.target_revenue, 0) AS attainment_revenue,
    coalesce(a.new_customers, 0) / nullif(g.target_new_customers, 0) AS attainment_new_customers,
    CAST(coalesce(a.collections, 0) AS DOUBLE) / nullif(g.target_collections, 0) AS attainment_collections,
    coalesce(f.followups, 0) / nullif(g.target_followups, 0) AS attainment_followups,
    coalesce(k.tickets_assigned, 0) AS tickets_assigned,
    coalesce(k.tickets_resolved, 0) AS tickets_resolved,
    k.first_response_minutes,
    coalesce(k.sla_breaches, 0) AS sla_breaches,
    k.resolution_hours,
    k.resolved_at_t / nullif(k.tickets_assigned, 0) AS resolution_rate,
    k.reopened / nullif(k.first_resolved, 0) AS reopen_rate,
    k.csat_avg,
    coalesce(k.csat_responses, 0) AS csat_responses,
    coalesce(k.complaints, 0) AS complaints,
    k.complaint_resolution_hours,
    -- the parts of the ratios, for drill-down and for scorecards
    g.target_revenue, g.target_new_customers, g.target_collections, g.target_followups,
    coalesce(c.owned_customers, 0) AS owned_customers
FROM scoped AS s
LEFT JOIN marts.kpi_sales AS a USING (grain, period_start, subject_type, subject_id)
LEFT JOIN marts.kpi_followups AS f USING (grain, period_start, subject_type, subject_id)
LEFT JOIN marts.kpi_customers AS c USING (grain, period_start, subject_type, subject_id)
LEFT JOIN marts.kpi_logins AS l USING (grain, period_start, subject_type, subject_id)
LEFT JOIN marts.kpi_targets AS g USING (grain, period_start, subject_type, subject_id)
LEFT JOIN marts.kpi_tickets AS k USING (grain, period_start, subject_type, subject_id)
LEFT JOIN (SELECT grain, period_start, 'employee' AS subject_type, employee_id AS subject_id, active
           FROM staging.period_members) AS m USING (grain, period_start, subject_type, subject_id)
