-- Raw landing tables: one per event type of events.md, one row per stored
-- event (event_id unique), plus unknown_events for types the contract does
-- not name. Columns are derived from package event; warehouse.Open checks
-- that this file and the contract agree.

CREATE TABLE raw.employee_upserted (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    employee_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    team_id VARCHAR NOT NULL,
    team_name VARCHAR,
    manager_id VARCHAR,
    active BOOLEAN NOT NULL,
    hired_on DATE,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.customer_upserted (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    customer_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    owner_id VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    phone VARCHAR,
    email VARCHAR,
    industry VARCHAR,
    region VARCHAR,
    source VARCHAR,
    needs VARCHAR,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.lead_created (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    lead_id VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    owner_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    campaign VARCHAR,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.followup_logged (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    followup_id VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    employee_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    opportunity_id VARCHAR,
    summary VARCHAR,
    duration_s BIGINT,
    next_followup_at TIMESTAMPTZ,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.opportunity_created (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    opportunity_id VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    owner_id VARCHAR NOT NULL,
    amount DECIMAL(18,2) NOT NULL,
    stage VARCHAR NOT NULL,
    expected_close_on DATE,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.opportunity_stage_changed (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    opportunity_id VARCHAR NOT NULL,
    to_stage VARCHAR NOT NULL,
    amount DECIMAL(18,2),
    lost_reason VARCHAR,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.user_login (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    employee_id VARCHAR NOT NULL,
    client VARCHAR,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.target_set (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    employee_id VARCHAR NOT NULL,
    month DATE NOT NULL,
    metric VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.contract_signed (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    contract_id VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    owner_id VARCHAR NOT NULL,
    amount DECIMAL(18,2) NOT NULL,
    opportunity_id VARCHAR,
    kind VARCHAR,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.invoice_issued (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    invoice_id VARCHAR NOT NULL,
    contract_id VARCHAR NOT NULL,
    amount DECIMAL(18,2) NOT NULL,
    due_on DATE NOT NULL,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.payment_received (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    payment_id VARCHAR NOT NULL,
    invoice_id VARCHAR NOT NULL,
    contract_id VARCHAR NOT NULL,
    amount DECIMAL(18,2) NOT NULL,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.ticket_opened (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    ticket_id VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    priority VARCHAR NOT NULL,
    assignee_id VARCHAR,
    channel VARCHAR,
    category VARCHAR,
    is_complaint BOOLEAN NOT NULL,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.ticket_assigned (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    ticket_id VARCHAR NOT NULL,
    assignee_id VARCHAR NOT NULL,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.ticket_responded (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    ticket_id VARCHAR NOT NULL,
    employee_id VARCHAR NOT NULL,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.ticket_resolved (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    ticket_id VARCHAR NOT NULL,
    employee_id VARCHAR NOT NULL,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.ticket_reopened (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    ticket_id VARCHAR NOT NULL,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.csat_submitted (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    ticket_id VARCHAR NOT NULL,
    score BIGINT NOT NULL,
    comment VARCHAR,
    extra JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.unknown_events (
    event_id VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    event_type VARCHAR NOT NULL,
    data JSON,
    envelope_extra JSON,
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);

