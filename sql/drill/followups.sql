-- Drill-down of the follow-up and lead KPIs (marts/kpi_followups.sql): the
-- follow-ups behind followups, visits and channels_used; the follow-ups due
-- in the period behind followup_timeliness, with the follow-up that
-- answered them; the leads behind lead_response_hours and
-- lead_response_rate_24h, with their first follow-up. Columns as in
-- sales.sql (kpi, owner_id, event_id, value, counts_as, then the item's).
-- Parameters: $1 grain, $2 period_start.
WITH per AS (
    SELECT * FROM staging.periods WHERE grain = $1 AND period_start = CAST($2 AS DATE)
),
logged AS (
    SELECT f.* FROM staging.followups AS f, per AS p
    WHERE f.local_date >= p.period_start AND f.local_date < p.period_end
),
-- follow-ups whose due time falls in the period and before t; timely when
-- the next follow-up on the customer, by anyone, came by due time + 24 h
due AS (
    SELECT d.*, n.event_id AS answered_event_id, n.occurred_at AS answered_at,
           coalesce(n.occurred_at <= d.next_followup_at + INTERVAL 24 HOUR, false) AS timely
    FROM (SELECT f.* FROM staging.followups AS f, per AS p
          WHERE f.next_followup_at IS NOT NULL
            AND pulse_date(f.next_followup_at) >= p.period_start AND pulse_date(f.next_followup_at) < p.period_end
            AND f.next_followup_at < p.t) AS d
    ASOF LEFT JOIN (SELECT customer_id, occurred_at, event_id FROM staging.followups) AS n
      ON n.customer_id = d.customer_id AND n.occurred_at > d.occurred_at
),
-- leads created in the period and the first follow-up on their customer
-- at or after them
leads AS (
    SELECT l.event_id, l.lead_id, l.customer_id, l.owner_id, l.source, l.campaign, l.occurred_at,
           f.occurred_at AS first_followup_at, f.event_id AS first_followup_event_id,
           epoch(f.occurred_at - l.occurred_at) / 3600.0 AS hours,
           l.occurred_at <= p.t - INTERVAL 24 HOUR AS due_24h
    FROM (SELECT l.* FROM staging.leads AS l, per AS p
          WHERE l.local_date >= p.period_start AND l.local_date < p.period_end) AS l
    ASOF LEFT JOIN staging.followups AS f ON f.customer_id = l.customer_id AND f.occurred_at >= l.occurred_at
    CROSS JOIN per AS p
)
SELECT 'followups' AS kpi, employee_id AS owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       followup_id, customer_id, channel, occurred_at, next_followup_at
FROM logged
UNION ALL BY NAME
SELECT 'visits' AS kpi, employee_id AS owner_id, event_id, 1.0 AS value, NULL AS counts_as,
       followup_id, customer_id, channel, occurred_at, next_followup_at
FROM logged WHERE channel = 'visit'
UNION ALL BY NAME
SELECT 'channels_used' AS kpi, employee_id AS owner_id, event_id, NULL::DOUBLE AS value, NULL AS counts_as,
       followup_id, customer_id, channel, occurred_at
FROM logged
UNION ALL BY NAME
SELECT 'followup_timeliness' AS kpi, employee_id AS owner_id, event_id, 1.0 AS value,
       CASE WHEN timely THEN 'both' ELSE 'denominator' END AS counts_as,
       followup_id, customer_id, channel, occurred_at, next_followup_at, answered_at, answered_event_id, timely
FROM due
UNION ALL BY NAME
SELECT 'lead_response_hours' AS kpi, owner_id, event_id, hours AS value, 'both' AS counts_as,
       lead_id, customer_id, source, campaign, occurred_at, first_followup_at, first_followup_event_id, hours
FROM leads WHERE hours IS NOT NULL
UNION ALL BY NAME
SELECT 'lead_response_rate_24h' AS kpi, owner_id, event_id, 1.0 AS value,
       CASE WHEN hours <= 24 THEN 'both' ELSE 'denominator' END AS counts_as,
       lead_id, customer_id, source, campaign, occurred_at, first_followup_at, first_followup_event_id, hours
FROM leads WHERE due_24h
