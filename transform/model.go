package transform

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pulsekpi/pulse/metric"
)

// Layers are the model folders, in the order they are usually built.
var Layers = []string{"staging", "marts", "alerts"}

// Materializations a model may declare.
const (
	MaterializedView        = "view"
	MaterializedTable       = "table"
	MaterializedIncremental = "incremental"
)

// model is one file of sql/: <layer>/<name>.sql builds <layer>.<name>.
type model struct {
	name         string // layer.name
	layer        string
	table        string // the name inside its schema
	file         string // sql/<layer>/<name>.sql, for messages
	text         string // the file, for the hash
	sql          string // the statement, without a trailing semicolon
	description  string
	materialized string
	key          []string
	scope        string
	tests        []*dataTest
	deps         []string // models it reads (and its scope), sorted
}

// dataTest is one @test line of a model, and the query counting the rows
// that break it.
type dataTest struct {
	name  string // as written: unique(customer_id)
	kind  string
	line  int
	query string
	// refModel is the model a relationships test looks values up in.
	refModel string
	args     testArgs
}

// ModelInfo describes a model.
type ModelInfo struct {
	Name         string   `json:"name"`
	Layer        string   `json:"layer"`
	Materialized string   `json:"materialized"`
	Deps         []string `json:"deps"`
	Description  string   `json:"description"`
	File         string   `json:"file"`
	Key          []string `json:"key,omitempty"`
	Scope        string   `json:"scope,omitempty"`
	Tests        []string `json:"tests,omitempty"`
}

func (m *model) info() ModelInfo {
	tests := make([]string, len(m.tests))
	for i, t := range m.tests {
		tests[i] = t.name
	}
	return ModelInfo{Name: m.name, Layer: m.layer, Materialized: m.materialized,
		Deps: slices.Clone(m.deps), Description: m.description, File: m.file,
		Key: slices.Clone(m.key), Scope: m.scope, Tests: tests}
}

// qualified is the model's table or view name, quoted.
func (m *model) qualified() string { return quoteIdent(m.layer) + "." + quoteIdent(m.table) }

// modelSet is every model, checked, in an order that runs dependencies
// first.
type modelSet struct {
	byName map[string]*model
	order  []*model
	hash   string
}

// loadModels reads every model of fsys, parses its header and its SQL, and
// checks the whole: references, scopes, tests, cycles. db parses the SQL
// (json_serialize_sql) and knows the raw and ops tables models may read.
func loadModels(ctx context.Context, db *sql.DB, fsys fs.FS) (*modelSet, error) {
	var paths []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".sql") {
			return nil
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing models: %w", err)
	}
	sort.Strings(paths)
	set := &modelSet{byName: map[string]*model{}}
	var all []*model
	for _, p := range paths {
		file := "sql/" + p
		dir, base := path.Split(p)
		layer := strings.TrimSuffix(dir, "/")
		table := strings.TrimSuffix(base, ".sql")
		if !slices.Contains(Layers, layer) {
			return nil, fmt.Errorf("%s: a model lives directly in one of sql/%s", file, strings.Join(Layers, "/, sql/")+"/")
		}
		if !metric.IsIdentifier(table) {
			return nil, fmt.Errorf("%s: %q is not a model name (letters, digits and _, not starting with a digit)", file, table)
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		m := &model{name: layer + "." + strings.ToLower(table), layer: layer, table: table, file: file, text: string(body)}
		if prev, ok := set.byName[m.name]; ok {
			return nil, fmt.Errorf("%s and %s both define %s", prev.file, file, m.name)
		}
		if err := m.parseHeader(); err != nil {
			return nil, err
		}
		set.byName[m.name] = m
		all = append(all, m)
	}
	catalog, err := readCatalog(ctx, db)
	if err != nil {
		return nil, err
	}
	for _, m := range all {
		refs, err := parseRefs(ctx, db, m.file, m.sql)
		if err != nil {
			return nil, err
		}
		deps := map[string]bool{}
		for _, r := range refs {
			schema, _, _ := strings.Cut(r, ".")
			switch {
			case slices.Contains(Layers, schema):
				if set.byName[r] == nil {
					return nil, fmt.Errorf("%s: refers to %s, which no model defines (no sql/%s.sql)", m.file, r, strings.Replace(r, ".", "/", 1))
				}
				deps[r] = true
			case !catalog[r]:
				return nil, fmt.Errorf("%s: refers to %s, which is neither a model nor a table or view of the warehouse", m.file, r)
			}
		}
		if m.scope != "" {
			if set.byName[m.scope] == nil {
				return nil, fmt.Errorf("%s: @scope %s: no model defines it", m.file, m.scope)
			}
			deps[m.scope] = true
		}
		for _, t := range m.tests {
			if t.refModel != "" && set.byName[t.refModel] == nil {
				return nil, fmt.Errorf("%s:%d: @test %s: no model defines %s", m.file, t.line, t.name, t.refModel)
			}
			if err := checkSyntax(ctx, db, t.query); err != nil {
				return nil, fmt.Errorf("%s:%d: @test %s: %v", m.file, t.line, t.name, err)
			}
		}
		for d := range deps {
			m.deps = append(m.deps, d)
		}
		sort.Strings(m.deps)
	}
	if set.order, err = sortModels(all, set.byName); err != nil {
		return nil, err
	}
	set.hash = hashModels(all)
	return set, nil
}

