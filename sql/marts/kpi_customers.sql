-- Customer-state figures per period and subject, at the period's t: the
-- non-churned customers each owner has, how many had a follow-up (by
-- anyone) in [t - 30 days, t), and their mean profile completeness.
-- grain: one row per (grain, period_start, subject_type, subject_id)
-- @materialized incremental
-- @key grain, period_start
-- @scope staging.dirty_periods
-- @test unique(grain, period_start, subject_type, subject_id)
-- @test expression(covered_customers <= owned_customers)
-- @test range(completeness, 0, 1)
WITH owned AS (
    SELECT d.grain, d.period_start, d.t, v.customer_id, v.owner_id AS employee_id, v.filled_share
    FROM staging.dirty_periods AS d
    JOIN staging.customer_versions AS v
      ON v.valid_from < d.t AND v.valid_until >= d.t
    WHERE v.stage <> 'churned'
),
last_touch AS (
    SELECT o.*, f.occurred_at AS last_followup_at
    FROM owned AS o
    ASOF LEFT JOIN staging.followups AS f ON f.customer_id = o.customer_id AND o.t > f.occurred_at
),
attributed AS (
    SELECT l.*, m.team_id,
           CASE WHEN l.last_followup_at >= l.t - INTERVAL 720 HOUR THEN 1 ELSE 0 END AS covered
    FROM last_touch AS l
    LEFT JOIN staging.period_members AS m USING (grain, period_start, employee_id)
)
SELECT
    grain, period_start,
    CASE WHEN grouping(employee_id) = 0 THEN 'employee' WHEN grouping(team_id) = 0 THEN 'team' ELSE 'company' END AS subject_type,
    coalesce(CASE WHEN grouping(employee_id) = 0 THEN employee_id WHEN grouping(team_id) = 0 THEN team_id ELSE '' END, '') AS subject_id,
    count(*) AS owned_customers, sum(covered) AS covered_customers,
    avg(filled_share) AS completeness
FROM attributed
GROUP BY GROUPING SETS ((grain, period_start, employee_id), (grain, period_start, team_id), (grain, period_start))
HAVING NOT ((grouping(employee_id) = 0 AND employee_id IS NULL) OR (grouping(employee_id) = 1 AND grouping(team_id) = 0 AND team_id IS NULL))
