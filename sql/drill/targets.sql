-- Drill-down of the attainment denominators (marts/kpi_targets.sql): the
-- target.set behind each month's target (the latest for the employee,
-- month and metric). A quarter needs all three months of an employee's
-- target, or that employee's target is NULL and adds nothing. Package
-- drill puts these rows (counts_as denominator) under the rows of the
-- attained KPI (counts_as numerator). Parameters: $1 grain, $2 period_start.
WITH per AS (
    SELECT *, CASE grain WHEN 'month' THEN 1 ELSE 3 END AS months
    FROM staging.periods WHERE grain = $1 AND period_start = CAST($2 AS DATE) AND grain IN ('month', 'quarter')
),
latest AS (
    SELECT employee_id, month, metric,
           arg_max(event_id, (occurred_at, recorded_at, event_id)) AS event_id
    FROM raw.target_set WHERE ingested_at <= pulse_cut()
    GROUP BY employee_id, month, metric
),
targets AS (
    SELECT t.employee_id, t.month, t.metric, CAST(t.value AS DOUBLE) AS target, l.event_id,
           count(*) OVER (PARTITION BY t.employee_id, t.metric) = p.months AS complete
    FROM per AS p
    JOIN staging.targets AS t ON t.month >= p.period_start AND t.month < p.period_end
    LEFT JOIN latest AS l USING (employee_id, month, metric)
)
SELECT 'attainment_' || metric AS kpi, employee_id AS owner_id, event_id, target AS value,
       'denominator' AS counts_as, month, metric, target
FROM targets WHERE complete
