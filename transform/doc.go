// Package transform runs the SQL models of sql/ against the warehouse: it
// loads every model file, derives the dependencies between models from
// their SQL (DuckDB parses it), checks them at start-up, and runs the models
// in dependency order, then the data tests their headers declare, recording
// each run in ops.transform_runs, ops.transform_run_models and
// ops.data_tests.
//
// A run sees one consistent cut of the raw tables: the rows ingested up to
// the latest ingest stamp when the run starts (pulse_cut()). A run is full
// (every model rebuilt whole) when asked, when the last run did not succeed,
// or when the models or the parameters changed since the last successful
// run; otherwise incremental models replace only the keys their scope model
// lists. Run schedules runs as new events land, and at least every MaxIdle
// so that the KPIs of running periods follow the clock.
package transform
