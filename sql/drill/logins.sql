-- Drill-down of the login KPIs (marts/kpi_logins.sql): login_days are the
-- business dates with a user.login (the day's first login is the event);
-- missed_login_days are the working days before today without one, from
-- hired_on, of employees active at t (the employee's version at t is the
-- event: it made them active and gave hired_on).
-- Parameters: $1 grain, $2 period_start.
WITH per AS (
    SELECT * FROM staging.periods WHERE grain = $1 AND period_start = CAST($2 AS DATE)
),
login_days AS (
    SELECT l.employee_id, l.local_date AS day,
           arg_min(l.event_id, (l.occurred_at, l.event_id)) AS event_id,
           min(l.occurred_at) AS first_login_at, count(*) AS logins
    FROM staging.logins AS l, per AS p
    WHERE l.local_date >= p.period_start AND l.local_date < p.period_end
    GROUP BY l.employee_id, l.local_date
),
missed AS (
    SELECT m.employee_id, c.day, m.hired_on, v.event_id
    FROM per AS p
    JOIN staging.period_members AS m ON m.grain = p.grain AND m.period_start = p.period_start
    JOIN staging.employee_versions AS v
      ON v.employee_id = m.employee_id AND v.valid_from < p.t AND v.valid_until >= p.t
    JOIN staging.calendar AS c ON c.day >= p.period_start AND c.day < p.period_end
    WHERE m.active AND c.working
      AND c.day < pulse_date(pulse_now())
      AND (m.hired_on IS NULL OR c.day >= m.hired_on)
      AND NOT EXISTS (SELECT 1 FROM staging.logins AS l WHERE l.employee_id = m.employee_id AND l.local_date = c.day)
)
SELECT 'login_days' AS kpi, employee_id AS owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       day, first_login_at, logins
FROM login_days
UNION ALL BY NAME
SELECT 'missed_login_days' AS kpi, employee_id AS owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       day, hired_on
FROM missed
