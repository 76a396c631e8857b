package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/query"
)

// OpsDB is what the operations endpoints need of the warehouse database
// (query history, saved queries, transform runs, refused events).
// *sql.DB implements it.
type OpsDB interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// queryList runs q on db and reads every row with scan; what names the
// rows in errors ("reading what: …").
func queryList[T any](ctx context.Context, db OpsDB, what string, scan func(*sql.Rows) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	defer rows.Close()
	list := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", what, err)
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return list, nil
}

// DefaultHistoryKeep is how many history entries a user keeps when
// Options.HistoryKeep is not set.
const DefaultHistoryKeep = 1000

// Bounds of saved queries, so that one user cannot fill the warehouse.
const (
	maxSavedQueries = 500
	maxQueryName    = 200
	maxSavedSQL     = 64 << 10
)

func (s *Server) ops() (OpsDB, error) {
	if s.opts.Ops == nil {
		return nil, errStatus(http.StatusServiceUnavailable, "the operations store is not available in this process")
	}
	return s.opts.Ops, nil
}

// caller is who a history entry or saved query belongs to: the user's id
// (0 for the admin token) and login.
func caller(c echo.Context) (int64, string) {
	if p, ok := auth.FromContext(c); ok {
		return p.UserID, p.String()
	}
	return 0, principal(c)
}

