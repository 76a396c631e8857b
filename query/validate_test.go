package query_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/query"
)

// Check says no to exactly what Run says no to, with the same reason, and
// runs nothing: a refused statement that writes leaves the table as it was.
func TestCheck(t *testing.T) {
	e := setup(t)
	r := newRunner(t, e.db, query.Options{Timeout: 10 * time.Second})
	ctx := context.Background()
	for _, c := range []struct {
		sql  string
		kind error // nil: allowed
		why  string
	}{
		{`SELECT employee_id, value FROM marts.q_kpis`, nil, ""},
		{`SELECT * FROM read_text('` + e.secret + `')`, query.ErrRefused, "read_text"},
		{`SELECT * FROM '` + e.secret + `'`, query.ErrRefused, "disabled by configuration"},
		{`DELETE FROM marts.q_kpis`, query.ErrRefused, "DELETE"},
		{`SELECT 1; SELECT 2`, query.ErrRefused, "2 statements"},
		{`SELECT nextval('marts.q_seq')`, query.ErrRefused, "nextval"},
		{`SELECT * FROM marts.no_such_table`, query.ErrBadSQL, "no_such_table"},
		{`SELEC 1`, query.ErrBadSQL, "syntax"},
		{`   `, query.ErrBadSQL, "no SQL"},
	} {
		err := r.Check(ctx, c.sql)
		if c.kind == nil {
			if err != nil {
				t.Errorf("%s: %v, want allowed", c.sql, err)
			}
			continue
		}
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: %v, want %v naming %q", c.sql, err, c.kind, c.why)
			continue
		}
		// The same reason as running it.
		if _, runErr := r.Run(ctx, query.Request{SQL: c.sql}); runErr == nil || runErr.Error() != err.Error() {
			t.Errorf("%s: Check says %q, Run says %v", c.sql, err, runErr)
		}
	}
	var n int
	if err := e.db.QueryRowContext(ctx, `SELECT count(*) FROM marts.q_kpis`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("rows after checks: %d %v", n, err)
	}
}