var testRe = regexp.MustCompile(`^([a-z_]+)\s*\((.*)\)$`)

// parseHeader reads the leading comment lines: the description, then the
// directives. It also prepares the statement and the test queries.
func (m *model) parseHeader() error {
	lines := strings.Split(m.text, "\n")
	var desc []string
	for i, line := range lines {
		no := i + 1
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		c, ok := strings.CutPrefix(line, "--")
		if !ok {
			break
		}
		c = strings.TrimSpace(c)
		if !strings.HasPrefix(c, "@") {
			if c != "" {
				desc = append(desc, c)
			}
			continue
		}
		if err := m.directive(c, no); err != nil {
			return fmt.Errorf("%s:%d: %v", m.file, no, err)
		}
	}
	m.description = strings.Join(desc, "\n")
	if m.materialized == "" {
		m.materialized = MaterializedTable
	}
	if m.materialized == MaterializedIncremental {
		if len(m.key) == 0 || m.scope == "" {
			return fmt.Errorf("%s: an incremental model needs both @key and @scope", m.file)
		}
	} else if len(m.key) > 0 || m.scope != "" {
		return fmt.Errorf("%s: @key and @scope apply to incremental models only (this one is %s)", m.file, m.materialized)
	}
	m.sql = strings.TrimRightFunc(m.text, isSpace)
	m.sql = strings.TrimRightFunc(strings.TrimSuffix(m.sql, ";"), isSpace)
	for _, t := range m.tests {
		t.query = t.build(m)
	}
	return nil
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// directive applies one @ line (without the comment marker).
func (m *model) directive(c string, line int) error {
	name, arg, _ := strings.Cut(c, " ")
	if i := strings.IndexByte(name, '('); i >= 0 { // @test(…) without a space
		name, arg = name[:i], c[i:]
	}
	arg = strings.TrimSpace(arg)
	switch name {
	case "@materialized":
		if m.materialized != "" {
			return errors.New("@materialized given twice")
		}
		switch arg {
		case MaterializedView, MaterializedTable, MaterializedIncremental:
			m.materialized = arg
		default:
			return fmt.Errorf("@materialized %q: must be view, table or incremental", arg)
		}
	case "@key":
		if m.key != nil {
			return errors.New("@key given twice")
		}
		for _, k := range strings.Split(arg, ",") {
			k = strings.TrimSpace(k)
			if !metric.IsIdentifier(k) {
				return fmt.Errorf("@key: %q is not a column name", k)
			}
			if slices.Contains(m.key, k) {
				return fmt.Errorf("@key: %s listed twice", k)
			}
			m.key = append(m.key, k)
		}
	case "@scope":
		if m.scope != "" {
			return errors.New("@scope given twice")
		}
		s, t, ok := strings.Cut(arg, ".")
		if !ok || !slices.Contains(Layers, s) || !metric.IsIdentifier(t) {
			return fmt.Errorf("@scope %q: must name a model, e.g. staging.dirty_periods", arg)
		}
		m.scope = s + "." + strings.ToLower(t)
	case "@test":
		t, err := parseTest(arg)
		if err != nil {
			return fmt.Errorf("@test %s: %v", arg, err)
		}
		t.line = line
		for _, o := range m.tests {
			if o.name == t.name {
				return fmt.Errorf("@test %s given twice", t.name)
			}
		}
		m.tests = append(m.tests, t)
	default:
		return fmt.Errorf("unknown directive %s (known: @materialized, @key, @scope, @test)", name)
	}
	return nil
}

// testArgs is the parsed form of a test, kept until the query is built.
type testArgs struct {
	cols   []string // unique; or the one column of the others
	values []string // accepted_values
	lo, hi string   // range, range_where
	cond   string   // range_where, expression
	ref    []string // relationships: schema, model, column
}

var literalRe = regexp.MustCompile(`^('([^']|'')*'|[-+]?[0-9]+(\.[0-9]+)?|true|false)$`)

// parseTest parses kind(args) of a @test line.
func parseTest(s string) (*dataTest, error) {
	mt := testRe.FindStringSubmatch(s)
	if mt == nil {
		return nil, errors.New("must be kind(arguments)")
	}
	kind, inner := mt[1], strings.TrimSpace(mt[2])
	t := &dataTest{name: s, kind: kind}
	args, err := splitArgs(inner)
	if err != nil {
		return nil, err
	}
	col := func(a string) error {
		if !metric.IsIdentifier(a) {
			return fmt.Errorf("%q is not a column name", a)
		}
		return nil
	}
	var ta testArgs
	switch kind {
	case "unique":
		if len(args) == 0 {
			return nil, errors.New("unique needs at least one column")
		}
		for _, a := range args {
			if err := col(a); err != nil {
				return nil, err
			}
		}
		ta.cols = args
	case "not_null":
		if len(args) != 1 {
			return nil, errors.New("not_null takes one column")
		}
		if err := col(args[0]); err != nil {
			return nil, err
		}
		ta.cols = args
	case "accepted_values":
		if len(args) < 2 {
			return nil, errors.New("accepted_values takes a column and at least one value")
		}
		if err := col(args[0]); err != nil {
			return nil, err
		}
		for _, v := range args[1:] {
			if !literalRe.MatchString(v) {
				return nil, fmt.Errorf("%s is not a quoted string, a number or a boolean", v)
			}
		}
		ta.cols, ta.values = args[:1], args[1:]
	case "relationships":
		if len(args) != 2 {
			return nil, errors.New("relationships takes a column and schema.model.column")
		}
		if err := col(args[0]); err != nil {
			return nil, err
		}
		parts := strings.Split(args[1], ".")
		if len(parts) != 3 || !slices.Contains(Layers, parts[0]) || !metric.IsIdentifier(parts[1]) || !metric.IsIdentifier(parts[2]) {
			return nil, fmt.Errorf("%q must be schema.model.column of a model", args[1])
		}
		parts[1] = strings.ToLower(parts[1])
		ta.cols, ta.ref = args[:1], parts
		t.refModel = parts[0] + "." + parts[1]
	case "range", "range_where":
		want := 3
		if kind == "range_where" {
			want = 4
		}
		if len(args) < want || kind == "range" && len(args) > want {
			if kind == "range" {
				return nil, errors.New("range takes a column, a low and a high bound")
			}
			return nil, errors.New("range_where takes a column, a low and a high bound, and a condition")
		}
		if err := col(args[0]); err != nil {
			return nil, err
		}
		ta.cols, ta.lo, ta.hi = args[:1], args[1], args[2]
		if kind == "range_where" {
			// The condition is the rest, commas and all.
			ta.cond = strings.Join(args[3:], ", ")
		}
	case "expression":
		if inner == "" {
			return nil, errors.New("expression takes a condition")
		}
		ta.cond = inner
	default:
		return nil, fmt.Errorf("unknown test %s (known: unique, not_null, accepted_values, relationships, range, range_where, expression)", kind)
	}
	t.args = ta // the query is built once the model is known
	return t, nil
}

// build returns the query counting the rows (for unique: the groups) that
// break the test.
func (t *dataTest) build(m *model) string {
	a := t.args
	tbl := m.qualified()
	var c string
	if len(a.cols) > 0 {
		c = quoteIdent(a.cols[0])
	}
	switch t.kind {
	case "unique":
		cols := make([]string, len(a.cols))
		for i, k := range a.cols {
			cols[i] = quoteIdent(k)
		}
		return fmt.Sprintf("SELECT count(*) FROM (SELECT 1 FROM %s GROUP BY %s HAVING count(*) > 1)", tbl, strings.Join(cols, ", "))
	case "not_null":
		return fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS NULL", tbl, c)
	case "accepted_values":
		return fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS NOT NULL AND %s NOT IN (%s)", tbl, c, c, strings.Join(a.values, ", "))
	case "relationships":
		return fmt.Sprintf("SELECT count(*) FROM %s AS child WHERE child.%s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s.%s AS parent WHERE parent.%s = child.%s)",
			tbl, c, quoteIdent(a.ref[0]), quoteIdent(a.ref[1]), quoteIdent(a.ref[2]), c)
	case "range":
		return fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS NOT NULL AND (%s < (%s) OR %s > (%s))", tbl, c, c, a.lo, c, a.hi)
	case "range_where":
		return fmt.Sprintf("SELECT count(*) FROM %s WHERE (%s) AND %s IS NOT NULL AND (%s < (%s) OR %s > (%s))", tbl, a.cond, c, c, a.lo, c, a.hi)
	case "expression":
		// NULL is not "holds": a row where the condition is unknown fails.
		return fmt.Sprintf("SELECT count(*) FROM %s WHERE (%s) IS NOT TRUE", tbl, a.cond)
	}
	panic("transform: unknown test kind " + t.kind)
}

// splitArgs splits on the commas that are outside quotes and brackets.
func splitArgs(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	depth, start := 0, 0
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0 // a doubled quote closes and reopens: same result
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '(' || r == '[' || r == '{':
			depth++
		case r == ')' || r == ']' || r == '}':
			depth--
			if depth < 0 {
				return nil, errors.New("unbalanced brackets")
			}
		case r == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if depth != 0 {
		return nil, errors.New("unbalanced brackets")
	}
	out = append(out, strings.TrimSpace(s[start:]))
	for _, a := range out {
		if a == "" {
			return nil, errors.New("empty argument")
		}
	}
	return out, nil
}

// serializeSQL asks DuckDB to parse query; it returns the parse tree, or
// the parse error with the line it points at.
func serializeSQL(ctx context.Context, db *sql.DB, query string) (map[string]any, error) {
	var js string
	if err := db.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", query).Scan(&js); err != nil {
		return nil, fmt.Errorf("parsing with DuckDB: %w", err)
	}
	var tree map[string]any
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return nil, fmt.Errorf("reading DuckDB's parse tree: %w", err)
	}
	if failed, _ := tree["error"].(bool); failed {
		msg, _ := tree["error_message"].(string)
		if pos, err := strconv.Atoi(fmt.Sprint(tree["position"])); err == nil && pos >= 0 && pos <= len(query) {
			return nil, &sqlError{line: strings.Count(query[:pos], "\n") + 1, msg: msg}
		}
		return nil, &sqlError{msg: msg}
	}
	return tree, nil
}

