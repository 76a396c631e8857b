-- Opportunities: one row per opportunity that has an opportunity.created or
-- a stage change: its owner, customer and creation (from the latest
-- opportunity.created), and its first change to won and to lost.
-- grain: one row per opportunity_id
-- @materialized table
-- @test unique(opportunity_id)
WITH created AS (
    SELECT opportunity_id,
           arg_max(owner_id, (occurred_at, recorded_at, event_id)) AS owner_id,
           arg_max(customer_id, (occurred_at, recorded_at, event_id)) AS customer_id,
           arg_max(occurred_at, (occurred_at, recorded_at, event_id)) AS created_at,
           arg_max(stage, (occurred_at, recorded_at, event_id)) AS created_stage,
           arg_max(amount, (occurred_at, recorded_at, event_id)) AS created_amount
    FROM raw.opportunity_created
    WHERE ingested_at <= pulse_cut()
    GROUP BY opportunity_id
),
closes AS (
    SELECT opportunity_id,
           min(occurred_at) FILTER (WHERE to_stage = 'won') AS won_at,
           min(occurred_at) FILTER (WHERE to_stage = 'lost') AS lost_at
    FROM raw.opportunity_stage_changed
    WHERE ingested_at <= pulse_cut()
    GROUP BY opportunity_id
)
SELECT opportunity_id, c.owner_id, c.customer_id, c.created_at, c.created_stage, c.created_amount,
       x.won_at, x.lost_at
FROM created AS c
FULL JOIN closes AS x USING (opportunity_id)
