-- Period members: every employee's state at the t of each (dirty) period:
-- the team they count for, their role, whether they are active.
-- grain: one row per (grain, period_start, employee_id)
-- @materialized incremental
-- @key grain, period_start
-- @scope staging.dirty_periods
-- @test unique(grain, period_start, employee_id)
SELECT d.grain, d.period_start, v.employee_id, v.name, v.role, v.team_id, v.team_name,
       v.manager_id, v.active, v.hired_on
FROM staging.dirty_periods AS d
JOIN staging.employee_versions AS v
  ON v.valid_from < d.t AND v.valid_until >= d.t
