-- Entry burst: an employee who recorded at least threshold follow-ups
-- within params.window_minutes: for each follow-up, the employee's
-- follow-ups with recorded_at in [its recorded_at, its recorded_at +
-- window_minutes] (both ends included) are counted. One alert per employee
-- and business day of the burst's start (the window), with the largest
-- such count that day and the start of the earliest burst reaching it.
-- Days within the last params.lookback_days days, today included.
-- grain: one row per (employee, day) that fires
-- @materialized table
-- @test unique(subject_type, subject_id, alert_window)
-- @test not_null(subject_id)
-- @test not_null(alert_window)
-- @test not_null(summary_en)
-- @test not_null(summary_zh)
-- @test expression(value >= threshold)
WITH recent AS (
    SELECT employee_id, recorded_at
    FROM staging.followups
    WHERE recorded_at >= pulse_at(pulse_date(pulse_now()) - CAST(pulse_alert_param('entry_burst', 'lookback_days') AS INTEGER) + 1)
),
counted AS (
    SELECT employee_id, recorded_at,
           count(*) OVER (PARTITION BY employee_id ORDER BY recorded_at
                          RANGE BETWEEN CURRENT ROW
                                AND to_microseconds(CAST(pulse_alert_param('entry_burst', 'window_minutes') * 60000000 AS BIGINT)) FOLLOWING) AS n
    FROM recent
),
bursts AS (
    SELECT employee_id, pulse_date(recorded_at) AS day,
           max(n) AS n, arg_max(recorded_at, (n, -epoch_us(recorded_at))) AS started_at
    FROM counted
    GROUP BY ALL
    HAVING max(n) >= pulse_alert_threshold('entry_burst')
),
staff AS (
    SELECT employee_id, name, team_id
    FROM staging.employee_versions
    WHERE valid_from < pulse_now() AND valid_until >= pulse_now()
)
SELECT
    'employee' AS subject_type,
    b.employee_id AS subject_id,
    coalesce(s.name, b.employee_id) AS subject_name,
    strftime(b.day, '%Y-%m-%d') AS alert_window,
    b.employee_id,
    s.team_id,
    CAST(b.n AS DOUBLE) AS value,
    pulse_alert_threshold('entry_burst') AS threshold,
    format('{} recorded {} follow-ups within {} minutes from {} on {} (threshold {}).',
           coalesce(s.name, b.employee_id), b.n,
           format('{:g}', pulse_alert_param('entry_burst', 'window_minutes')),
           strftime(pulse_local(b.started_at), '%H:%M'), strftime(b.day, '%Y-%m-%d'),
           format('{:g}', pulse_alert_threshold('entry_burst'))) AS summary_en,
    format('{}于 {} {} 起的 {} 分钟内录入了 {} 条跟进记录（阈值 {} 条）。',
           coalesce(s.name, b.employee_id), strftime(b.day, '%Y-%m-%d'),
           strftime(pulse_local(b.started_at), '%H:%M'),
           format('{:g}', pulse_alert_param('entry_burst', 'window_minutes')),
           b.n, format('{:g}', pulse_alert_threshold('entry_burst'))) AS summary_zh,
    json_object('day', b.day, 'followups', b.n, 'started_at', b.started_at,
                'window_minutes', pulse_alert_param('entry_burst', 'window_minutes')) AS details
FROM bursts AS b
LEFT JOIN staff AS s USING (employee_id)
