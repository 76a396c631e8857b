-- Opportunity versions: the stage and amount of an opportunity after each of
-- its events (created, stage changes), with the span in which they hold
-- (valid_from < t <= valid_to). The amount is the latest one given.
-- grain: one row per opportunity event
-- @materialized table
-- @test unique(event_id)
WITH ev AS (
    SELECT event_id, opportunity_id, stage, amount, occurred_at, recorded_at
    FROM raw.opportunity_created WHERE ingested_at <= pulse_cut()
    UNION ALL
    SELECT event_id, opportunity_id, to_stage, amount, occurred_at, recorded_at
    FROM raw.opportunity_stage_changed WHERE ingested_at <= pulse_cut()
)
SELECT
    event_id, opportunity_id, stage,
    last_value(amount IGNORE NULLS) OVER (PARTITION BY opportunity_id ORDER BY occurred_at, recorded_at, event_id
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS amount,
    occurred_at AS valid_from,
    lead(occurred_at) OVER (PARTITION BY opportunity_id ORDER BY occurred_at, recorded_at, event_id) AS valid_to,
    coalesce(lead(occurred_at) OVER (PARTITION BY opportunity_id ORDER BY occurred_at, recorded_at, event_id), 'infinity'::TIMESTAMPTZ) AS valid_until
FROM ev