// HistoryEntry is one query of GET /api/query/history.
type HistoryEntry struct {
	ID         int64     `json:"id"`
	SQL        string    `json:"sql"`
	Format     string    `json:"format"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS float64   `json:"duration_ms"`
	Rows       *int64    `json:"rows"`
	Truncated  *bool     `json:"truncated"`
	Status     string    `json:"status"`
	Error      *string   `json:"error"`
}

// queryOutcome is how a POST /api/query ended, for the history.
func queryOutcome(err error) (status, msg string) {
	switch {
	case err == nil:
		return "ok", ""
	case errors.Is(err, query.ErrRefused), errors.Is(err, query.ErrBusy), errors.Is(err, query.ErrNotAcceptable):
		return "refused", err.Error()
	case errors.Is(err, query.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout", err.Error()
	case errors.Is(err, query.ErrAborted), errors.Is(err, context.Canceled):
		return "canceled", err.Error()
	case errors.Is(err, query.ErrBadSQL):
		return "error", err.Error()
	}
	return "error", "internal error"
}

// recordQuery writes one history entry and trims the user's history to
// the newest HistoryKeep. Recording must not fail the query, so errors are
// logged only; it outlives a client that hung up.
func (s *Server) recordQuery(c echo.Context, sqlText, format string, started time.Time, sum *query.Summary, qerr error) {
	if s.opts.Ops == nil {
		return
	}
	uid, login := caller(c)
	status, msg := queryOutcome(qerr)
	var rows, truncated, errText any
	if sum != nil && qerr == nil {
		rows, truncated = int64(sum.RowCount), sum.Truncated
	}
	if msg != "" {
		errText = scrubPaths(msg)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 5*time.Second)
	defer cancel()
	s.historyMu.Lock()
	defer s.historyMu.Unlock()
	_, err := s.opts.Ops.ExecContext(ctx, `INSERT INTO ops.query_history
		(user_id, user_login, sql, format, started_at, duration_ms, rows, truncated, status, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		uid, login, sqlText, format, started.UTC(), float64(time.Since(started).Microseconds())/1000,
		rows, truncated, status, errText)
	if err == nil {
		_, err = s.opts.Ops.ExecContext(ctx, `DELETE FROM ops.query_history WHERE user_id = ? AND id <= (
			SELECT id FROM ops.query_history WHERE user_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
			uid, uid, s.opts.HistoryKeep)
	}
	if err != nil {
		s.log.Error("recording query history", "user", login, "err", err)
	}
}

// limitParam reads ?limit=, def when absent, at most max.
func limitParam(c echo.Context, def, max int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errStatus(http.StatusBadRequest, "limit: want a whole number from 1, got %q", v)
	}
	return min(n, max), nil
}

// queryHistory answers GET /api/query/history?limit= (default 50): the
// caller's own queries, newest first.
func (s *Server) queryHistory(c echo.Context) error {
	db, err := s.ops()
	if err != nil {
		return err
	}
	limit, err := limitParam(c, 50, s.opts.HistoryKeep)
	if err != nil {
		return err
	}
	uid, _ := caller(c)
	list, err := queryList(c.Request().Context(), db, "query history", func(rows *sql.Rows) (HistoryEntry, error) {
		var h HistoryEntry
		err := rows.Scan(&h.ID, &h.SQL, &h.Format, &h.StartedAt, &h.DurationMS, &h.Rows, &h.Truncated, &h.Status, &h.Error)
		h.StartedAt = h.StartedAt.UTC()
		return h, err
	}, `SELECT id, sql, format, started_at, duration_ms, rows, truncated, status, error
		FROM ops.query_history WHERE user_id = ? ORDER BY id DESC LIMIT ?`, uid, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"history": list})
}

// SavedQuery is one saved query of GET/POST /api/queries.
type SavedQuery struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	SQL       string    `json:"sql"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

const savedColumns = `id, name, sql, created_at, updated_at`

func scanSaved(row interface{ Scan(...any) error }) (SavedQuery, error) {
	var q SavedQuery
	err := row.Scan(&q.ID, &q.Name, &q.SQL, &q.CreatedAt, &q.UpdatedAt)
	q.CreatedAt, q.UpdatedAt = q.CreatedAt.UTC(), q.UpdatedAt.UTC()
	return q, err
}

// savedQueries answers GET /api/queries: the caller's saved queries by name.
func (s *Server) savedQueries(c echo.Context) error {
	db, err := s.ops()
	if err != nil {
		return err
	}
	uid, _ := caller(c)
	list, err := queryList(c.Request().Context(), db, "saved queries", func(rows *sql.Rows) (SavedQuery, error) {
		return scanSaved(rows)
	}, `SELECT `+savedColumns+` FROM ops.saved_queries WHERE owner_user_id = ? ORDER BY name, id`, uid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"queries": list})
}

// saveQuery answers POST /api/queries {"name", "sql"}: the SQL must pass
// the checks a query passes (the refusal says why not). Saving a name the
// caller already has replaces its SQL (200); a new name answers 201.
func (s *Server) saveQuery(c echo.Context) error {
	db, err := s.ops()
	if err != nil {
		return err
	}
	if s.opts.Query == nil {
		return errStatus(http.StatusServiceUnavailable, "ad-hoc SQL is not available in this process")
	}
	var req struct {
		Name string `json:"name"`
		SQL  string `json:"sql"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	req.Name = strings.TrimSpace(req.Name)
	switch {
	case req.Name == "":
		return errStatus(http.StatusBadRequest, "name: a name is required")
	case len(req.Name) > maxQueryName:
		return errStatus(http.StatusBadRequest, "name: at most %d bytes", maxQueryName)
	case strings.TrimSpace(req.SQL) == "":
		return errStatus(http.StatusBadRequest, "sql: a statement is required")
	case len(req.SQL) > maxSavedSQL:
		return errStatus(http.StatusBadRequest, "sql: at most %d bytes", maxSavedSQL)
	}
	ctx := c.Request().Context()
	if err := s.opts.Query.Check(ctx, req.SQL); err != nil {
		return err
	}
	uid, _ := caller(c)
	s.savedMu.Lock()
	defer s.savedMu.Unlock()
	now := time.Now().UTC()
	var id int64
	err = db.QueryRowContext(ctx, `SELECT id FROM ops.saved_queries WHERE owner_user_id = ? AND name = ?`,
		uid, req.Name).Scan(&id)
	status := http.StatusOK
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM ops.saved_queries WHERE owner_user_id = ?`, uid).Scan(&n); err != nil {
			return fmt.Errorf("counting saved queries: %w", err)
		}
		if n >= maxSavedQueries {
			return errStatus(http.StatusConflict, "at most %d saved queries; delete some first", maxSavedQueries)
		}
		if err := db.QueryRowContext(ctx, `INSERT INTO ops.saved_queries (owner_user_id, name, sql, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, uid, req.Name, req.SQL, now, now).Scan(&id); err != nil {
			return fmt.Errorf("saving query %q: %w", req.Name, err)
		}
		status = http.StatusCreated
	case err != nil:
		return fmt.Errorf("saving query %q: %w", req.Name, err)
	default:
		if _, err := db.ExecContext(ctx, `UPDATE ops.saved_queries SET sql = ?, updated_at = ? WHERE id = ?`,
			req.SQL, now, id); err != nil {
			return fmt.Errorf("saving query %q: %w", req.Name, err)
		}
	}
	q, err := scanSaved(db.QueryRowContext(ctx, `SELECT `+savedColumns+` FROM ops.saved_queries WHERE id = ?`, id))
	if err != nil {
		return fmt.Errorf("reading saved query %q: %w", req.Name, err)
	}
	return c.JSON(status, q)
}

// deleteSavedQuery answers DELETE /api/queries/:id (204). Another user's
// query is 404, as if it did not exist.
func (s *Server) deleteSavedQuery(c echo.Context) error {
	db, err := s.ops()
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return errStatus(http.StatusNotFound, "no saved query %q", c.Param("id"))
	}
	uid, _ := caller(c)
	s.savedMu.Lock()
	defer s.savedMu.Unlock()
	res, err := db.ExecContext(c.Request().Context(), `DELETE FROM ops.saved_queries WHERE id = ? AND owner_user_id = ?`, id, uid)
	if err != nil {
		return fmt.Errorf("deleting saved query %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errStatus(http.StatusNotFound, "no saved query %d", id)
	}
	return c.NoContent(http.StatusNoContent)
}
