-- Ticket resolutions: one row per ticket.resolved with its local date; it
-- counts for the employee who resolved it.
-- grain: one row per ticket.resolved event
-- @materialized view
SELECT event_id, ticket_id, employee_id, occurred_at, pulse_date(occurred_at) AS local_date
FROM raw.ticket_resolved
WHERE ingested_at <= pulse_cut()
