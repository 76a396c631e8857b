-- Leads: one row per lead.created, with its local date; campaign '(none)'
-- when the event has none.
-- grain: one row per lead.created event
-- @materialized view
SELECT event_id, lead_id, customer_id, owner_id, source, coalesce(campaign, '(none)') AS campaign,
       occurred_at, pulse_date(occurred_at) AS local_date
FROM raw.lead_created
WHERE ingested_at <= pulse_cut()
