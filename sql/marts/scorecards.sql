-- Scorecards as published: live for open periods, as frozen when a closed
-- period closed (ops.frozen_scorecards).
-- grain: one row per (grain, period_start, employee_id)
-- @materialized view
SELECT grain, period_start, role, employee_id, name, team_id, score, rank_in_role, rank_in_team,
       dropped_kpis, renormalised, to_json(explanation) AS explanation, false AS frozen
FROM marts.scorecards_computed AS c
WHERE NOT EXISTS (SELECT 1 FROM ops.closed_periods AS z WHERE z.grain = c.grain AND z.period_start = c.period_start)
UNION ALL
SELECT grain, period_start, role, employee_id, name, team_id, score, rank_in_role, rank_in_team,
       dropped_kpis, renormalised, explanation, true
FROM ops.frozen_scorecards AS f
WHERE EXISTS (SELECT 1 FROM ops.closed_periods AS z WHERE z.grain = f.grain AND z.period_start = f.period_start)
