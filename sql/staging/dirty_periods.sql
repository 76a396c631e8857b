-- Dirty periods: the periods this run recomputes. All of them on a full
-- run; otherwise the periods that were running since the last run (their t
-- moved with the clock), the periods new events can change (they overlap a
-- changed interval), and periods that did not exist before (a late event
-- older than everything else).
-- grain: one row per (grain, period_start)
-- @materialized table
-- @test unique(grain, period_start)
-- @test relationships(period_start, staging.periods.period_start)
WITH old_first AS (
    SELECT pulse_date(min(occurred_at)) AS first_day FROM raw.events WHERE ingested_at <= pulse_prev_cut()
),
picked AS (
    SELECT grain, period_start FROM staging.periods WHERE pulse_full()
    UNION
    SELECT grain, period_start FROM staging.periods
    WHERE end_at > pulse_prev_now() AND start_at <= pulse_now()
    UNION
    SELECT p.grain, p.period_start FROM staging.periods AS p, old_first AS o
    WHERE o.first_day IS NULL OR p.period_start < pulse_period_start(p.grain, o.first_day)
    UNION
    SELECT p.grain, p.period_start
    FROM staging.periods AS p JOIN staging.changed_intervals AS c ON p.start_at <= c.b AND p.end_at > c.a
)
SELECT p.*
FROM staging.periods AS p SEMI JOIN picked USING (grain, period_start)
