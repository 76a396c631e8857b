-- Employee KPIs, long form (interfaces.md): one row per grain, period,
-- employee_id, KPI; value DOUBLE, NULL where metrics.md says NULL.
-- grain: one row per (grain, period_start, employee_id, kpi)
-- @materialized view
SELECT grain, period_start, subject_id AS employee_id, kpi, value
FROM marts.kpis_long
WHERE subject_type = 'employee'
