-- Calendar: every local date the periods cover, and whether it is a working
-- day (Monday to Friday, minus holidays, plus make-up days, from config).
-- grain: one row per date
-- @materialized table
-- @test unique(day)
-- @test not_null(working)
WITH days AS (
    SELECT CAST(unnest(generate_series(
        CAST(min(period_start) AS TIMESTAMP), CAST(max(period_end) - 1 AS TIMESTAMP), INTERVAL 1 DAY)) AS DATE) AS day
    FROM staging.periods
)
SELECT
    day,
    isodow(day) AS iso_weekday,
    (isodow(day) <= 5 AND NOT list_contains(pulse_holidays(), day))
        OR list_contains(pulse_makeup_days(), day) AS working
FROM days
