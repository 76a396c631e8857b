-- The bookkeeping of transforms (package transform): one row per run, per
-- model of a run and per data test of a run; and the periods the business
-- has closed, with the KPIs and scorecards frozen when they closed.

-- alerts: the third layer of models, beside staging and marts.
CREATE SCHEMA IF NOT EXISTS alerts;

-- One row per transform run. status is running while the run is under way,
-- then ok (every model succeeded) or failed. cut is the ingest stamp the
-- run saw raw rows up to (-infinity before any event), as_of its `now`.
-- full_rebuild: every model was rebuilt whole (FULL is an SQL keyword).
CREATE TABLE ops.transform_runs (
    run_id BIGINT PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status VARCHAR NOT NULL,
    full_rebuild BOOLEAN NOT NULL,
    as_of TIMESTAMPTZ NOT NULL,
    cut TIMESTAMPTZ NOT NULL,
    prev_cut TIMESTAMPTZ NOT NULL,
    models_hash VARCHAR NOT NULL,
    params_hash VARCHAR NOT NULL,
    models_ok INTEGER,
    models_failed INTEGER,
    models_skipped INTEGER,
    tests_failed INTEGER,
    error VARCHAR
);

-- One row per model of a run. status: ok, failed or skipped (an upstream
-- model failed). rows is the table's row count after the run (NULL for
-- views); rows_changed the rows written (all of them for a table, the
-- inserted ones for an incremental run).
CREATE TABLE ops.transform_run_models (
    run_id BIGINT NOT NULL,
    model VARCHAR NOT NULL,
    layer VARCHAR NOT NULL,
    materialized VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    started_at TIMESTAMPTZ,
    duration_ms DOUBLE,
    rows BIGINT,
    rows_changed BIGINT,
    error VARCHAR,
    PRIMARY KEY (run_id, model)
);

-- One row per data test of a run: pass, fail (failures offending rows, or
-- groups for unique) or error (the query failed). query finds the rows.
CREATE TABLE ops.data_tests (
    run_id BIGINT NOT NULL,
    model VARCHAR NOT NULL,
    test VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    failures BIGINT,
    query VARCHAR NOT NULL,
    error VARCHAR,
    tested_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, model, test)
);

-- Periods closed: their KPIs no longer change when late events arrive.
CREATE TABLE ops.closed_periods (
    grain VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    closed_at TIMESTAMPTZ NOT NULL,
    closed_by VARCHAR NOT NULL,
    PRIMARY KEY (grain, period_start)
);

-- The KPI values of closed periods, as they were when the period closed.
-- subject_type: employee, team or company.
CREATE TABLE ops.frozen_kpis (
    grain VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    subject_type VARCHAR NOT NULL,
    subject_id VARCHAR NOT NULL,
    kpi VARCHAR NOT NULL,
    value DOUBLE,
    frozen_at TIMESTAMPTZ NOT NULL
);

-- The scorecards of closed periods, as they were when the period closed.
CREATE TABLE ops.frozen_scorecards (
    grain VARCHAR NOT NULL,
    period_start DATE NOT NULL,
    role VARCHAR NOT NULL,
    employee_id VARCHAR NOT NULL,
    name VARCHAR,
    team_id VARCHAR,
    score DOUBLE,
    rank_in_role BIGINT,
    rank_in_team BIGINT,
    dropped_kpis VARCHAR[],
    renormalised BOOLEAN,
    explanation JSON,
    frozen_at TIMESTAMPTZ NOT NULL
);
