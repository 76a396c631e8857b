package query

import (
	"context"
	"errors"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Check applies every check Run applies to sql (parse, allow-lists,
// statement type, binding) without running it, so that a statement kept for
// later (a saved query) is refused now, with the same reason, rather than
// when someone runs it. The error is of kind ErrRefused or ErrBadSQL (or
// the context's error).
func (r *Runner) Check(parent context.Context, sql string) error {
	if strings.TrimSpace(sql) == "" {
		return errorf(ErrBadSQL, "no SQL given")
	}
	ctx, cancel := context.WithTimeout(parent, r.opts.Timeout)
	defer cancel()
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return r.classify(ctx, parent, err)
	}
	defer conn.Close()
	limited, err := r.check(ctx, conn, sql)
	if err != nil {
		return r.classify(ctx, parent, err)
	}
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return errors.New("query: not a DuckDB connection")
		}
		if err := checkPrepared(c, sql); err != nil {
			return err
		}
		return checkPrepared(c, limited)
	})
	if err != nil {
		return r.classify(ctx, parent, err)
	}
	return nil
}
