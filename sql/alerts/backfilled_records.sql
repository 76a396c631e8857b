-- Back-filled records: an employee who recorded, on one business day (by
-- recorded_at), at least threshold follow-ups whose recorded_at is more
-- than params.delay_hours after their occurred_at (exactly delay_hours is
-- not more). Days recorded within the last params.lookback_days days,
-- today included; the window is that day.
-- grain: one row per (employee, recorded day) that fires
-- @materialized table
-- @test unique(subject_type, subject_id, alert_window)
-- @test not_null(subject_id)
-- @test not_null(alert_window)
-- @test not_null(summary_en)
-- @test not_null(summary_zh)
-- @test expression(value >= threshold)
WITH late AS (
    SELECT employee_id, pulse_date(recorded_at) AS day,
           count(*) AS n,
           max(epoch_us(recorded_at) - epoch_us(occurred_at)) / 3600e6 AS max_delay_hours,
           median(epoch_us(recorded_at) - epoch_us(occurred_at)) / 3600e6 AS median_delay_hours
    FROM staging.followups
    -- recorded on the last lookback_days local days, today included (constant
    -- bounds, so that the scan is pruned)
    WHERE recorded_at >= pulse_at(pulse_date(pulse_now()) - CAST(pulse_alert_param('backfilled_records', 'lookback_days') AS INTEGER) + 1)
      AND recorded_at < pulse_at(pulse_date(pulse_now()) + 1)
      -- microseconds: integer arithmetic (an interval between two TIMESTAMPTZ is slow)
      AND epoch_us(recorded_at) - epoch_us(occurred_at) > pulse_alert_param('backfilled_records', 'delay_hours') * 3600e6
    GROUP BY ALL
    HAVING count(*) >= pulse_alert_threshold('backfilled_records')
),
staff AS (
    SELECT employee_id, name, team_id
    FROM staging.employee_versions
    WHERE valid_from < pulse_now() AND valid_until >= pulse_now()
)
SELECT
    'employee' AS subject_type,
    l.employee_id AS subject_id,
    coalesce(s.name, l.employee_id) AS subject_name,
    strftime(l.day, '%Y-%m-%d') AS alert_window,
    l.employee_id,
    s.team_id,
    CAST(l.n AS DOUBLE) AS value,
    pulse_alert_threshold('backfilled_records') AS threshold,
    format('{} recorded {} follow-ups on {} more than {} hours after they took place (threshold {}).',
           coalesce(s.name, l.employee_id), l.n, strftime(l.day, '%Y-%m-%d'),
           format('{:g}', pulse_alert_param('backfilled_records', 'delay_hours')),
           format('{:g}', pulse_alert_threshold('backfilled_records'))) AS summary_en,
    format('{}在 {} 补录了 {} 条跟进记录，录入时间比发生时间晚 {} 小时以上（阈值 {} 条）。',
           coalesce(s.name, l.employee_id), strftime(l.day, '%Y-%m-%d'), l.n,
           format('{:g}', pulse_alert_param('backfilled_records', 'delay_hours')),
           format('{:g}', pulse_alert_threshold('backfilled_records'))) AS summary_zh,
    json_object('day', l.day, 'followups', l.n, 'max_delay_hours', l.max_delay_hours,
                'median_delay_hours', l.median_delay_hours) AS details
FROM late AS l
LEFT JOIN staff AS s USING (employee_id)
