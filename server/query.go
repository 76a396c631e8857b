package server

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/query"
)

// Query runs analysts' SQL, streaming the result. *query.Runner
// implements it.
type Query interface {
	Stream(ctx context.Context, req query.Request, f query.Format, w io.Writer) (*query.Summary, error)
}

type queryRequest struct {
	SQL    string `json:"sql"`
	Format string `json:"format"`
}

// runQuery answers POST /api/query {"sql": "…", "format": "json|csv|parquet|arrow"}
// (or ?format=, or Accept): one read-only statement, streamed.
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
	f, err := query.FormatFor(format, c.Request().Header.Get("Accept"))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, f.ContentType())
	if f != query.FormatJSON {
		h.Set("Content-Disposition", `attachment; filename="query.`+string(f)+`"`)
	}
	// Nothing is written unless the query ran, so an error still gets its
	// status; one that breaks a result half-way can only cut it short.
	_, err = s.opts.Query.Stream(c.Request().Context(), query.Request{SQL: req.SQL}, f, c.Response())
	if errors.Is(err, query.ErrAborted) {
		s.log.Warn("query result cut short", "err", err)
		return nil
	}
	return err
}
