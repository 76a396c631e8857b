-- Login figures per period and subject: distinct business dates with a
-- login, and working days before today without one (from hired_on, for
-- employees active at t). Teams and the company sum their people.
-- grain: one row per (grain, period_start, subject_type, subject_id)
-- @materialized incremental
-- @key grain, period_start
-- @scope staging.dirty_periods
-- @test unique(grain, period_start, subject_type, subject_id)
-- @test range_where(login_days, 0, 92, subject_type = 'employee')
WITH since AS (SELECT min(start_at) AS start_at FROM staging.dirty_periods),
login_dates AS (
    SELECT DISTINCT employee_id, local_date FROM staging.logins
    WHERE occurred_at >= (SELECT start_at FROM since) - INTERVAL 1 DAY
),
logged AS (
    SELECT d.grain, d.period_start, l.employee_id, 1 AS login_day, 0 AS missed_day
    FROM login_dates AS l
    CROSS JOIN (SELECT unnest(['day', 'week', 'month', 'quarter']) AS grain) AS g
    JOIN staging.dirty_periods AS d ON d.grain = g.grain AND d.period_start = pulse_period_start(g.grain, l.local_date)
),
missed AS (
    SELECT d.grain, d.period_start, m.employee_id, 0, 1
    FROM staging.dirty_periods AS d
    JOIN staging.period_members AS m USING (grain, period_start)
    JOIN staging.calendar AS c ON c.day >= d.period_start AND c.day < d.period_end
    WHERE m.active AND c.working
      AND c.day < pulse_date(pulse_now())
      AND (m.hired_on IS NULL OR c.day >= m.hired_on)
      AND NOT EXISTS (SELECT 1 FROM login_dates AS l WHERE l.employee_id = m.employee_id AND l.local_date = c.day)
),
attributed AS (
    SELECT p.*, m.team_id, m.active
    FROM (SELECT * FROM logged UNION ALL SELECT * FROM missed) AS p
    LEFT JOIN staging.period_members AS m USING (grain, period_start, employee_id)
)
SELECT
    grain, period_start,
    CASE WHEN grouping(employee_id) = 0 THEN 'employee' WHEN grouping(team_id) = 0 THEN 'team' ELSE 'company' END AS subject_type,
    coalesce(CASE WHEN grouping(employee_id) = 0 THEN employee_id WHEN grouping(team_id) = 0 THEN team_id ELSE '' END, '') AS subject_id,
    sum(login_day) AS login_days,
    sum(missed_day) AS missed_login_days
FROM attributed
GROUP BY GROUPING SETS ((grain, period_start, employee_id), (grain, period_start, team_id), (grain, period_start))
HAVING NOT ((grouping(employee_id) = 0 AND employee_id IS NULL) OR (grouping(employee_id) = 1 AND grouping(team_id) = 0 AND team_id IS NULL))
