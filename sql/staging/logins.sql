-- Logins: one row per user.login, with its local date.
-- grain: one row per user.login event
-- @materialized view
SELECT event_id, employee_id, client, occurred_at, pulse_date(occurred_at) AS local_date
FROM raw.user_login
WHERE ingested_at <= pulse_cut()
