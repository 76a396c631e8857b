package dashboard

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" driver
)

// parser parses tile SQL with an in-memory DuckDB (json_serialize_sql):
// no warehouse needed.
type parser struct{ db *sql.DB }

func newParser() (*parser, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("opening DuckDB to parse dashboards: %w", err)
	}
	db.SetMaxOpenConns(1)
	return &parser{db: db}, nil
}

func (p *parser) close() { p.db.Close() }

// checkSQL parses every tile's SQL: one SELECT statement, named parameters
// only, exactly the declared ones, and the scope parameters where (and only
// where) the tile's scope is sql.
func (p *parser) checkSQL(d *Dashboard) []error {
	var errs []error
	for i, t := range d.Tiles {
		field := fmt.Sprintf("tiles[%d].sql", i)
		used, line, err := p.params(t.SQL)
		if err != nil {
			errs = append(errs, fileError(d.File, t.sqlLine+max(line, 1)-1, field, "does not parse: %v", err))
			continue
		}
		t.used = used
		for _, u := range used {
			if _, err := strconv.Atoi(u); err == nil {
				errs = append(errs, fileError(d.File, t.sqlLine, field, "positional parameter ($%s or ?): use named parameters ($grain, …)", u))
				continue
			}
			if !slices.Contains(t.Params, u) {
				what := "not declared in params"
				if _, known := Params[u]; !known {
					what = "not a parameter (" + strings.Join(sortedKeys(Params), ", ") + ")"
				}
				errs = append(errs, fileError(d.File, t.sqlLine, field, "$%s is %s", u, what))
			}
		}
		for _, decl := range t.Params {
			if !slices.Contains(used, decl) {
				errs = append(errs, fileError(d.File, t.sqlLine, field, "$%s is declared in params but not used", decl))
			}
		}
		usesScope := slices.ContainsFunc(used, isScopeParam)
		switch {
		case t.Scope.Mode == ScopeSQL && (!slices.Contains(used, "scope_all") ||
			!(slices.Contains(used, "scope_employee_ids") || slices.Contains(used, "scope_team_ids"))):
			errs = append(errs, fileError(d.File, t.sqlLine, field, "scope sql: the query must restrict its rows with $scope_all and $scope_employee_ids or $scope_team_ids"))
		case t.Scope.Mode != ScopeSQL && usesScope:
			errs = append(errs, fileError(d.File, t.sqlLine, field, "$scope_* parameters are for tiles with scope: sql (this one is %s)", t.Scope.Mode))
		}
	}
	return errs
}

// params parses query and returns the named parameters it uses, sorted; on
// a parse error, the line of the query it points at (0 if unknown).
func (p *parser) params(query string) ([]string, int, error) {
	var js string
	if err := p.db.QueryRow("SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", query).Scan(&js); err != nil {
		return nil, 0, err
	}
	var tree map[string]any
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return nil, 0, fmt.Errorf("reading DuckDB's parse tree: %w", err)
	}
	if failed, _ := tree["error"].(bool); failed {
		msg, _ := tree["error_message"].(string)
		if msg == "Only SELECT statements can be serialized to json!" {
			return nil, 0, errors.New("a tile's query is one SELECT statement")
		}
		line := 0
		if pos, err := strconv.Atoi(fmt.Sprint(tree["position"])); err == nil && pos >= 0 && pos <= len(query) {
			line = strings.Count(query[:pos], "\n") + 1
		}
		return nil, line, errors.New(msg)
	}
	if st, _ := tree["statements"].([]any); len(st) != 1 {
		return nil, 0, fmt.Errorf("%d statements: a tile's query is one SELECT statement", len(st))
	}
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["class"] == "PARAMETER" {
				if id, ok := x["identifier"].(string); ok {
					seen[id] = true
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(tree)
	return sortedKeys(seen), 0, nil
}

// Check binds and runs every tile's query against a warehouse (the marts
// must exist: after the first transform run), with the filters' defaults
// and then with a restricted viewer's scope, and checks that the result has
// the columns the tile's kind needs, the columns it labels and its scope
// column. Every problem is reported, as file:line: field: what.
func (s *Set) Check(ctx context.Context, db *sql.DB) error {
	var errs []error
	for _, d := range s.Dashboards {
		for i, t := range d.Tiles {
			if err := t.check(ctx, db, time.Now()); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: tiles[%d].sql: %w", d.File, t.errLine(err), i, err))
			}
		}
	}
	return errors.Join(errs...)
}

// CheckError is a problem with a tile's result or query; Line is the line
// of the query it points at when DuckDB says (0 otherwise).
type CheckError struct {
	Line int
	Msg  string
}

func (e *CheckError) Error() string { return e.Msg }

var duckLine = regexp.MustCompile(`LINE (\d+):`)

func (t *Tile) errLine(err error) int {
	var ce *CheckError
	if errors.As(err, &ce) && ce.Line > 0 {
		return t.sqlLine + ce.Line - 1
	}
	return t.sqlLine
}

// check runs the tile once with the default filters (everyone in scope)
// and once as a viewer who may see no one, and returns its columns.
func (t *Tile) check(ctx context.Context, db queryer, now time.Time) error {
	q, err := t.Render(Values{Viewer: "E0000", Lang: "en"}, now)
	if err != nil {
		return &CheckError{Msg: err.Error()}
	}
	cols, err := q.columns(ctx, db, ViewerScope{All: true})
	if err != nil {
		return err
	}
	var missing []string
	for _, c := range required[t.Kind] {
		if !slices.Contains(cols, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return &CheckError{Msg: fmt.Sprintf("a %s tile needs the columns %s; the query gives %s (missing %s)",
			t.Kind, strings.Join(required[t.Kind], ", "), strings.Join(cols, ", "), strings.Join(missing, ", "))}
	}
	if len(cols) == 0 {
		return &CheckError{Msg: "the query gives no columns"}
	}
	for _, c := range t.Columns {
		if !slices.Contains(cols, c.Name) {
			return &CheckError{Msg: fmt.Sprintf("columns: %q is not in the result (%s)", c.Name, strings.Join(cols, ", "))}
		}
	}
	if t.Scope.Column != "" && !slices.Contains(cols, t.Scope.Column) {
		return &CheckError{Msg: fmt.Sprintf("scope: the %s column %q is not in the result (%s)", t.Scope.Mode, t.Scope.Column, strings.Join(cols, ", "))}
	}
	if t.Scope.Mode != ScopeCompany {
		if _, err := q.columns(ctx, db, ViewerScope{EmployeeIDs: []string{"E0000"}, TeamIDs: []string{}}); err != nil {
			return fmt.Errorf("with a restricted viewer's scope: %w", err)
		}
	}
	return nil
}

// columns runs q (scoped) with LIMIT 0 and returns its result's columns.
func (q Query) columns(ctx context.Context, db queryer, v ViewerScope) ([]string, error) {
	sq, err := q.Scoped(v)
	if err != nil {
		return nil, &CheckError{Msg: err.Error()}
	}
	// the query starts on the first line, so DuckDB's LINE n is the tile's
	rows, err := db.QueryContext(ctx, "SELECT * FROM ("+sq.SQL+"\n) AS checked LIMIT 0", sq.Args...)
	if err != nil {
		ce := &CheckError{Msg: strings.TrimSpace(err.Error())}
		if m := duckLine.FindStringSubmatch(ce.Msg); m != nil {
			ce.Line, _ = strconv.Atoi(m[1])
		}
		return nil, ce
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, &CheckError{Msg: err.Error()}
	}
	return cols, rows.Err()
}
