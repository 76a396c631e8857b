-- Drill-down of the ticket KPIs (marts/kpi_tickets.sql). Tickets opened in
-- the period (event: their first ticket.opened), for their assignee now:
-- tickets_assigned, complaints, sla_breaches, first_response_minutes,
-- resolution_rate. Tickets first resolved in the period (event: that
-- ticket.resolved), for their assignee now: resolution_hours, reopen_rate,
-- complaint_resolution_hours. ticket.resolved events in the period, for
-- who resolved: tickets_resolved. csat.submitted in the period, for the
-- ticket's assignee now: csat_avg, csat_responses.
-- Parameters: $1 grain, $2 period_start.
WITH per AS (
    SELECT * FROM staging.periods WHERE grain = $1 AND period_start = CAST($2 AS DATE)
),
first_opened AS (
    SELECT ticket_id, arg_min(event_id, (occurred_at, recorded_at, event_id)) AS event_id
    FROM raw.ticket_opened WHERE ingested_at <= pulse_cut()
    GROUP BY ticket_id
),
first_resolve AS (
    SELECT ticket_id, arg_min(event_id, (occurred_at, recorded_at, event_id)) AS event_id
    FROM raw.ticket_resolved WHERE ingested_at <= pulse_cut()
    GROUP BY ticket_id
),
opened AS (
    SELECT k.*, p.t, o.event_id,
           epoch(k.first_response_at - k.opened_at) / 60.0 AS response_minutes,
           k.first_response_at - k.opened_at > to_minutes(k.sla_minutes)
             OR (k.first_response_at IS NULL AND p.t > k.opened_at + to_minutes(k.sla_minutes)) AS breached
    FROM staging.tickets AS k
    CROSS JOIN per AS p
    LEFT JOIN first_opened AS o USING (ticket_id)
    WHERE k.opened_date >= p.period_start AND k.opened_date < p.period_end
),
status_at_t AS (
    SELECT o.ticket_id, s.change AS status_at_t
    FROM opened AS o JOIN staging.ticket_status_changes AS s ON s.ticket_id = o.ticket_id AND s.occurred_at < o.t
    QUALIFY row_number() OVER (PARTITION BY o.ticket_id ORDER BY s.occurred_at DESC, s.recorded_at DESC, s.event_id DESC) = 1
),
opened_items AS (
    SELECT o.*, coalesce(s.status_at_t, 'open') AS status_at_t
    FROM opened AS o LEFT JOIN status_at_t AS s USING (ticket_id)
),
resolved AS (
    SELECT k.*, r.event_id,
           epoch(k.first_resolved_at - k.opened_at) / 3600.0 AS resolution_hours,
           coalesce(k.reopened_after_first_resolve_at < p.t, false) AS reopened
    FROM staging.tickets AS k
    CROSS JOIN per AS p
    LEFT JOIN first_resolve AS r USING (ticket_id)
    WHERE k.first_resolved_at IS NOT NULL
      AND pulse_date(k.first_resolved_at) >= p.period_start AND pulse_date(k.first_resolved_at) < p.period_end
),
resolutions AS (
    SELECT r.* FROM staging.ticket_resolutions AS r, per AS p
    WHERE r.local_date >= p.period_start AND r.local_date < p.period_end
),
csat AS (
    SELECT c.* FROM staging.csat AS c, per AS p
    WHERE c.local_date >= p.period_start AND c.local_date < p.period_end
)
SELECT 'tickets_assigned' AS kpi, assignee_id AS owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       ticket_id, customer_id, priority, is_complaint, opened_at, first_response_at, status_at_t
FROM opened_items
UNION ALL BY NAME
SELECT 'complaints' AS kpi, assignee_id AS owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       ticket_id, customer_id, priority, is_complaint, opened_at, first_response_at, status_at_t
FROM opened_items WHERE is_complaint
UNION ALL BY NAME
SELECT 'sla_breaches' AS kpi, assignee_id AS owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       ticket_id, customer_id, priority, opened_at, sla_minutes, first_response_at, response_minutes, breached
FROM opened_items WHERE breached
UNION ALL BY NAME
SELECT 'first_response_minutes' AS kpi, assignee_id AS owner_id, event_id, response_minutes AS value,
       'both' AS counts_as,
       ticket_id, customer_id, priority, opened_at, first_response_at, response_minutes
FROM opened_items WHERE response_minutes IS NOT NULL
UNION ALL BY NAME
SELECT 'resolution_rate' AS kpi, assignee_id AS owner_id, event_id, 1.0 AS value,
       CASE WHEN status_at_t = 'resolved' THEN 'both' ELSE 'denominator' END AS counts_as,
       ticket_id, customer_id, priority, opened_at, first_resolved_at, status_at_t
FROM opened_items
UNION ALL BY NAME
SELECT 'resolution_hours' AS kpi, assignee_id AS owner_id, event_id, resolution_hours AS value,
       'both' AS counts_as,
       ticket_id, customer_id, priority, is_complaint, opened_at, first_resolved_at, resolution_hours
FROM resolved
UNION ALL BY NAME
SELECT 'reopen_rate' AS kpi, assignee_id AS owner_id, event_id, 1.0 AS value,
       CASE WHEN reopened THEN 'both' ELSE 'denominator' END AS counts_as,
       ticket_id, customer_id, priority, opened_at, first_resolved_at,
       reopened_after_first_resolve_at AS reopened_at, reopened
FROM resolved
UNION ALL BY NAME
SELECT 'complaint_resolution_hours' AS kpi, assignee_id AS owner_id, event_id, resolution_hours AS value,
       'both' AS counts_as,
       ticket_id, customer_id, priority, is_complaint, opened_at, first_resolved_at, resolution_hours
FROM resolved WHERE is_complaint
UNION ALL BY NAME
SELECT 'tickets_resolved' AS kpi, employee_id AS owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       ticket_id, occurred_at AS resolved_at
FROM resolutions
UNION ALL BY NAME
SELECT 'csat_avg' AS kpi, assignee_id AS owner_id, event_id, CAST(score AS DOUBLE) AS value, 'both' AS counts_as,
       ticket_id, score, occurred_at AS submitted_at
FROM csat
UNION ALL BY NAME
SELECT 'csat_responses' AS kpi, assignee_id AS owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       ticket_id, score, occurred_at AS submitted_at
FROM csat
