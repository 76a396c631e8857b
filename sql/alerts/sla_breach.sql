-- SLA breach: a ticket that has had no first response (no
-- ticket.responded with occurred_at before now) and has waited past its
-- SLA (now > opened_at + pulse_sla_minutes(priority) minutes: past it, as
-- in the KPI sla_breaches, so a ticket at exactly its SLA does not fire
-- yet). A ticket resolved at now (its latest resolve/reopen before now is a
-- resolve) waits no longer and does not fire; its breach still counts in
-- sla_breaches. The ticket belongs to its assignee now and to the
-- assignee's team at now.
-- grain: one row per ticket that fires (no window)
-- @materialized table
-- @test unique(subject_type, subject_id, alert_window)
-- @test not_null(subject_id)
-- @test not_null(summary_en)
-- @test not_null(summary_zh)
-- @test expression(value > threshold)
WITH waiting AS (
    SELECT ticket_id, priority, assignee_id, opened_at, sla_minutes, first_resolved_at
    FROM staging.tickets
    WHERE (first_response_at IS NULL OR first_response_at >= pulse_now())
      AND opened_at + to_minutes(sla_minutes) < pulse_now()
),
resolved_now AS (
    -- only tickets resolved once before now can be resolved at now
    SELECT w.ticket_id
    FROM waiting AS w
    JOIN staging.ticket_status_changes AS s ON s.ticket_id = w.ticket_id AND s.occurred_at < pulse_now()
    WHERE w.first_resolved_at < pulse_now()
    GROUP BY w.ticket_id
    HAVING arg_max(s.change, (s.occurred_at, s.recorded_at, s.event_id)) = 'resolved'
),
staff AS (
    SELECT employee_id, name, team_id
    FROM staging.employee_versions
    WHERE valid_from < pulse_now() AND valid_until >= pulse_now()
),
breached AS (
    SELECT w.*, s.name AS assignee_name, s.team_id,
           (epoch_us(pulse_now()) - epoch_us(w.opened_at)) / 60e6 AS waited,
           -- whole minutes, rounded up: a wait of 60.5 minutes reads 61
           CAST(ceil((epoch_us(pulse_now()) - epoch_us(w.opened_at)) / 60e6 - 1e-9) AS BIGINT) AS waited_whole
    FROM waiting AS w
    ANTI JOIN resolved_now AS r USING (ticket_id)
    LEFT JOIN staff AS s ON s.employee_id = w.assignee_id
)
SELECT
    'ticket' AS subject_type,
    ticket_id AS subject_id,
    ticket_id AS subject_name,
    '' AS alert_window,
    assignee_id AS employee_id,
    team_id,
    waited AS value,
    CAST(sla_minutes AS DOUBLE) AS threshold,
    format('Ticket {} ({}) has waited {:,} minutes without a first response, past its {:,}-minute SLA; {}.',
           ticket_id, priority, waited_whole, sla_minutes,
           CASE WHEN assignee_id IS NULL THEN 'it has no assignee'
                ELSE 'assignee ' || coalesce(assignee_name, assignee_id) END) AS summary_en,
    format('工单 {}（{}）已等待 {:,} 分钟仍未首次响应，超过 {:,} 分钟的 SLA；{}。',
           ticket_id,
           CASE priority WHEN 'urgent' THEN '紧急' WHEN 'high' THEN '高' WHEN 'normal' THEN '普通'
                         WHEN 'low' THEN '低' ELSE priority END,
           waited_whole, sla_minutes,
           CASE WHEN assignee_id IS NULL THEN '尚未分配处理人'
                ELSE '处理人：' || coalesce(assignee_name, assignee_id) END) AS summary_zh,
    json_object('priority', priority, 'opened_at', opened_at, 'sla_minutes', sla_minutes,
                'waited_minutes', waited, 'assignee_id', assignee_id) AS details
FROM breached
