-- Periods: every day, ISO week, month and quarter from the one holding the
-- earliest event through the one holding now, in the business time zone,
-- with the instants they start and end and their evaluation point t.
-- grain: one row per (grain, period_start)
-- @materialized table
-- @test unique(grain, period_start)
-- @test accepted_values(grain, 'day', 'week', 'month', 'quarter')
-- @test expression(start_at < end_at AND t <= end_at)
WITH bounds AS (
    SELECT pulse_date(min(occurred_at)) AS first_day, pulse_date(pulse_now()) AS today
    FROM raw.events
    WHERE ingested_at <= pulse_cut()
),
grains AS (
    SELECT g.grain, b.first_day, b.today
    FROM bounds AS b, (SELECT unnest(['day', 'week', 'month', 'quarter']) AS grain) AS g
    WHERE b.first_day IS NOT NULL AND b.first_day <= b.today
),
starts AS (
    SELECT grain, CAST(unnest(generate_series(
        CAST(pulse_period_start(grain, first_day) AS TIMESTAMP),
        CAST(today AS TIMESTAMP),
        CASE grain WHEN 'day' THEN INTERVAL 1 DAY WHEN 'week' THEN INTERVAL 7 DAY
                   WHEN 'month' THEN INTERVAL 1 MONTH ELSE INTERVAL 3 MONTH END)) AS DATE) AS period_start
    FROM grains
)
SELECT
    grain,
    period_start,
    pulse_period_end(grain, period_start) AS period_end,
    pulse_at(period_start) AS start_at,
    pulse_at(pulse_period_end(grain, period_start)) AS end_at,
    least(pulse_at(pulse_period_end(grain, period_start)), pulse_now()) AS t,
    pulse_at(pulse_period_end(grain, period_start)) > pulse_now() AS running
FROM starts
