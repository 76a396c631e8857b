-- Targets: the latest target.set (by occurred_at, then recorded_at, then
-- event_id) for each employee, month and metric.
-- grain: one row per (employee_id, month, metric)
-- @materialized table
-- @test unique(employee_id, month, metric)
-- @test accepted_values(metric, 'revenue', 'new_customers', 'collections', 'followups')
SELECT employee_id, month, metric,
       arg_max(value, (occurred_at, recorded_at, event_id)) AS value
FROM raw.target_set
WHERE ingested_at <= pulse_cut()
GROUP BY employee_id, month, metric
