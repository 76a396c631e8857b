-- Tickets: one row per ticket with a ticket.opened (the earliest), with its
-- assignee now (the latest of opened.assignee_id and ticket.assigned), its
-- first response, its first resolve and the first reopen after it.
-- grain: one row per ticket_id
-- @materialized table
-- @test unique(ticket_id)
-- @test accepted_values(priority, 'low', 'normal', 'high', 'urgent')
WITH opened AS (
    SELECT ticket_id, customer_id, priority, is_complaint, occurred_at AS opened_at
    FROM raw.ticket_opened WHERE ingested_at <= pulse_cut()
    QUALIFY row_number() OVER (PARTITION BY ticket_id ORDER BY occurred_at, recorded_at, event_id) = 1
),
assignments AS (
    SELECT ticket_id, assignee_id, occurred_at, recorded_at, event_id
    FROM raw.ticket_opened WHERE ingested_at <= pulse_cut() AND assignee_id IS NOT NULL
    UNION ALL
    SELECT ticket_id, assignee_id, occurred_at, recorded_at, event_id
    FROM raw.ticket_assigned WHERE ingested_at <= pulse_cut()
),
assignee AS (
    SELECT ticket_id, assignee_id FROM assignments
    QUALIFY row_number() OVER (PARTITION BY ticket_id ORDER BY occurred_at DESC, recorded_at DESC, event_id DESC) = 1
),
responded AS (
    SELECT ticket_id, min(occurred_at) AS first_response_at
    FROM raw.ticket_responded WHERE ingested_at <= pulse_cut()
    GROUP BY ticket_id
),
resolved AS (
    SELECT ticket_id, min(occurred_at) AS first_resolved_at
    FROM raw.ticket_resolved WHERE ingested_at <= pulse_cut()
    GROUP BY ticket_id
),
reopened AS (
    SELECT r.ticket_id, min(r.occurred_at) AS reopened_at
    FROM raw.ticket_reopened AS r JOIN resolved AS s USING (ticket_id)
    WHERE r.ingested_at <= pulse_cut() AND r.occurred_at > s.first_resolved_at
    GROUP BY r.ticket_id
)
SELECT o.ticket_id, o.customer_id, o.priority, o.is_complaint, o.opened_at,
       pulse_date(o.opened_at) AS opened_date,
       a.assignee_id,
       pulse_sla_minutes(o.priority) AS sla_minutes,
       r.first_response_at, s.first_resolved_at,
       x.reopened_at AS reopened_after_first_resolve_at
FROM opened AS o
LEFT JOIN assignee AS a USING (ticket_id)
LEFT JOIN responded AS r USING (ticket_id)
LEFT JOIN resolved AS s USING (ticket_id)
LEFT JOIN reopened AS x USING (ticket_id)
