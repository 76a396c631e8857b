-- Company KPIs, wide: one row per grain and period, one column per KPI.
-- grain: one row per (grain, period_start)
-- @materialized view
SELECT * EXCLUDE (subject_type, subject_id)
FROM marts.kpis_wide
WHERE subject_type = 'company'
