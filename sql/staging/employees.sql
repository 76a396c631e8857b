-- Employees as they stand now: the latest version of each employee.
-- grain: one row per employee_id
-- @materialized table
-- @test unique(employee_id)
SELECT employee_id, name, role, team_id, team_name, manager_id, active, hired_on,
       valid_from AS updated_at
FROM staging.employee_versions
WHERE valid_to IS NULL
