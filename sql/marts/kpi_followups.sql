-- Follow-up and lead-response figures per period and subject: follow-ups,
-- visits, channels used, the two sides of followup_timeliness, and lead
-- response (hours to the first follow-up, and the 24-hour rate).
--
-- The median is taken through a sort (the middle one or two values of each
-- subject's values in order), not with median(), which keeps every value of
-- its group in C memory outside DuckDB's memory_limit; kpi_tickets.sql says
-- why. The values are median()'s.
-- grain: one row per (grain, period_start, subject_type, subject_id)
-- @materialized incremental
-- @key grain, period_start
-- @scope staging.dirty_periods
-- @test unique(grain, period_start, subject_type, subject_id)
-- @test expression(timely_followups <= due_followups)
-- @test expression(leads_answered_24h <= leads_due_24h)
WITH since AS (SELECT min(start_at) AS start_at FROM staging.dirty_periods),
grains AS (SELECT unnest(['day', 'week', 'month', 'quarter']) AS grain),
logged AS (
    -- follow-ups in the period, for their author
    SELECT d.grain, d.period_start, f.employee_id, f.channel,
           1 AS followups, CASE WHEN f.channel = 'visit' THEN 1 ELSE 0 END AS visits,
           0 AS due, 0 AS timely, NULL::DOUBLE AS response_hours, 0 AS lead_due_24h, 0 AS lead_24h
    FROM staging.followups AS f CROSS JOIN grains AS g
    JOIN staging.dirty_periods AS d ON d.grain = g.grain AND d.period_start = pulse_period_start(g.grain, f.local_date)
    WHERE f.occurred_at >= (SELECT start_at FROM since)
),
answered AS (
    -- a follow-up with a due time is timely when another follow-up on the
    -- same customer, by anyone, came after it and by due time + 24 h
    -- (the earliest later follow-up decides: an ASOF join finds it)
    SELECT p.employee_id, p.next_followup_at,
           coalesce(n.occurred_at <= p.next_followup_at + INTERVAL 24 HOUR, false) AS timely
    FROM (SELECT * FROM staging.followups WHERE next_followup_at >= (SELECT start_at FROM since)) AS p
    ASOF LEFT JOIN (SELECT customer_id, occurred_at FROM staging.followups) AS n
      ON n.customer_id = p.customer_id AND n.occurred_at > p.occurred_at
),
due AS (
    SELECT d.grain, d.period_start, a.employee_id, NULL AS channel, 0, 0,
           1, CASE WHEN a.timely THEN 1 ELSE 0 END, NULL::DOUBLE, 0, 0
    FROM answered AS a CROSS JOIN grains AS g
    JOIN staging.dirty_periods AS d
      ON d.grain = g.grain AND d.period_start = pulse_period_start(g.grain, pulse_date(a.next_followup_at))
    WHERE a.next_followup_at < d.t
),
leads AS (
    -- each lead's first follow-up on its customer at or after it
    SELECT l.owner_id AS employee_id, l.local_date, l.occurred_at,
           epoch(f.occurred_at - l.occurred_at) / 3600.0 AS hours
    FROM staging.leads AS l
    ASOF LEFT JOIN staging.followups AS f ON f.customer_id = l.customer_id AND f.occurred_at >= l.occurred_at
    WHERE l.occurred_at >= (SELECT start_at FROM since)
),
responses AS (
    SELECT d.grain, d.period_start, l.employee_id, NULL AS channel, 0, 0, 0, 0, l.hours,
           CASE WHEN l.occurred_at <= d.t - INTERVAL 24 HOUR THEN 1 ELSE 0 END,
           CASE WHEN l.occurred_at <= d.t - INTERVAL 24 HOUR AND l.hours <= 24 THEN 1 ELSE 0 END
    FROM leads AS l CROSS JOIN grains AS g
    JOIN staging.dirty_periods AS d ON d.grain = g.grain AND d.period_start = pulse_period_start(g.grain, l.local_date)
),
pooled AS (
    SELECT * FROM logged UNION ALL SELECT * FROM due UNION ALL SELECT * FROM responses
),
attributed AS MATERIALIZED (
    SELECT p.*, m.team_id
    FROM pooled AS p
    LEFT JOIN staging.period_members AS m USING (grain, period_start, employee_id)
),
totals AS (
    SELECT
        grain, period_start,
        CASE WHEN grouping(employee_id) = 0 THEN 'employee' WHEN grouping(team_id) = 0 THEN 'team' ELSE 'company' END AS subject_type,
        coalesce(CASE WHEN grouping(employee_id) = 0 THEN employee_id WHEN grouping(team_id) = 0 THEN team_id ELSE '' END, '') AS subject_id,
        sum(followups) AS followups, sum(visits) AS visits, count(DISTINCT channel) AS channels_used,
        sum(due) AS due_followups, sum(timely) AS timely_followups,
        sum(lead_due_24h) AS leads_due_24h, sum(lead_24h) AS leads_answered_24h
    FROM attributed
    GROUP BY GROUPING SETS ((grain, period_start, employee_id), (grain, period_start, team_id), (grain, period_start))
    HAVING NOT ((grouping(employee_id) = 0 AND employee_id IS NULL) OR (grouping(employee_id) = 1 AND grouping(team_id) = 0 AND team_id IS NULL))
),
median_subjects AS (
    -- each value once for each subject it counts for, as GROUPING SETS does
    SELECT grain, period_start, 'employee' AS subject_type, employee_id AS subject_id, response_hours AS v
    FROM attributed WHERE response_hours IS NOT NULL AND employee_id IS NOT NULL
    UNION ALL
    SELECT grain, period_start, 'team', team_id, response_hours
    FROM attributed WHERE response_hours IS NOT NULL AND team_id IS NOT NULL
    UNION ALL
    SELECT grain, period_start, 'company', '', response_hours
    FROM attributed WHERE response_hours IS NOT NULL
),
medians AS (
    SELECT grain, period_start, subject_type, subject_id, (min(v) + max(v)) / 2 AS lead_response_hours
    FROM (SELECT *, row_number() OVER w AS rn,
                 count(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
          FROM median_subjects
          WINDOW w AS (PARTITION BY grain, period_start, subject_type, subject_id ORDER BY v))
    WHERE rn IN ((n + 1) // 2, (n + 2) // 2)
    GROUP BY ALL
)
SELECT
    t.grain, t.period_start, t.subject_type, t.subject_id,
    t.followups, t.visits, t.channels_used, t.due_followups, t.timely_followups,
    m.lead_response_hours, t.leads_due_24h, t.leads_answered_24h
FROM totals AS t
LEFT JOIN medians AS m USING (grain, period_start, subject_type, subject_id)
