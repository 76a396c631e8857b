-- Employee versions: every employee.upserted with the span in which it is
-- the employee's state. The state at t is the version with
-- valid_from < t <= valid_to (valid_to NULL: still current); versions are
-- ordered by occurred_at, then recorded_at, then event_id.
-- grain: one row per employee.upserted event
-- @materialized table
-- @test unique(event_id)
-- @test not_null(employee_id)
-- @test accepted_values(role, 'sales', 'service', 'marketing', 'manager', 'executive')
SELECT
    employee_id, name, role, team_id, coalesce(team_name, team_id) AS team_name,
    manager_id, active, hired_on,
    occurred_at AS valid_from,
    lead(occurred_at) OVER (PARTITION BY employee_id ORDER BY occurred_at, recorded_at, event_id) AS valid_to,
    coalesce(lead(occurred_at) OVER (PARTITION BY employee_id ORDER BY occurred_at, recorded_at, event_id), 'infinity'::TIMESTAMPTZ) AS valid_until,
    event_id, recorded_at
FROM raw.employee_upserted
WHERE ingested_at <= pulse_cut()
