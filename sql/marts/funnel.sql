-- Opportunity funnel per period and subject (owner, team at t, company):
-- of the opportunities created in the period, how many reached each stage
-- (in order qualification, needs_analysis, proposal, negotiation, won;
-- reaching a stage counts for the stages before it), how many were lost,
-- the conversion from each stage to the next; and the open pipeline at t
-- (count and latest amount of open opportunities by current stage).
-- grain: one row per (grain, period_start, subject_type, subject_id, stage)
-- @materialized incremental
-- @key grain, period_start
-- @scope staging.dirty_periods
-- @test unique(grain, period_start, subject_type, subject_id, stage)
-- @test accepted_values(stage, 'qualification', 'needs_analysis', 'proposal', 'negotiation', 'won', 'lost')
-- @test range(conversion_to_next, 0, 1)
WITH stages AS (
    SELECT * FROM (VALUES ('qualification', 1), ('needs_analysis', 2), ('proposal', 3), ('negotiation', 4),
                          ('won', 5), ('lost', 6)) AS s(stage, stage_order)
),
since AS (SELECT min(start_at) AS start_at FROM staging.dirty_periods),
progress AS (
    SELECT v.opportunity_id,
           max(s.stage_order) FILTER (WHERE v.stage <> 'lost') AS furthest,
           bool_or(v.stage = 'lost') AS lost
    FROM staging.opportunity_versions AS v JOIN stages AS s USING (stage)
    GROUP BY v.opportunity_id
),
created AS (
    SELECT d.grain, d.period_start, o.owner_id AS employee_id, p.furthest, p.lost
    FROM staging.opportunities AS o JOIN progress AS p USING (opportunity_id)
    CROSS JOIN (SELECT unnest(['day', 'week', 'month', 'quarter']) AS grain) AS g
    JOIN staging.dirty_periods AS d
      ON d.grain = g.grain AND d.period_start = pulse_period_start(g.grain, pulse_date(o.created_at))
    WHERE o.created_at >= (SELECT start_at FROM since)
),
reached AS (
    SELECT c.grain, c.period_start, c.employee_id, s.stage, s.stage_order,
           CASE WHEN s.stage = 'lost' THEN c.lost ELSE c.furthest >= s.stage_order END AS reached,
           NULL::DECIMAL(18,2) AS open_amount, false AS open
    FROM created AS c CROSS JOIN stages AS s
),
open_at_t AS (
    SELECT d.grain, d.period_start, o.owner_id AS employee_id, v.stage, s.stage_order, false, v.amount, true
    FROM staging.dirty_periods AS d
    JOIN staging.opportunity_versions AS v ON v.valid_from < d.t AND v.valid_until >= d.t
    JOIN stages AS s USING (stage)
    LEFT JOIN staging.opportunities AS o USING (opportunity_id)
    WHERE v.stage NOT IN ('won', 'lost')
),
attributed AS (
    SELECT p.*, m.team_id
    FROM (SELECT * FROM reached UNION ALL SELECT * FROM open_at_t) AS p
    LEFT JOIN staging.period_members AS m USING (grain, period_start, employee_id)
),
counted AS (
    SELECT grain, period_start,
           CASE WHEN grouping(employee_id) = 0 THEN 'employee' WHEN grouping(team_id) = 0 THEN 'team' ELSE 'company' END AS subject_type,
           coalesce(CASE WHEN grouping(employee_id) = 0 THEN employee_id WHEN grouping(team_id) = 0 THEN team_id ELSE '' END, '') AS subject_id,
           stage, stage_order,
           count(*) FILTER (WHERE reached AND NOT open) AS reached,
           count(*) FILTER (WHERE open) AS open_pipeline_count,
           coalesce(sum(open_amount) FILTER (WHERE open), 0) AS open_pipeline_amount
    FROM attributed
    GROUP BY GROUPING SETS ((grain, period_start, employee_id, stage, stage_order),
                            (grain, period_start, team_id, stage, stage_order),
                            (grain, period_start, stage, stage_order))
    HAVING NOT ((grouping(employee_id) = 0 AND employee_id IS NULL) OR (grouping(employee_id) = 1 AND grouping(team_id) = 0 AND team_id IS NULL))
),
complete AS (
    -- every stage for every subject that has any row
    SELECT k.grain, k.period_start, k.subject_type, k.subject_id, s.stage, s.stage_order,
           coalesce(c.reached, 0) AS reached,
           coalesce(c.open_pipeline_count, 0) AS open_pipeline_count,
           CAST(coalesce(c.open_pipeline_amount, 0) AS DOUBLE) AS open_pipeline_amount
    FROM (SELECT DISTINCT grain, period_start, subject_type, subject_id FROM counted) AS k
    CROSS JOIN stages AS s
    LEFT JOIN counted AS c USING (grain, period_start, subject_type, subject_id, stage, stage_order)
)
SELECT *,
       CASE WHEN stage_order < 5
            THEN lead(reached) OVER (PARTITION BY grain, period_start, subject_type, subject_id ORDER BY stage_order)
                 / nullif(reached, 0) END AS conversion_to_next
FROM complete
