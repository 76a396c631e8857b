-- Ticket status changes: every ticket.resolved and ticket.reopened, whose
-- latest before t says whether a ticket is resolved at t.
-- grain: one row per resolve or reopen event
-- @materialized view
SELECT ticket_id, 'resolved' AS change, employee_id, occurred_at, recorded_at, event_id
FROM raw.ticket_resolved WHERE ingested_at <= pulse_cut()
UNION ALL
SELECT ticket_id, 'reopened', NULL, occurred_at, recorded_at, event_id
FROM raw.ticket_reopened WHERE ingested_at <= pulse_cut()
