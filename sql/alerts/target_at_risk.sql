-- Target at risk: from day params.from_day of the current month (business
-- time), an employee active at now with a revenue target for this month
-- (the latest target.set for metric revenue, above 0) whose run-rate is
-- below threshold × target. Run-rate = revenue so far (contract.signed
-- with occurred_at in [month start, now)) / elapsed share of the month
-- ((now - month start) / (month end - month start), exact instants). The
-- value is run-rate / target; the window is the month (YYYY-MM).
-- grain: one row per employee that fires, in the current month
-- @materialized table
-- @test unique(subject_type, subject_id, alert_window)
-- @test not_null(subject_id)
-- @test not_null(alert_window)
-- @test not_null(summary_en)
-- @test not_null(summary_zh)
-- @test expression(value < threshold)
WITH month AS (
    SELECT m AS month_start,
           pulse_at(m) AS start_at,
           pulse_at(CAST(m + INTERVAL 1 MONTH AS DATE)) AS end_at,
           epoch(pulse_now() - pulse_at(m)) / epoch(pulse_at(CAST(m + INTERVAL 1 MONTH AS DATE)) - pulse_at(m)) AS elapsed
    FROM (SELECT CAST(date_trunc('month', pulse_date(pulse_now())) AS DATE) AS m)
    WHERE day(pulse_date(pulse_now())) >= pulse_alert_param('target_at_risk', 'from_day')
),
staff AS (
    SELECT employee_id, name, team_id
    FROM staging.employee_versions
    WHERE valid_from < pulse_now() AND valid_until >= pulse_now() AND active
),
targeted AS (
    SELECT t.employee_id, CAST(t.value AS DOUBLE) AS target
    FROM staging.targets AS t, month AS m
    WHERE t.metric = 'revenue' AND t.month = m.month_start AND t.value > 0
),
revenue AS (
    SELECT c.owner_id AS employee_id, CAST(sum(c.amount) AS DOUBLE) AS revenue
    FROM staging.contracts AS c, month AS m
    WHERE c.occurred_at >= m.start_at AND c.occurred_at < pulse_now()
    GROUP BY c.owner_id
),
paced AS (
    SELECT t.employee_id, s.name, s.team_id, t.target,
           coalesce(r.revenue, 0) AS revenue, m.elapsed, m.month_start,
           coalesce(r.revenue, 0) / m.elapsed AS run_rate,
           coalesce(r.revenue, 0) / m.elapsed / t.target AS ratio
    FROM targeted AS t
    JOIN staff AS s USING (employee_id)
    LEFT JOIN revenue AS r USING (employee_id)
    CROSS JOIN month AS m
    WHERE coalesce(r.revenue, 0) / m.elapsed < pulse_alert_threshold('target_at_risk') * t.target
)
SELECT
    'employee' AS subject_type,
    employee_id AS subject_id,
    name AS subject_name,
    strftime(month_start, '%Y-%m') AS alert_window,
    employee_id,
    team_id,
    ratio AS value,
    pulse_alert_threshold('target_at_risk') AS threshold,
    format('{}''s revenue so far this month is {}; at this pace the month would reach {}% of the {} target (threshold {}%).',
           name,
           CASE WHEN revenue = round(revenue) THEN format('{:,}', CAST(revenue AS BIGINT)) ELSE format('{:,.2f}', revenue) END,
           CAST(floor(ratio * 100 + 1e-9) AS BIGINT),
           CASE WHEN target = round(target) THEN format('{:,}', CAST(target AS BIGINT)) ELSE format('{:,.2f}', target) END,
           CAST(round(pulse_alert_threshold('target_at_risk') * 100) AS BIGINT)) AS summary_en,
    format('{}本月至今营收 {}，按目前进度全月仅能完成目标 {} 的 {}%（阈值 {}%）。',
           name,
           CASE WHEN revenue = round(revenue) THEN format('{:,}', CAST(revenue AS BIGINT)) ELSE format('{:,.2f}', revenue) END,
           CASE WHEN target = round(target) THEN format('{:,}', CAST(target AS BIGINT)) ELSE format('{:,.2f}', target) END,
           CAST(floor(ratio * 100 + 1e-9) AS BIGINT),
           CAST(round(pulse_alert_threshold('target_at_risk') * 100) AS BIGINT)) AS summary_zh,
    json_object('month', strftime(month_start, '%Y-%m'), 'revenue', revenue, 'target', target,
                'elapsed_share', elapsed, 'run_rate', run_rate) AS details
FROM paced
