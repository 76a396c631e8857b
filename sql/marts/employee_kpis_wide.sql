-- Employee KPIs, wide: one row per grain, period and employee_id, one column per
-- KPI; frozen says whether the period is closed.
-- grain: one row per (grain, period_start, employee_id)
-- @materialized view
SELECT grain, period_start, subject_id AS employee_id, * EXCLUDE (grain, period_start, subject_type, subject_id)
FROM marts.kpis_wide
WHERE subject_type = 'employee'
