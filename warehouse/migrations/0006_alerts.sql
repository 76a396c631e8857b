-- Alerts (package alert) and their delivery (package notify).
--
-- Tables that are updated in place (alerts, notifications, silences) carry
-- no primary key: DuckDB checks an index on every update, and the
-- evaluator keeps their keys unique itself (tested).

-- One row per alert episode: an alert key (rule/subject_type:subject_id
-- [/window]) fires, resolves, and may fire again later as episode 2.
-- state: pending (held by the rule's `for`), firing, resolved.
-- active_since: the condition first held in this episode (first seen);
-- fired_at: it became firing; last_seen: the last evaluation at which the
-- condition held; resolved_at: the first at which it no longer did.
-- changed_run_id: the run whose evaluation last changed its state (the
-- notifications of that change were queued with it).
CREATE TABLE ops.alerts (
    alert_key VARCHAR NOT NULL,
    episode INTEGER NOT NULL,
    rule VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    subject_type VARCHAR NOT NULL,
    subject_id VARCHAR NOT NULL,
    subject_name VARCHAR,
    alert_window VARCHAR NOT NULL,
    employee_id VARCHAR,
    team_id VARCHAR,
    state VARCHAR NOT NULL,
    value DOUBLE,
    threshold DOUBLE,
    summary_en VARCHAR,
    summary_zh VARCHAR,
    details JSON,
    active_since TIMESTAMPTZ NOT NULL,
    fired_at TIMESTAMPTZ,
    last_seen TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ,
    last_run_id BIGINT,
    changed_run_id BIGINT
);

-- One row per evaluation (after every transform run).
CREATE TABLE ops.alert_evaluations (
    run_id BIGINT NOT NULL,
    evaluated_at TIMESTAMPTZ NOT NULL,
    duration_ms DOUBLE NOT NULL,
    rules_evaluated INTEGER NOT NULL,
    rules_skipped INTEGER NOT NULL,
    firing INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    fired INTEGER NOT NULL,
    resolved INTEGER NOT NULL,
    error VARCHAR
);

CREATE SEQUENCE ops.alert_notification_ids;

-- The outbox: one row per notification to send, written in the same
-- transaction as the alert's change of state, so that a restart between
-- firing and delivery still delivers it, once. kind: firing or resolved.
-- status: pending (to send, next_attempt_at), sent, failed (gave up, or a
-- permanent error), dropped (the alert resolved before it could be sent, or
-- a resolution whose firing notice was never sent).
-- manager: the route asked for the subject's manager as a recipient.
CREATE TABLE ops.alert_notifications (
    notification_id BIGINT NOT NULL DEFAULT nextval('ops.alert_notification_ids'),
    alert_key VARCHAR NOT NULL,
    episode INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    manager BOOLEAN NOT NULL,
    status VARCHAR NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ,
    silenced_by BIGINT,
    last_error VARCHAR
);

-- Every delivery attempt. ok: the receiver accepted it; code: HTTP status
-- or SMTP reply; response: the start of the receiver's answer.
CREATE TABLE ops.alert_deliveries (
    notification_id BIGINT NOT NULL,
    attempt INTEGER NOT NULL,
    channel VARCHAR NOT NULL,
    attempted_at TIMESTAMPTZ NOT NULL,
    duration_ms DOUBLE NOT NULL,
    ok BOOLEAN NOT NULL,
    code INTEGER,
    response VARCHAR,
    error VARCHAR,
    permanent BOOLEAN NOT NULL
);

CREATE SEQUENCE ops.silence_ids;

-- Silences: alerts matching rule and/or subject (NULL matches any) between
-- starts_at and ends_at are recorded but not delivered. Deleting a silence
-- ends it now (ends_at) and keeps the row.
CREATE TABLE ops.silences (
    silence_id BIGINT NOT NULL DEFAULT nextval('ops.silence_ids'),
    rule VARCHAR,
    subject_type VARCHAR,
    subject_id VARCHAR,
    starts_at TIMESTAMPTZ NOT NULL,
    ends_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL,
    comment VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    ended_by VARCHAR
);
