-- Company KPIs, long form (interfaces.md): one row per grain, period, KPI;
-- everything counts, unattributed items included.
-- grain: one row per (grain, period_start, kpi)
-- @materialized view
SELECT grain, period_start, kpi, value
FROM marts.kpis_long
WHERE subject_type = 'company'
