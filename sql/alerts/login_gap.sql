-- Login gap: an employee active at now, of a role in
-- params.roles, whose logins have stopped for at least threshold working
-- days. The gap is the run of working days before today, going back from
-- yesterday, with no user.login, which stops at the last day with a login
-- (a login today, before now, ends the gap) and never reaches back before
-- hired_on (nor before the first day of staging.calendar, for an employee
-- without hired_on). Working days: Monday to Friday minus the holidays plus
-- the make-up days (staging.calendar). The window is the gap's first
-- working day, so the alert keeps one key while the gap grows.
-- grain: one row per employee that fires
-- @materialized table
-- @test unique(subject_type, subject_id, alert_window)
-- @test not_null(subject_id)
-- @test not_null(alert_window)
-- @test not_null(summary_en)
-- @test not_null(summary_zh)
-- @test expression(value >= threshold)
WITH today AS (
    SELECT pulse_date(pulse_now()) AS today
),
staff AS (
    SELECT employee_id, name, team_id, hired_on
    FROM staging.employee_versions
    WHERE valid_from < pulse_now() AND valid_until >= pulse_now() AND active
      AND list_contains(pulse_alert_list('login_gap', 'roles'), role)
),
recent AS (
    -- most people logged in lately: their last login is found in a short,
    -- recent slice of the logins
    SELECT employee_id, max(occurred_at) AS last_login_at
    FROM staging.logins
    WHERE occurred_at >= pulse_now() - INTERVAL 31 DAY AND occurred_at < pulse_now()
    GROUP BY employee_id
),
older AS (
    -- the others are looked up in the whole history
    SELECT employee_id, max(occurred_at) AS last_login_at
    FROM staging.logins
    WHERE occurred_at < pulse_now() - INTERVAL 31 DAY
      AND employee_id IN (SELECT employee_id FROM staff ANTI JOIN recent USING (employee_id))
    GROUP BY employee_id
),
gap_start AS (
    -- the first day that may belong to the gap: the day after the last
    -- login, not before hired_on, not before the calendar
    SELECT s.employee_id, s.name, s.team_id,
           greatest(pulse_date(coalesce(r.last_login_at, o.last_login_at)) + 1,
                    s.hired_on,
                    (SELECT min(day) FROM staging.calendar)) AS since
    FROM staff AS s
    LEFT JOIN recent AS r USING (employee_id)
    LEFT JOIN older AS o USING (employee_id)
),
gaps AS (
    SELECT g.employee_id, g.name, g.team_id,
           count(*) AS missed, min(c.day) AS first_missed
    FROM gap_start AS g
    JOIN staging.calendar AS c ON c.day >= g.since AND c.day < (SELECT today FROM today)
    WHERE c.working
    GROUP BY ALL
    HAVING count(*) >= pulse_alert_threshold('login_gap')
)
SELECT
    'employee' AS subject_type,
    employee_id AS subject_id,
    name AS subject_name,
    strftime(first_missed, '%Y-%m-%d') AS alert_window,
    employee_id,
    team_id,
    CAST(missed AS DOUBLE) AS value,
    pulse_alert_threshold('login_gap') AS threshold,
    format('{} has not logged in for {} working days (since {}; threshold {}).',
           name, missed, strftime(first_missed, '%Y-%m-%d'),
           format('{:g}', pulse_alert_threshold('login_gap'))) AS summary_en,
    format('{}已连续 {} 个工作日未登录（自 {} 起，阈值 {} 天）。',
           name, missed, strftime(first_missed, '%Y-%m-%d'),
           format('{:g}', pulse_alert_threshold('login_gap'))) AS summary_zh,
    json_object('missed_working_days', missed, 'since', first_missed) AS details
FROM gaps
