-- Scorecards of metrics.md, live: for every employee active at t whose
-- role has a scorecard (config: scorecards), each line's actual, target,
-- sub-score = min(actual / target, cap) x 100 (lower is better: min(target
-- / actual, cap) x 100, and the cap when actual is 0), weight and
-- contribution; a line whose actual or target is NULL leaves the scorecard
-- and the other weights are renormalised. Score = sum(weight x sub-score) /
-- sum(weight); ranks are dense, by score, within role and period and within
-- team, on the score rounded to 6 decimals: a sum taken in another order
-- (an incremental run against a full rebuild) differs in its last bits,
-- and ties must stay ties. Numeric targets of additive KPIs are monthly: x3 for a quarter,
-- x12/52 for a week, x12/365 for a day. from_targets uses the employee's
-- target.set (months and quarters only).
-- grain: one row per (grain, period_start, employee_id)
-- @materialized incremental
-- @key grain, period_start
-- @scope staging.dirty_periods
-- @test unique(grain, period_start, employee_id)
-- @test range(score, 0, 1000)
-- @test not_null(role)
WITH members AS (
    SELECT m.* FROM staging.period_members AS m SEMI JOIN staging.dirty_periods USING (grain, period_start)
    WHERE m.active AND m.role IN (SELECT role FROM pulse_scorecard_kpis())
),
actuals AS (
    SELECT m.grain, m.period_start, m.employee_id, m.name, m.role, m.team_id, k.target_revenue, k.target_new_customers,
           k.target_collections, k.target_followups,
           unnest([
                {'kpi': 'revenue', 'actual': CAST(k.revenue AS DOUBLE)},
                {'kpi': 'contracts', 'actual': CAST(k.contracts AS DOUBLE)},
                {'kpi': 'avg_deal_size', 'actual': CAST(k.avg_deal_size AS DOUBLE)},
                {'kpi': 'new_customers', 'actual': CAST(k.new_customers AS DOUBLE)},
                {'kpi': 'deals_won', 'actual': CAST(k.deals_won AS DOUBLE)},
                {'kpi': 'deals_lost', 'actual': CAST(k.deals_lost AS DOUBLE)},
                {'kpi': 'win_rate', 'actual': CAST(k.win_rate AS DOUBLE)},
                {'kpi': 'conversion_cycle_days', 'actual': CAST(k.conversion_cycle_days AS DOUBLE)},
                {'kpi': 'followups', 'actual': CAST(k.followups AS DOUBLE)},
                {'kpi': 'visits', 'actual': CAST(k.visits AS DOUBLE)},
                {'kpi': 'channels_used', 'actual': CAST(k.channels_used AS DOUBLE)},
                {'kpi': 'customer_coverage', 'actual': CAST(k.customer_coverage AS DOUBLE)},
                {'kpi': 'dormant_customers', 'actual': CAST(k.dormant_customers AS DOUBLE)},
                {'kpi': 'followup_timeliness', 'actual': CAST(k.followup_timeliness AS DOUBLE)},
                {'kpi': 'lead_response_hours', 'actual': CAST(k.lead_response_hours AS DOUBLE)},
                {'kpi': 'lead_response_rate_24h', 'actual': CAST(k.lead_response_rate_24h AS DOUBLE)},
                {'kpi': 'collections', 'actual': CAST(k.collections AS DOUBLE)},
                {'kpi': 'collection_rate', 'actual': CAST(k.collection_rate AS DOUBLE)},
                {'kpi': 'completeness', 'actual': CAST(k.completeness AS DOUBLE)},
                {'kpi': 'login_days', 'actual': CAST(k.login_days AS DOUBLE)},
                {'kpi': 'missed_login_days', 'actual': CAST(k.missed_login_days AS DOUBLE)},
                {'kpi': 'attainment_revenue', 'actual': CAST(k.attainment_revenue AS DOUBLE)},
                {'kpi': 'attainment_new_customers', 'actual': CAST(k.attainment_new_customers AS DOUBLE)},
                {'kpi': 'attainment_collections', 'actual': CAST(k.attainment_collections AS DOUBLE)},
                {'kpi': 'attainment_followups', 'actual': CAST(k.attainment_followups AS DOUBLE)},
                {'kpi': 'tickets_assigned', 'actual': CAST(k.tickets_assigned AS DOUBLE)},
                {'kpi': 'tickets_resolved', 'actual': CAST(k.tickets_resolved AS DOUBLE)},
                {'kpi': 'first_response_minutes', 'actual': CAST(k.first_response_minutes AS DOUBLE)},
                {'kpi': 'sla_breaches', 'actual': CAST(k.sla_breaches AS DOUBLE)},
                {'kpi': 'resolution_hours', 'actual': CAST(k.resolution_hours AS DOUBLE)},
                {'kpi': 'resolution_rate', 'actual': CAST(k.resolution_rate AS DOUBLE)},
                {'kpi': 'reopen_rate', 'actual': CAST(k.reopen_rate AS DOUBLE)},
                {'kpi': 'csat_avg', 'actual': CAST(k.csat_avg AS DOUBLE)},
                {'kpi': 'csat_responses', 'actual': CAST(k.csat_responses AS DOUBLE)},
                {'kpi': 'complaints', 'actual': CAST(k.complaints AS DOUBLE)},
                {'kpi': 'complaint_resolution_hours', 'actual': CAST(k.complaint_resolution_hours AS DOUBLE)}
           ], recursive := true)
    FROM members AS m
    LEFT JOIN marts.kpis_computed AS k
      ON k.grain = m.grain AND k.period_start = m.period_start AND k.subject_type = 'employee' AND k.subject_id = m.employee_id
),
lines AS (
    SELECT a.grain, a.period_start, a.employee_id, a.name, a.role, a.team_id, c.line, c.kpi, c.weight, c.direction,
           a.actual,
           CASE WHEN c.from_targets THEN
                    CASE c.kpi WHEN 'revenue' THEN a.target_revenue WHEN 'new_customers' THEN a.target_new_customers
                               WHEN 'collections' THEN a.target_collections WHEN 'followups' THEN a.target_followups END
                WHEN c.kpi IN ('revenue', 'contracts', 'new_customers', 'deals_won', 'deals_lost', 'followups', 'visits',
                               'collections', 'login_days', 'missed_login_days', 'tickets_assigned', 'tickets_resolved',
                               'sla_breaches', 'csat_responses', 'complaints')
                THEN c.target * CASE a.grain WHEN 'month' THEN 1 WHEN 'quarter' THEN 3
                                             WHEN 'week' THEN 12 / 52 ELSE 12 / 365 END
                ELSE c.target END AS target
    FROM actuals AS a JOIN pulse_scorecard_kpis() AS c ON c.role = a.role AND c.kpi = a.kpi
),
scored AS (
    SELECT *,
           CASE WHEN actual IS NULL OR target IS NULL OR target = 0 THEN NULL
                WHEN direction = 'higher' THEN least(actual / target, pulse_score_cap()) * 100
                WHEN actual = 0 THEN pulse_score_cap() * 100
                ELSE least(target / actual, pulse_score_cap()) * 100 END AS sub_score
    FROM lines
),
weighed AS (
    SELECT *, sum(weight) FILTER (WHERE sub_score IS NOT NULL)
                  OVER (PARTITION BY grain, period_start, employee_id) AS used_weight
    FROM scored
),
cards AS (
    SELECT grain, period_start, employee_id, any_value(name) AS name, any_value(role) AS role, any_value(team_id) AS team_id,
           sum(weight * sub_score) FILTER (WHERE sub_score IS NOT NULL) / any_value(used_weight) AS score,
           list(kpi ORDER BY line) FILTER (WHERE sub_score IS NULL) AS dropped,
           list({'kpi': kpi, 'actual': actual, 'target': target, 'direction': direction, 'sub_score': sub_score,
                 'weight': weight, 'effective_weight': CASE WHEN sub_score IS NOT NULL THEN weight / used_weight END,
                 'contribution': CASE WHEN sub_score IS NOT NULL THEN weight * sub_score / used_weight END,
                 'included': sub_score IS NOT NULL,
                 'note': CASE WHEN actual IS NULL THEN 'no value this period: left out, other weights renormalised'
                              WHEN target IS NULL OR target = 0 THEN 'no target: left out, other weights renormalised' END}
                ORDER BY line) AS explanation
    FROM weighed
    GROUP BY grain, period_start, employee_id
)
SELECT grain, period_start, role, employee_id, name, team_id, score,
       CASE WHEN score IS NOT NULL THEN dense_rank() OVER (PARTITION BY grain, period_start, role, score IS NULL ORDER BY round(score, 6) DESC) END AS rank_in_role,
       CASE WHEN score IS NOT NULL THEN dense_rank() OVER (PARTITION BY grain, period_start, role, team_id, score IS NULL ORDER BY round(score, 6) DESC) END AS rank_in_team,
       coalesce(dropped, []) AS dropped_kpis,
       len(coalesce(dropped, [])) > 0 AS renormalised,
       explanation
FROM cards
