package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/query"
)

// Query runs analysts' SQL, streaming the result. *query.Runner
// implements it.
type Query interface {
	Stream(ctx context.Context, req query.Request, f query.Format, w io.Writer) (*query.Summary, error)
	// Check refuses, for the reason running it would, SQL kept for later.
	Check(ctx context.Context, sql string) error
}

type queryRequest struct {
	SQL    string `json:"sql"`
	Format string `json:"format"`
}

// runQuery answers POST /api/query {"sql": "…", "format": "json|csv|parquet|arrow"}
// (or ?format=, or Accept): one read-only statement, streamed. Every
// request that carries SQL goes into the caller's history, refused ones
// with the reason.
func (s *Server) runQuery(c echo.Context) error {
	if s.opts.Query == nil {
		return errStatus(http.StatusServiceUnavailable, "ad-hoc SQL is not available in this process")
	}
	var req queryRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.SQL == "" {
		return errStatus(http.StatusBadRequest, "sql: a statement is required")
	}
	format := req.Format
	if format == "" {
		format = c.QueryParam("format")
	}
	started := time.Now()
	f, err := query.FormatFor(format, c.Request().Header.Get("Accept"))
	if err != nil {
		s.recordQuery(c, req.SQL, format, started, nil, err)
		return err
	}
	format = string(f)
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, f.ContentType())
	if f != query.FormatJSON {
		h.Set("Content-Disposition", `attachment; filename="query.`+string(f)+`"`)
	}
	// Nothing is written unless the query ran, so an error still gets its
	// status; one that breaks a result half-way can only cut it short.
	sum, err := s.opts.Query.Stream(c.Request().Context(), query.Request{SQL: req.SQL}, f, c.Response())
	s.recordQuery(c, req.SQL, format, started, sum, err)
	if errors.Is(err, query.ErrAborted) {
		s.log.Warn("query result cut short", "err", err)
		return nil
	}
	return err
}
