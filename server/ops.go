package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// RunSummary is one transform run of GET /api/transforms/runs.
// DurationMS is null while the run is under way.
type RunSummary struct {
	RunID        int64      `json:"run_id"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at"`
	Status       string     `json:"status"`
	FullRebuild  bool       `json:"full_rebuild"`
	DurationMS   *float64   `json:"duration_ms"`
	ModelsOK     int64      `json:"models_ok"`
	ModelsFailed int64      `json:"models_failed"`
	TestsPassed  int64      `json:"tests_passed"`
	TestsFailed  int64      `json:"tests_failed"`
}

// RunDetail is GET /api/transforms/runs/:id: the summary, what the run
// saw, its error and every model and data test.
type RunDetail struct {
	RunSummary
	ModelsSkipped int64     `json:"models_skipped"`
	AsOf          time.Time `json:"as_of"`
	// Cut is null for a run that saw no event.
	Cut    *time.Time `json:"cut"`
	Error  *string    `json:"error"`
	Models []RunModel `json:"models"`
	Tests  []DataTest `json:"tests"`
}

// RunModel is one model of a run (ops.transform_run_models).
type RunModel struct {
	Model        string     `json:"model"`
	Layer        string     `json:"layer"`
	Materialized string     `json:"materialized"`
	Status       string     `json:"status"`
	StartedAt    *time.Time `json:"started_at"`
	DurationMS   *float64   `json:"duration_ms"`
	Rows         *int64     `json:"rows"`
	RowsChanged  *int64     `json:"rows_changed"`
	Error        *string    `json:"error"`
}

// DataTest is one data test of a run (ops.data_tests).
type DataTest struct {
	Model    string    `json:"model"`
	Test     string    `json:"test"`
	Status   string    `json:"status"`
	Failures *int64    `json:"failures"`
	Query    string    `json:"query"`
	Error    *string   `json:"error"`
	TestedAt time.Time `json:"tested_at"`
}

// runSelect reads run summaries; tests are counted from ops.data_tests
// (a test that errored counts as failed).
const runSelect = `SELECT r.run_id, r.started_at, r.finished_at, r.status, r.full_rebuild,
	coalesce(r.models_ok, 0), coalesce(r.models_failed, 0),
	coalesce(r.models_skipped, 0), r.as_of, r.cut, r.error,
	(SELECT count(*) FROM ops.data_tests t WHERE t.run_id = r.run_id AND t.status = 'pass'),
	(SELECT count(*) FROM ops.data_tests t WHERE t.run_id = r.run_id AND t.status <> 'pass')
	FROM ops.transform_runs r`

func scanRun(row interface{ Scan(...any) error }) (RunDetail, error) {
	var d RunDetail
	var fin sql.NullTime
	var cut time.Time
	err := row.Scan(&d.RunID, &d.StartedAt, &fin, &d.Status, &d.FullRebuild, &d.ModelsOK, &d.ModelsFailed,
		&d.ModelsSkipped, &d.AsOf, &cut, &d.Error, &d.TestsPassed, &d.TestsFailed)
	d.StartedAt, d.AsOf = d.StartedAt.UTC(), d.AsOf.UTC()
	// A run that saw no event stores -infinity, which JSON cannot carry.
	if y := cut.Year(); y >= 1 && y <= 9999 {
		cut = cut.UTC()
		d.Cut = &cut
	}
	if fin.Valid {
		t := fin.Time.UTC()
		ms := float64(t.Sub(d.StartedAt).Microseconds()) / 1000
		d.FinishedAt, d.DurationMS = &t, &ms
	}
	return d, err
}

// transformRuns answers GET /api/transforms/runs?limit= (default 50):
// the newest runs first.
func (s *Server) transformRuns(c echo.Context) error {
	db, err := s.ops()
	if err != nil {
		return err
	}
	limit, err := limitParam(c, 50, 1000)
	if err != nil {
		return err
	}
	list, err := queryList(c.Request().Context(), db, "transform runs", func(rows *sql.Rows) (RunSummary, error) {
		d, err := scanRun(rows)
		return d.RunSummary, err
	}, runSelect+` ORDER BY r.run_id DESC LIMIT ?`, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"runs": list})
}

