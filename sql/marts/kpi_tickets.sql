-- Ticket figures per period and subject. Tickets count for their assignee
-- now, except resolutions, which count for who resolved them: tickets
-- opened, resolved, first response, SLA breaches, resolution time and rate,
-- reopens, CSAT and complaints.
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
attributed AS (
    SELECT p.*, m.team_id
    FROM (SELECT * FROM opened_items UNION ALL SELECT * FROM resolved_items
          UNION ALL SELECT * FROM resolution_events UNION ALL SELECT * FROM csat_items) AS p
    LEFT JOIN staging.period_members AS m USING (grain, period_start, employee_id)
)
SELECT
    grain, period_start,
    CASE WHEN grouping(employee_id) = 0 THEN 'employee' WHEN grouping(team_id) = 0 THEN 'team' ELSE 'company' END AS subject_type,
    coalesce(CASE WHEN grouping(employee_id) = 0 THEN employee_id WHEN grouping(team_id) = 0 THEN team_id ELSE '' END, '') AS subject_id,
    sum(opened) AS tickets_assigned,
    sum(resolved_events) AS tickets_resolved,
    median(response_minutes) AS first_response_minutes,
    sum(breach) AS sla_breaches,
    sum(resolved_at_t) AS resolved_at_t,
    sum(first_resolved) AS first_resolved,
    median(resolution_hours) AS resolution_hours,
    sum(reopened) AS reopened,
    avg(csat) AS csat_avg,
    count(csat) AS csat_responses,
    sum(complaint) AS complaints,
    median(complaint_hours) AS complaint_resolution_hours
FROM attributed
GROUP BY GROUPING SETS ((grain, period_start, employee_id), (grain, period_start, team_id), (grain, period_start))
HAVING NOT ((grouping(employee_id) = 0 AND employee_id IS NULL) OR (grouping(employee_id) = 1 AND grouping(team_id) = 0 AND team_id IS NULL))
