-- The four schemas of the warehouse and the operational tables of ingest.
-- raw: landed events, typed; staging and marts: built by transforms from
-- raw; ops: offsets, refused events and the bookkeeping of the pipeline.

CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS ops;

-- One row per Kafka partition ever consumed: the next offset to read (the
-- warehouse, not Kafka, is the source of truth for where to resume) and
-- what ingest has done with the partition's messages so far.
CREATE TABLE ops.kafka_offsets (
    topic VARCHAR NOT NULL,
    partition INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    stored_events BIGINT NOT NULL DEFAULT 0,
    refused_events BIGINT NOT NULL DEFAULT 0,
    duplicate_events BIGINT NOT NULL DEFAULT 0,
    unknown_events BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (topic, partition)
);

-- Messages that broke the event contract, one row per message, with the
-- reason in words. Nothing refused is dropped silently.
CREATE TABLE ops.refused_events (
    kafka_topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    kafka_key VARCHAR,
    raw BLOB,
    raw_size BIGINT NOT NULL,
    reason_code VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    refused_at TIMESTAMPTZ NOT NULL
);
