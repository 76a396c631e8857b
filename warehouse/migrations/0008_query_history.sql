-- Analysts' ad-hoc SQL (package server, POST /api/query): the history of
-- every query run or refused, and the queries analysts saved by name.

CREATE SEQUENCE ops.query_history_ids;

-- One row per POST /api/query that carried a statement. Only inserted and
-- deleted (the server keeps the newest query.history_keep rows per user),
-- never updated. user_id is 0 for the admin token. format: json, csv,
-- parquet or arrow. status: ok, refused (the sandbox or a limit said no;
-- error says why), error (DuckDB could not parse, bind or run it),
-- timeout, or canceled (the client went away). rows: rows returned (NULL
-- unless ok); truncated: the result was cut at query.max_rows.
CREATE TABLE ops.query_history (
    id BIGINT NOT NULL DEFAULT nextval('ops.query_history_ids'),
    user_id BIGINT NOT NULL,
    user_login VARCHAR NOT NULL,
    sql VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    duration_ms DOUBLE NOT NULL,
    rows BIGINT,
    truncated BOOLEAN,
    status VARCHAR NOT NULL,
    error VARCHAR
);

CREATE SEQUENCE ops.saved_query_ids;

-- Queries saved by name. Saving a name again replaces its SQL
-- (updated_at); only sql and updated_at are ever updated, so the unique
-- index, which DuckDB checks on every update of its own columns, stays on
-- columns that never change.
CREATE TABLE ops.saved_queries (
    id BIGINT NOT NULL DEFAULT nextval('ops.saved_query_ids'),
    owner_user_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    sql VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX saved_queries_owner_name ON ops.saved_queries (owner_user_id, name);