// sqlError is a parse error; line is 0 when DuckDB gave no position.
type sqlError struct {
	line int
	msg  string
}

func (e *sqlError) Error() string { return e.msg }

// checkSyntax reports whether query parses.
func checkSyntax(ctx context.Context, db *sql.DB, query string) error {
	_, err := serializeSQL(ctx, db, query)
	return err
}

// parseRefs parses a model's statement and returns the schema-qualified
// tables and views it reads (schema.name, lower case). Names without a
// schema are common table expressions (or main tables, which models do
// not use); table functions and macros are not tables.
func parseRefs(ctx context.Context, db *sql.DB, file, query string) ([]string, error) {
	tree, err := serializeSQL(ctx, db, query)
	if err != nil {
		var se *sqlError
		if errors.As(err, &se) {
			if se.line > 0 {
				return nil, fmt.Errorf("%s:%d: %s", file, se.line, se.msg)
			}
			if strings.Contains(se.msg, "Only SELECT") {
				return nil, fmt.Errorf("%s: a model is one SELECT statement (%s)", file, se.msg)
			}
			return nil, fmt.Errorf("%s: %s", file, se.msg)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	stmts, _ := tree["statements"].([]any)
	if len(stmts) != 1 {
		return nil, fmt.Errorf("%s: a model is exactly one SELECT statement; found %d statements", file, len(stmts))
	}
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "BASE_TABLE" {
				schema, _ := x["schema_name"].(string)
				table, _ := x["table_name"].(string)
				if schema != "" && table != "" {
					seen[strings.ToLower(schema)+"."+strings.ToLower(table)] = true
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
	walk(stmts[0])
	refs := make([]string, 0, len(seen))
	for r := range seen {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	return refs, nil
}

// readCatalog lists the tables and views of the database as schema.name.
func readCatalog(ctx context.Context, db *sql.DB) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT schema_name, table_name FROM duckdb_tables()
		UNION ALL SELECT schema_name, view_name FROM duckdb_views()`)
	if err != nil {
		return nil, fmt.Errorf("reading the catalog: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var s, t string
		if err := rows.Scan(&s, &t); err != nil {
			return nil, err
		}
		out[strings.ToLower(s)+"."+strings.ToLower(t)] = true
	}
	return out, rows.Err()
}

// sortModels orders models so that each comes after its dependencies
// (ties by name), or reports a cycle with its files.
func sortModels(all []*model, byName map[string]*model) ([]*model, error) {
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	var order []*model
	var stack []*model
	var visit func(m *model) error
	visit = func(m *model) error {
		switch state[m.name] {
		case done:
			return nil
		case active:
			i := slices.Index(stack, m)
			var files []string
			for _, s := range stack[i:] {
				files = append(files, s.file)
			}
			files = append(files, m.file)
			return fmt.Errorf("models form a cycle: %s", strings.Join(files, " -> "))
		}
		state[m.name] = active
		stack = append(stack, m)
		for _, d := range m.deps {
			if err := visit(byName[d]); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[m.name] = done
		order = append(order, m)
		return nil
	}
	sorted := slices.Clone(all)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, m := range sorted {
		if err := visit(m); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// hashModels is the sha256 of every model file, by file name.
func hashModels(all []*model) string {
	sorted := slices.Clone(all)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].file < sorted[j].file })
	h := sha256.New()
	for _, m := range sorted {
		fmt.Fprintf(h, "%s\x00%d\x00%s", m.file, len(m.text), m.text)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
