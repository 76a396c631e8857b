-- Follow-ups: one row per followup.logged, with its local date and when it
-- was recorded.
-- grain: one row per followup.logged event
-- @materialized view
SELECT event_id, followup_id, customer_id, employee_id, channel, opportunity_id,
       next_followup_at, occurred_at, recorded_at, pulse_date(occurred_at) AS local_date
FROM raw.followup_logged
WHERE ingested_at <= pulse_cut()