// transformRun answers GET /api/transforms/runs/:id: the run with its
// models (in the order they started) and data tests.
func (s *Server) transformRun(c echo.Context) error {
	db, err := s.ops()
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return errStatus(http.StatusNotFound, "no transform run %q", c.Param("id"))
	}
	ctx := c.Request().Context()
	d, err := scanRun(db.QueryRowContext(ctx, runSelect+` WHERE r.run_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return errStatus(http.StatusNotFound, "no transform run %d", id)
	}
	if err != nil {
		return fmt.Errorf("reading transform run %d: %w", id, err)
	}
	if d.Models, err = runModels(ctx, db, id); err != nil {
		return err
	}
	if d.Tests, err = dataTests(ctx, db, id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func runModels(ctx context.Context, db OpsDB, id int64) ([]RunModel, error) {
	return queryList(ctx, db, fmt.Sprintf("models of run %d", id), func(rows *sql.Rows) (RunModel, error) {
		var m RunModel
		var st sql.NullTime
		err := rows.Scan(&m.Model, &m.Layer, &m.Materialized, &m.Status, &st, &m.DurationMS, &m.Rows, &m.RowsChanged, &m.Error)
		if st.Valid {
			t := st.Time.UTC()
			m.StartedAt = &t
		}
		return m, err
	}, `SELECT model, layer, materialized, status, started_at, duration_ms, rows, rows_changed, error
		FROM ops.transform_run_models WHERE run_id = ? ORDER BY started_at NULLS LAST, model`, id)
}

func dataTests(ctx context.Context, db OpsDB, id int64) ([]DataTest, error) {
	return queryList(ctx, db, fmt.Sprintf("data tests of run %d", id), func(rows *sql.Rows) (DataTest, error) {
		var t DataTest
		err := rows.Scan(&t.Model, &t.Test, &t.Status, &t.Failures, &t.Query, &t.Error, &t.TestedAt)
		t.TestedAt = t.TestedAt.UTC()
		return t, err
	}, `SELECT model, test, status, failures, query, error, tested_at
		FROM ops.data_tests WHERE run_id = ? ORDER BY model, test`, id)
}

// RefusedEvent is one message of GET /api/ingest/refused. RawExcerpt is
// the start of the stored bytes as valid UTF-8 (invalid bytes become
// U+FFFD), at most maxExcerpt bytes; RawSize is the message's whole size.
type RefusedEvent struct {
	Topic      string    `json:"kafka_topic"`
	Partition  int32     `json:"kafka_partition"`
	Offset     int64     `json:"kafka_offset"`
	ReasonCode string    `json:"reason_code"`
	Reason     string    `json:"reason"`
	RawExcerpt string    `json:"raw_excerpt"`
	RawSize    int64     `json:"raw_size"`
	RefusedAt  time.Time `json:"refused_at"`
}

// maxExcerpt bounds raw_excerpt: enough to see what was wrong, small
// enough for a table cell.
const maxExcerpt = 2 << 10

// excerpt is the start of raw as valid UTF-8 of at most max bytes, cut at
// a character boundary; each invalid byte becomes U+FFFD.
func excerpt(raw []byte, max int) string {
	out := make([]byte, 0, min(len(raw), max))
	for len(raw) > 0 {
		r, size := utf8.DecodeRune(raw)
		n := utf8.RuneLen(r) // 3 for the replacement character
		if len(out)+n > max {
			break
		}
		out = utf8.AppendRune(out, r)
		raw = raw[size:]
	}
	return string(out)
}

// refusedEvents answers GET /api/ingest/refused?limit=&topic= (default
// 100): the newest refused messages first.
func (s *Server) refusedEvents(c echo.Context) error {
	db, err := s.ops()
	if err != nil {
		return err
	}
	limit, err := limitParam(c, 100, 1000)
	if err != nil {
		return err
	}
	q := `SELECT kafka_topic, kafka_partition, kafka_offset, reason_code, reason,
		raw[1:` + strconv.Itoa(maxExcerpt) + `], raw_size, refused_at FROM ops.refused_events`
	args := []any{}
	if topic := c.QueryParam("topic"); topic != "" {
		q += ` WHERE kafka_topic = ?`
		args = append(args, topic)
	}
	q += ` ORDER BY refused_at DESC, kafka_topic, kafka_partition, kafka_offset DESC LIMIT ?`
	args = append(args, limit)
	list, err := queryList(c.Request().Context(), db, "refused events", func(rows *sql.Rows) (RefusedEvent, error) {
		var e RefusedEvent
		var raw []byte
		err := rows.Scan(&e.Topic, &e.Partition, &e.Offset, &e.ReasonCode, &e.Reason, &raw, &e.RawSize, &e.RefusedAt)
		e.RawExcerpt = excerpt(raw, maxExcerpt)
		e.RefusedAt = e.RefusedAt.UTC()
		return e, err
	}, q, args...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"refused": list})
}
