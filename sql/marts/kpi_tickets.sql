-- Ticket figures per period and subject. Tickets count for their assignee
-- now, except resolutions, which count for who resolved them: tickets
-- opened, resolved, first response, SLA breaches, resolution time and rate,
-- reopens, CSAT and complaints.
--
-- The three medians are taken through a sort (the middle one or two values
-- of each subject's values in order), not with median(): median() keeps
-- every value of its group in C memory outside DuckDB's memory_limit, and
-- an open quarter holds every ticket since it began (BENCHMARKS.md, "Soak").
-- The sort spills to disk instead. The values are median()'s: the mean of
-- the two middle values, NULL when there are none.
-- grain: one row per (grain, period_start, subject_type, subject_id)
-- @materialized incremental
-- @key grain, period_start
-- @scope staging.dirty_periods
-- @test unique(grain, period_start, subject_type, subject_id)
-- @test expression(sla_breaches <= tickets_assigned AND complaints <= tickets_assigned)
-- @test expression(resolved_at_t <= tickets_assigned AND reopened <= first_resolved)
-- @test range(csat_avg, 1, 5)
WITH since AS (SELECT min(start_at) AS start_at FROM staging.dirty_periods),
grains AS (SELECT unnest(['day', 'week', 'month', 'quarter']) AS grain),
opened AS (
    SELECT d.grain, d.period_start, d.t, k.*
    FROM staging.tickets AS k CROSS JOIN grains AS g
    JOIN staging.dirty_periods AS d ON d.grain = g.grain AND d.period_start = pulse_period_start(g.grain, k.opened_date)
    WHERE k.opened_at >= (SELECT start_at FROM since)
),
status_at_t AS (
    SELECT o.grain, o.period_start, o.ticket_id, s.change AS status
    FROM opened AS o JOIN staging.ticket_status_changes AS s ON s.ticket_id = o.ticket_id AND s.occurred_at < o.t
    QUALIFY row_number() OVER (PARTITION BY o.grain, o.period_start, o.ticket_id
                               ORDER BY s.occurred_at DESC, s.recorded_at DESC, s.event_id DESC) = 1
),
opened_items AS (
    SELECT o.grain, o.period_start, o.assignee_id AS employee_id,
           1 AS opened, 0 AS resolved_events,
           epoch(o.first_response_at - o.opened_at) / 60.0 AS response_minutes,
           CASE WHEN o.first_response_at - o.opened_at > to_minutes(o.sla_minutes)
                  OR (o.first_response_at IS NULL AND o.t > o.opened_at + to_minutes(o.sla_minutes)) THEN 1 ELSE 0 END AS breach,
           CASE WHEN s.status = 'resolved' THEN 1 ELSE 0 END AS resolved_at_t,
           CASE WHEN o.is_complaint THEN 1 ELSE 0 END AS complaint,
           0 AS first_resolved, NULL::DOUBLE AS resolution_hours, 0 AS reopened, NULL::DOUBLE AS complaint_hours,
           NULL::BIGINT AS csat
    FROM opened AS o LEFT JOIN status_at_t AS s USING (grain, period_start, ticket_id)
),
resolved_items AS (
    -- tickets first resolved in the period
    SELECT d.grain, d.period_start, k.assignee_id, 0, 0, NULL, 0, 0, 0,
           1, epoch(k.first_resolved_at - k.opened_at) / 3600.0,
           CASE WHEN k.reopened_after_first_resolve_at < d.t THEN 1 ELSE 0 END,
           CASE WHEN k.is_complaint THEN epoch(k.first_resolved_at - k.opened_at) / 3600.0 END,
           NULL
    FROM staging.tickets AS k CROSS JOIN grains AS g
    JOIN staging.dirty_periods AS d
      ON d.grain = g.grain AND d.period_start = pulse_period_start(g.grain, pulse_date(k.first_resolved_at))
    WHERE k.first_resolved_at >= (SELECT start_at FROM since)
),
resolution_events AS (
    SELECT d.grain, d.period_start, r.employee_id, 0, 1, NULL, 0, 0, 0, 0, NULL, 0, NULL, NULL
    FROM staging.ticket_resolutions AS r CROSS JOIN grains AS g
    JOIN staging.dirty_periods AS d ON d.grain = g.grain AND d.period_start = pulse_period_start(g.grain, r.local_date)
    WHERE r.occurred_at >= (SELECT start_at FROM since)
),
csat_items AS (
    SELECT d.grain, d.period_start, c.assignee_id, 0, 0, NULL, 0, 0, 0, 0, NULL, 0, NULL, c.score
    FROM staging.csat AS c CROSS JOIN grains AS g
    JOIN staging.dirty_periods AS d ON d.grain = g.grain AND d.period_start = pulse_period_start(g.grain, c.local_date)
    WHERE c.occurred_at >= (SELECT start_at FROM since)
),
attributed AS MATERIALIZED (
    SELECT p.*, m.team_id
    FROM (SELECT * FROM opened_items UNION ALL SELECT * FROM resolved_items
          UNION ALL SELECT * FROM resolution_events UNION ALL SELECT * FROM csat_items) AS p
    LEFT JOIN staging.period_members AS m USING (grain, period_start, employee_id)
),
totals AS (
    SELECT
        grain, period_start,
        CASE WHEN grouping(employee_id) = 0 THEN 'employee' WHEN grouping(team_id) = 0 THEN 'team' ELSE 'company' END AS subject_type,
        coalesce(CASE WHEN grouping(employee_id) = 0 THEN employee_id WHEN grouping(team_id) = 0 THEN team_id ELSE '' END, '') AS subject_id,
        sum(opened) AS tickets_assigned,
        sum(resolved_events) AS tickets_resolved,
        sum(breach) AS sla_breaches,
        sum(resolved_at_t) AS resolved_at_t,
        sum(first_resolved) AS first_resolved,
        sum(reopened) AS reopened,
        avg(csat) AS csat_avg,
        count(csat) AS csat_responses,
        sum(complaint) AS complaints
    FROM attributed
    GROUP BY GROUPING SETS ((grain, period_start, employee_id), (grain, period_start, team_id), (grain, period_start))
    HAVING NOT ((grouping(employee_id) = 0 AND employee_id IS NULL) OR (grouping(employee_id) = 1 AND grouping(team_id) = 0 AND team_id IS NULL))
),
median_values AS (
    -- each value once for each subject it counts for, as GROUPING SETS does
    SELECT grain, period_start, employee_id, team_id, 'response' AS measure, response_minutes AS v
    FROM attributed WHERE response_minutes IS NOT NULL
    UNION ALL
    SELECT grain, period_start, employee_id, team_id, 'resolution', resolution_hours
    FROM attributed WHERE resolution_hours IS NOT NULL
    UNION ALL
    SELECT grain, period_start, employee_id, team_id, 'complaint', complaint_hours
    FROM attributed WHERE complaint_hours IS NOT NULL
),
median_subjects AS (
    SELECT grain, period_start, measure, 'employee' AS subject_type, employee_id AS subject_id, v
    FROM median_values WHERE employee_id IS NOT NULL
    UNION ALL
    SELECT grain, period_start, measure, 'team', team_id, v FROM median_values WHERE team_id IS NOT NULL
    UNION ALL
    SELECT grain, period_start, measure, 'company', '', v FROM median_values
),
middles AS (
    SELECT grain, period_start, subject_type, subject_id, measure, v
    FROM (SELECT *, row_number() OVER w AS rn,
                 count(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
          FROM median_subjects
          WINDOW w AS (PARTITION BY grain, period_start, subject_type, subject_id, measure ORDER BY v))
    WHERE rn IN ((n + 1) // 2, (n + 2) // 2)
),
medians AS (
    SELECT grain, period_start, subject_type, subject_id,
           (min(v) FILTER (WHERE measure = 'response') + max(v) FILTER (WHERE measure = 'response')) / 2 AS first_response_minutes,
           (min(v) FILTER (WHERE measure = 'resolution') + max(v) FILTER (WHERE measure = 'resolution')) / 2 AS resolution_hours,
           (min(v) FILTER (WHERE measure = 'complaint') + max(v) FILTER (WHERE measure = 'complaint')) / 2 AS complaint_resolution_hours
    FROM middles
    GROUP BY ALL
)
SELECT
    t.grain, t.period_start, t.subject_type, t.subject_id,
    t.tickets_assigned, t.tickets_resolved, m.first_response_minutes, t.sla_breaches, t.resolved_at_t,
    t.first_resolved, m.resolution_hours, t.reopened, t.csat_avg, t.csat_responses, t.complaints,
    m.complaint_resolution_hours
FROM totals AS t
LEFT JOIN medians AS m USING (grain, period_start, subject_type, subject_id)
