-- Drill-down of the customer-state KPIs (marts/kpi_customers.sql): the
-- customers considered at the period's t (owned, stage <> churned), for
-- their owner at t, with the version of the customer used (event_id), the
-- last follow-up before t (by anyone) and the profile fields missing.
-- customer_coverage: covered customers are in both numerator and
-- denominator; dormant_customers: value 1 for a dormant customer, 0 for a
-- covered one; completeness: the mean of value (the filled share).
-- Parameters: $1 grain, $2 period_start.
WITH per AS (
    SELECT * FROM staging.periods WHERE grain = $1 AND period_start = CAST($2 AS DATE)
),
owned AS (
    SELECT p.t, v.customer_id, v.name AS customer_name, v.owner_id, v.stage, v.filled_share,
           array_to_string(v.missing_fields, ', ') AS missing_fields, v.valid_from, v.event_id
    FROM per AS p
    JOIN staging.customer_versions AS v ON v.valid_from < p.t AND v.valid_until >= p.t
    WHERE v.stage <> 'churned'
),
considered AS (
    SELECT o.*, f.occurred_at AS last_followup_at, f.event_id AS last_followup_event_id,
           coalesce(f.occurred_at >= o.t - INTERVAL 720 HOUR, false) AS covered
    FROM owned AS o
    ASOF LEFT JOIN (SELECT customer_id, occurred_at, event_id FROM staging.followups) AS f
      ON f.customer_id = o.customer_id AND o.t > f.occurred_at
)
SELECT 'customer_coverage' AS kpi, owner_id, event_id, 1.0 AS value,
       CASE WHEN covered THEN 'both' ELSE 'denominator' END AS counts_as,
       customer_id, customer_name, stage, valid_from, last_followup_at, last_followup_event_id, covered
FROM considered
UNION ALL BY NAME
SELECT 'dormant_customers' AS kpi, owner_id, event_id, CASE WHEN covered THEN 0.0 ELSE 1.0 END AS value,
       NULL AS counts_as,
       customer_id, customer_name, stage, valid_from, last_followup_at, last_followup_event_id, covered
FROM considered
UNION ALL BY NAME
SELECT 'completeness' AS kpi, owner_id, event_id, CAST(filled_share AS DOUBLE) AS value, 'both' AS counts_as,
       customer_id, customer_name, stage, valid_from, filled_share, missing_fields
FROM considered
