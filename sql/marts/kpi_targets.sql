-- Targets per month and quarter and subject, for each target metric: an
-- employee's latest target.set for the month; for a quarter the sum of its
-- three months (NULL if one lacks a target); teams (members at t) and the
-- company sum their members' targets.
-- grain: one row per (grain, period_start, subject_type, subject_id)
-- @materialized incremental
-- @key grain, period_start
-- @scope staging.dirty_periods
-- @test unique(grain, period_start, subject_type, subject_id)
WITH per_employee AS (
    SELECT d.grain, d.period_start, t.employee_id,
           CASE WHEN count(DISTINCT t.month) FILTER (WHERE t.metric = 'revenue') = d.months
                THEN sum(t.value) FILTER (WHERE t.metric = 'revenue') END AS target_revenue,
           CASE WHEN count(DISTINCT t.month) FILTER (WHERE t.metric = 'new_customers') = d.months
                THEN sum(t.value) FILTER (WHERE t.metric = 'new_customers') END AS target_new_customers,
           CASE WHEN count(DISTINCT t.month) FILTER (WHERE t.metric = 'collections') = d.months
                THEN sum(t.value) FILTER (WHERE t.metric = 'collections') END AS target_collections,
           CASE WHEN count(DISTINCT t.month) FILTER (WHERE t.metric = 'followups') = d.months
                THEN sum(t.value) FILTER (WHERE t.metric = 'followups') END AS target_followups
    FROM (SELECT *, CASE grain WHEN 'month' THEN 1 ELSE 3 END AS months
          FROM staging.dirty_periods WHERE grain IN ('month', 'quarter')) AS d
    JOIN staging.targets AS t ON t.month >= d.period_start AND t.month < d.period_end
    GROUP BY d.grain, d.period_start, d.months, t.employee_id
),
attributed AS (
    SELECT p.*, m.team_id
    FROM per_employee AS p
    LEFT JOIN staging.period_members AS m USING (grain, period_start, employee_id)
)
SELECT
    grain, period_start,
    CASE WHEN grouping(employee_id) = 0 THEN 'employee' WHEN grouping(team_id) = 0 THEN 'team' ELSE 'company' END AS subject_type,
    coalesce(CASE WHEN grouping(employee_id) = 0 THEN employee_id WHEN grouping(team_id) = 0 THEN team_id ELSE '' END, '') AS subject_id,
    sum(target_revenue) AS target_revenue,
    sum(target_new_customers) AS target_new_customers,
    sum(target_collections) AS target_collections,
    sum(target_followups) AS target_followups
FROM attributed
GROUP BY GROUPING SETS ((grain, period_start, employee_id), (grain, period_start, team_id), (grain, period_start))
HAVING NOT ((grouping(employee_id) = 0 AND employee_id IS NULL) OR (grouping(employee_id) = 1 AND grouping(team_id) = 0 AND team_id IS NULL))
