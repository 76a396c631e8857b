-- CSAT: one row per csat.submitted with its local date and the ticket's
-- assignee now (NULL for an unknown ticket: company totals only).
-- grain: one row per csat.submitted event
-- @materialized view
SELECT c.event_id, c.ticket_id, c.score, c.occurred_at, pulse_date(c.occurred_at) AS local_date,
       t.assignee_id
FROM raw.csat_submitted AS c
LEFT JOIN staging.tickets AS t USING (ticket_id)
WHERE c.ingested_at <= pulse_cut()
