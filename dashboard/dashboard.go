// Package dashboard loads the dashboards of Pulse: YAML files under
// dashboards/, one per dashboard, each a title, the filters it offers and
// tiles backed by SQL over the marts with named parameters ($grain,
// $period_start, …) that the server binds. Load decodes them strictly and
// parses their SQL (an in-memory DuckDB); Check binds and runs every tile
// against a warehouse; Watch reloads them when a file changes. Render turns
// a tile and the viewer's filter values into a query and its arguments;
// Query.Scoped adds the viewer's scope. dashboards/README.md describes the
// format.
package dashboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pulsekpi/pulse/metric"
)

// Kinds are the tile kinds, in the order error messages list them.
var Kinds = []string{"figure", "line", "bar", "funnel", "table", "leaderboard", "heatmap"}

// required are the result columns each kind needs; optional the ones it
// reads when present.
var required = map[string][]string{
	"figure":      {"value"},
	"line":        {"x", "y"},
	"bar":         {"x", "y"},
	"funnel":      {"stage", "value"},
	"table":       nil,
	"leaderboard": {"name", "value"},
	"heatmap":     {"x", "y", "value"},
}

// Optional columns a kind reads when the result has them.
var Optional = map[string][]string{
	"figure":      {"previous", "target"},
	"line":        {"series"},
	"bar":         {"series"},
	"funnel":      {"conversion_to_next"},
	"leaderboard": {"rank"},
}

// Required are the result columns a tile kind needs.
func Required(kind string) []string { return slices.Clone(required[kind]) }

// Formats are the column formats the UI knows.
var Formats = []string{"number", "integer", "percent", "money", "minutes", "hours", "days", "score", "date", "datetime", "text"}

// Grains are the period grains of the marts.
var Grains = []string{"day", "week", "month", "quarter"}

// Filters are the filters a dashboard may offer.
var Filters = []string{"period", "grain", "team", "employee"}

// Params are the named parameters a tile's SQL may use, with their type:
// the filter parameters Render binds and the scope parameters the server
// binds (Query.Scoped).
var Params = map[string]string{
	"grain":              "VARCHAR: day, week, month or quarter",
	"period_start":       "DATE: first day of the selected period",
	"period_end":         "DATE: first day after the selected period",
	"prev_period_start":  "DATE: first day of the period before",
	"prev_period_cut":    "DATE: as far into the period before as today is into the selected one (exclusive); period_start once the selected period is over",
	"team_id":            "VARCHAR, NULL for all teams",
	"employee_id":        "VARCHAR, NULL for everyone",
	"lang":               "VARCHAR: en or zh-CN, the viewer's language",
	"scope_all":          "BOOLEAN: the viewer may see everyone (server)",
	"scope_employee_ids": "VARCHAR[]: the employees the viewer may see (server)",
	"scope_team_ids":     "VARCHAR[]: the teams the viewer may see in full (server)",
}

// paramFilter is the filter a parameter needs on the dashboard.
var paramFilter = map[string]string{
	"grain": "period", "period_start": "period", "period_end": "period", "prev_period_start": "period",
	"prev_period_cut": "period", "team_id": "team", "employee_id": "employee",
}

func isScopeParam(p string) bool { return strings.HasPrefix(p, "scope_") }

// Languages are the UI languages every label needs.
var Languages = []string{"en", "zh-CN"}

// Text is a label in every UI language.
type Text struct {
	EN   string `json:"en"`
	ZhCN string `json:"zh-CN"`
}

// In is the text in lang ("en" or "zh-CN"), English by default.
func (t Text) In(lang string) string {
	if lang == "zh-CN" && t.ZhCN != "" {
		return t.ZhCN
	}
	return t.EN
}

// Set is every dashboard of a folder, by id.
type Set struct {
	Dashboards []*Dashboard // sorted by id
	byID       map[string]*Dashboard
}

// Current is the set itself: a set that never changes is its own source
// for the server and the UI (a Watcher is the one that follows a folder).
func (s *Set) Current() *Set { return s }

// Dashboard is one file.
type Dashboard struct {
	ID          string  `json:"id"` // the file name without .yaml
	File        string  `json:"-"`  // as errors name it, e.g. dashboards/sales.yaml
	Title       Text    `json:"title"`
	Description Text    `json:"description"`
	Order       int     `json:"order"` // menu position, then id
	Filters     Filter  `json:"filters"`
	Tiles       []*Tile `json:"tiles"`
}

// Filter says which filters a dashboard offers and their defaults.
type Filter struct {
	Period   *PeriodFilter   `json:"period,omitempty"`
	Grain    *GrainFilter    `json:"grain,omitempty"`
	Team     *TeamFilter     `json:"team,omitempty"`
	Employee *EmployeeFilter `json:"employee,omitempty"`
}

// PeriodFilter: default "current" (the running period of the grain),
// "previous", or a date (YYYY-MM-DD) inside the period.
type PeriodFilter struct {
	Default string `json:"default"`
}

// GrainFilter: the grains offered and the default one. A dashboard without
// it uses month.
type GrainFilter struct {
	Default string   `json:"default"`
	Options []string `json:"options"`
}

// TeamFilter: default "" (all teams the viewer may see) or a team id.
type TeamFilter struct {
	Default string `json:"default,omitempty"`
}

// EmployeeFilter: default "" (everyone), "self" (the viewer) or an id.
// Required: the dashboard is about one employee and never shows everyone.
type EmployeeFilter struct {
	Default  string `json:"default,omitempty"`
	Required bool   `json:"required,omitempty"`
}

// Tile is one chart, figure or table.
type Tile struct {
	ID      string   `json:"id"`
	Title   Text     `json:"title"`
	Help    Text     `json:"help"`
	Kind    string   `json:"kind"`
	SQL     string   `json:"-"`
	Params  []string `json:"params"`
	Columns []Column `json:"columns"`
	Size    Size     `json:"size"`
	Drill   *Drill   `json:"drill,omitempty"`
	Scope   Scope    `json:"scope"`
	// KPI names the KPI (package metric) a figure tile shows, so that the
	// UI can link the figure to its drill-down (/drill?kpi=…).
	KPI string `json:"kpi,omitempty"`
	// Better says which way a figure's change is good news: "higher"
	// (revenue) or "lower" (response minutes, breaches, rank), for its
	// colour. Empty leaves the UI to judge by the names.
	Better string `json:"better,omitempty"`

	dash    *Dashboard
	line    int // of the tile
	sqlLine int // of its sql key's value
	used    []string
}

// Column describes a result column: its label and how to format it.
type Column struct {
	Name   string `json:"name"`
	Label  Text   `json:"label"`
	Format string `json:"format"`
	Hidden bool   `json:"hidden,omitempty"` // in the result (scope, drill key) but not shown
	// KPI names the KPI (package metric) the column holds for the row's
	// employee_id or team_id column, so that each cell links to its
	// drill-down.
	KPI string `json:"kpi,omitempty"`
}

// Size is a layout hint on a 12-column grid: width 1-12, height in rows
// 1-8, and an optional position (0-based; 0,0 with Auto means flow).
type Size struct {
	W int `json:"w"`
	H int `json:"h"`
	X int `json:"x,omitempty"`
	Y int `json:"y,omitempty"`
}

// Drill is what a click on a row opens: another dashboard, with filters set
// from the clicked row's columns (filter name -> column name).
type Drill struct {
	Dashboard string            `json:"dashboard"`
	Filters   map[string]string `json:"filters,omitempty"`
}

// Scope modes. See Scope.
const (
	ScopeEmployee = "employee" // rows are about an employee: Column holds the id
	ScopeTeam     = "team"     // rows are about a team: Column holds the id
	ScopeSQL      = "sql"      // the SQL applies $scope_* itself
	ScopeCompany  = "company"  // company-wide figures: viewers who see everyone only
	ScopeNone     = "none"     // no one's figures (pipeline health): any viewer
)

// Scope says how the server restricts a tile to what the viewer may see.
// In YAML: `scope: {employee: owner_id}`, `scope: {team: team_id}`,
// `scope: sql`, `scope: company` or `scope: none`.
type Scope struct {
	Mode   string `json:"mode"`
	Column string `json:"column,omitempty"`
}

// Get is a dashboard by id.
func (s *Set) Get(id string) (*Dashboard, bool) {
	d, ok := s.byID[id]
	return d, ok
}

// Tile is a tile of a dashboard.
func (s *Set) Tile(dashID, tileID string) (*Tile, bool) {
	d, ok := s.byID[dashID]
	if !ok {
		return nil, false
	}
	return d.Tile(tileID)
}

// Tile is one of the dashboard's tiles by id.
func (d *Dashboard) Tile(id string) (*Tile, bool) {
	for _, t := range d.Tiles {
		if t.ID == id {
			return t, true
		}
	}
	return nil, false
}

// Dashboard is the tile's dashboard.
func (t *Tile) Dashboard() *Dashboard { return t.dash }

// Where is the tile's file and line, for messages.
func (t *Tile) Where() string { return fmt.Sprintf("%s:%d", t.dash.File, t.line) }

// Load reads every *.yaml file of dir (not its subfolders); errors name the
// file as dir/name.
func Load(dir string) (*Set, error) {
	return LoadFS(os.DirFS(dir), dir)
}

// LoadFS reads every *.yaml and *.yml file at the top of fsys; prefix is
// the folder errors put before file names ("dashboards"). Every problem of
// every file is reported (errors.Join), each as file:line: field: what.
func LoadFS(fsys fs.FS, prefix string) (*Set, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("reading dashboards: %w", err)
	}
	set := &Set{byID: map[string]*Dashboard{}}
	var errs []error
	p, err := newParser()
	if err != nil {
		return nil, err
	}
	defer p.close()
	for _, e := range entries {
		name := e.Name()
		ext := path.Ext(name)
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		file := name
		if prefix != "" {
			file = strings.TrimSuffix(prefix, "/") + "/" + name
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
			continue
		}
		d, ferrs := parseFile(file, strings.TrimSuffix(name, ext), body)
		if len(ferrs) == 0 {
			ferrs = p.checkSQL(d)
		}
		if len(ferrs) > 0 {
			errs = append(errs, ferrs...)
			continue
		}
		if other, dup := set.byID[d.ID]; dup {
			errs = append(errs, fmt.Errorf("%s:1: id %q is also %s", file, d.ID, other.File))
			continue
		}
		set.byID[d.ID] = d
		set.Dashboards = append(set.Dashboards, d)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(set.Dashboards, func(i, j int) bool {
		a, b := set.Dashboards[i], set.Dashboards[j]
		if a.Order != b.Order {
			return a.Order < b.Order
		}
		return a.ID < b.ID
	})
	for _, d := range set.Dashboards {
		for _, t := range d.Tiles {
			if t.Drill == nil {
				continue
			}
			if _, ok := set.byID[t.Drill.Dashboard]; !ok {
				errs = append(errs, fmt.Errorf("%s:%d: tiles[%d].drill.dashboard: %q is not a dashboard", d.File, t.line, slices.Index(d.Tiles, t), t.Drill.Dashboard))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

// ---- decoding

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// fileError is one problem at a line of a file.
func fileError(file string, line int, field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return fmt.Errorf("%s:%d: %s", file, line, msg)
}

// decoder walks a file's node tree, refusing unknown keys and collecting
// problems.
type decoder struct {
	file string
	errs []error
}

func (dc *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	line := 1
	if n != nil {
		line = n.Line
	}
	dc.errs = append(dc.errs, fileError(dc.file, line, field, format, args...))
}

// mapping checks that n is a mapping with only the allowed keys and returns
// its values by key.
func (dc *decoder) mapping(n *yaml.Node, field string, allowed ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		dc.fail(n, field, "want a mapping, got %s", kindName(n))
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := join(field, k.Value)
		if !slices.Contains(allowed, k.Value) {
			dc.fail(k, sub, "unknown key (want one of %s)", strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			dc.fail(k, sub, "given twice")
			continue
		}
		out[k.Value] = v
	}
	return out
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func (dc *decoder) str(n *yaml.Node, field string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		dc.fail(n, field, "want a string, got %s", kindName(n))
		return ""
	}
	return n.Value
}

func (dc *decoder) integer(n *yaml.Node, field string, lo, hi int) int {
	if n == nil {
		return 0
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
		dc.fail(n, field, "want a whole number, got %s", kindName(n))
		return 0
	}
	if v < lo || v > hi {
		dc.fail(n, field, "%d is not within %d-%d", v, lo, hi)
	}
	return v
}

func (dc *decoder) boolean(n *yaml.Node, field string) bool {
	if n == nil {
		return false
	}
	var v bool
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
		dc.fail(n, field, "want true or false, got %s", kindName(n))
	}
	return v
}

func (dc *decoder) strings(n *yaml.Node, field string) []string {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		dc.fail(n, field, "want a list, got %s", kindName(n))
		return nil
	}
	var out []string
	for i, c := range n.Content {
		out = append(out, dc.str(c, fmt.Sprintf("%s[%d]", field, i)))
	}
	return out
}

// text decodes {en: …, zh-CN: …}; both are required when need is set.
func (dc *decoder) text(n *yaml.Node, parent *yaml.Node, field string, need bool) Text {
	if n == nil {
		if need {
			dc.fail(parent, field, "missing (want {en: …, zh-CN: …})")
		}
		return Text{}
	}
	m := dc.mapping(n, field, Languages...)
	if m == nil {
		return Text{}
	}
	t := Text{EN: strings.TrimSpace(dc.str(m["en"], field+".en")), ZhCN: strings.TrimSpace(dc.str(m["zh-CN"], field+".zh-CN"))}
	if t.EN == "" || t.ZhCN == "" {
		missing := "en"
		if t.EN != "" {
			missing = "zh-CN"
		}
		if need || t.EN != "" || t.ZhCN != "" {
			dc.fail(n, field+"."+missing, "missing: every text needs en and zh-CN")
		}
	}
	return t
}

func parseFile(file, id string, body []byte) (*Dashboard, []error) {
	dc := &decoder{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		// yaml.v3 says "yaml: line N: …"
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 1
		if m := regexp.MustCompile(`^line (\d+): (.*)$`).FindStringSubmatch(msg); m != nil {
			fmt.Sscan(m[1], &line)
			msg = m[2]
		}
		return nil, []error{fileError(file, line, "", "%s", msg)}
	}
	if len(doc.Content) == 0 {
		return nil, []error{fileError(file, 1, "", "empty file")}
	}
	root := doc.Content[0]
	d := &Dashboard{ID: id, File: file}
	if !idPattern.MatchString(id) {
		dc.fail(root, "", "%q is not a dashboard id: the file name must be lower-case letters, digits and _", id)
	}
	m := dc.mapping(root, "", "title", "description", "order", "filters", "tiles")
	if m == nil {
		return nil, dc.errs
	}
	d.Title = dc.text(m["title"], root, "title", true)
	d.Description = dc.text(m["description"], root, "description", false)
	d.Order = dc.integer(m["order"], "order", -1000, 1000)
	if f := m["filters"]; f != nil {
		d.Filters = dc.filters(f)
	}
	tiles := m["tiles"]
	switch {
	case tiles == nil:
		dc.fail(root, "tiles", "missing: a dashboard needs at least one tile")
	case tiles.Kind != yaml.SequenceNode || len(tiles.Content) == 0:
		dc.fail(tiles, "tiles", "want a list of at least one tile")
	default:
		seen := map[string]int{}
		for i, n := range tiles.Content {
			t := dc.tile(n, fmt.Sprintf("tiles[%d]", i), d)
			if t == nil {
				continue
			}
			if j, dup := seen[t.ID]; dup && t.ID != "" {
				dc.fail(n, fmt.Sprintf("tiles[%d].id", i), "%q is also tiles[%d]", t.ID, j)
			}
			seen[t.ID] = i
			d.Tiles = append(d.Tiles, t)
		}
	}
	if len(dc.errs) > 0 {
		return nil, dc.errs
	}
	return d, nil
}

func (dc *decoder) filters(n *yaml.Node) Filter {
	var f Filter
	m := dc.mapping(n, "filters", Filters...)
	if v, ok := m["period"]; ok {
		pm := dc.optMapping(v, "filters.period", "default")
		f.Period = &PeriodFilter{Default: "current"}
		if d := dc.str(pm["default"], "filters.period.default"); d != "" {
			if _, err := time.Parse(time.DateOnly, d); err != nil && d != "current" && d != "previous" {
				dc.fail(pm["default"], "filters.period.default", "%q is not current, previous or a date (YYYY-MM-DD)", d)
			}
			f.Period.Default = d
		}
	}
	if v, ok := m["grain"]; ok {
		gm := dc.optMapping(v, "filters.grain", "default", "options")
		f.Grain = &GrainFilter{Default: "month", Options: []string{"week", "month", "quarter"}}
		if o := dc.strings(gm["options"], "filters.grain.options"); o != nil {
			f.Grain.Options = o
		}
		for i, g := range f.Grain.Options {
			if !slices.Contains(Grains, g) {
				dc.fail(gm["options"], fmt.Sprintf("filters.grain.options[%d]", i), "%q is not one of %s", g, strings.Join(Grains, ", "))
			}
		}
		if d := dc.str(gm["default"], "filters.grain.default"); d != "" {
			f.Grain.Default = d
		}
		if !slices.Contains(f.Grain.Options, f.Grain.Default) {
			dc.fail(v, "filters.grain.default", "%q is not among the options %s", f.Grain.Default, strings.Join(f.Grain.Options, ", "))
		}
	}
	if v, ok := m["team"]; ok {
		tm := dc.optMapping(v, "filters.team", "default")
		f.Team = &TeamFilter{Default: dc.str(tm["default"], "filters.team.default")}
	}
	if v, ok := m["employee"]; ok {
		em := dc.optMapping(v, "filters.employee", "default", "required")
		f.Employee = &EmployeeFilter{Default: dc.str(em["default"], "filters.employee.default"),
			Required: dc.boolean(em["required"], "filters.employee.required")}
	}
	return f
}

// optMapping accepts an empty value (`team:` or `team: {}`) as no keys.
func (dc *decoder) optMapping(n *yaml.Node, field string, allowed ...string) map[string]*yaml.Node {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "") {
		return map[string]*yaml.Node{}
	}
	m := dc.mapping(n, field, allowed...)
	if m == nil {
		return map[string]*yaml.Node{}
	}
	return m
}

func (dc *decoder) tile(n *yaml.Node, field string, d *Dashboard) *Tile {
	m := dc.mapping(n, field, "id", "title", "help", "kind", "sql", "params", "columns", "size", "drill", "scope", "kpi", "better")
	if m == nil {
		return nil
	}
	t := &Tile{dash: d, line: n.Line, Size: Size{W: 6, H: 3}}
	t.ID = dc.str(m["id"], field+".id")
	if m["id"] == nil {
		dc.fail(n, field+".id", "missing")
	} else if !idPattern.MatchString(t.ID) {
		dc.fail(m["id"], field+".id", "%q is not an id (lower-case letters, digits and _)", t.ID)
	}
	t.Title = dc.text(m["title"], n, field+".title", true)
	t.Help = dc.text(m["help"], n, field+".help", false)
	t.Kind = dc.str(m["kind"], field+".kind")
	if m["kind"] == nil {
		dc.fail(n, field+".kind", "missing (one of %s)", strings.Join(Kinds, ", "))
	} else if !slices.Contains(Kinds, t.Kind) {
		dc.fail(m["kind"], field+".kind", "%q is not one of %s", t.Kind, strings.Join(Kinds, ", "))
	}
	t.SQL = strings.TrimSpace(dc.str(m["sql"], field+".sql"))
	if m["sql"] == nil || t.SQL == "" {
		dc.fail(n, field+".sql", "missing")
	} else {
		t.sqlLine = m["sql"].Line
		if m["sql"].Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			t.sqlLine++ // the text starts on the line after `sql: |`
		}
	}
	t.Params = dc.strings(m["params"], field+".params")
	for i, p := range t.Params {
		pf := fmt.Sprintf("%s.params[%d]", field, i)
		if _, ok := Params[p]; !ok {
			dc.fail(m["params"], pf, "%q is not a parameter (%s)", p, strings.Join(sortedKeys(Params), ", "))
			continue
		}
		if slices.Index(t.Params, p) != i {
			dc.fail(m["params"], pf, "%q given twice", p)
		}
		if need := paramFilter[p]; need != "" && !d.Filters.has(need) {
			dc.fail(m["params"], pf, "$%s needs the dashboard's %s filter (filters.%s)", p, need, need)
		}
	}
	if c := m["columns"]; c != nil {
		if c.Kind != yaml.SequenceNode {
			dc.fail(c, field+".columns", "want a list, got %s", kindName(c))
		} else {
			seen := map[string]bool{}
			var kpiCols []*yaml.Node
			for i, cn := range c.Content {
				cf := fmt.Sprintf("%s.columns[%d]", field, i)
				cm := dc.mapping(cn, cf, "name", "label", "format", "hidden", "kpi")
				if cm == nil {
					continue
				}
				col := Column{Name: dc.str(cm["name"], cf+".name"), Format: dc.str(cm["format"], cf+".format"),
					Hidden: dc.boolean(cm["hidden"], cf+".hidden")}
				if col.Name == "" {
					dc.fail(cn, cf+".name", "missing")
				} else if seen[col.Name] {
					dc.fail(cn, cf+".name", "%q given twice", col.Name)
				}
				seen[col.Name] = true
				col.Label = dc.text(cm["label"], cn, cf+".label", !col.Hidden)
				if col.Format == "" {
					col.Format = "number"
				} else if !slices.Contains(Formats, col.Format) {
					dc.fail(cm["format"], cf+".format", "%q is not one of %s", col.Format, strings.Join(Formats, ", "))
				}
				if cm["kpi"] != nil {
					col.KPI = dc.str(cm["kpi"], cf+".kpi")
					if !slices.Contains(metric.KPIs(), col.KPI) {
						dc.fail(cm["kpi"], cf+".kpi", "%q is not a KPI of metrics.md", col.KPI)
					} else if t.Kind != "table" && t.Kind != "leaderboard" {
						dc.fail(cm["kpi"], cf+".kpi", "only table and leaderboard columns hold a KPI per row (kind is %q)", t.Kind)
					}
					kpiCols = append(kpiCols, cm["kpi"])
				}
				t.Columns = append(t.Columns, col)
			}
			// a KPI per row needs whose it is: the row's employee or team
			if len(kpiCols) > 0 && !seen["employee_id"] && !seen["team_id"] {
				for _, kn := range kpiCols {
					dc.fail(kn, field+".columns", "a column with a kpi needs an employee_id or team_id column in the tile's columns")
				}
			}
		}
	}
	if kn := m["kpi"]; kn != nil {
		t.KPI = dc.str(kn, field+".kpi")
		if !slices.Contains(metric.KPIs(), t.KPI) {
			dc.fail(kn, field+".kpi", "%q is not a KPI of metrics.md", t.KPI)
		} else if t.Kind != "figure" {
			dc.fail(kn, field+".kpi", "only figure tiles show one KPI (kind is %q); give table columns a kpi instead", t.Kind)
		}
	}
	if bn := m["better"]; bn != nil {
		t.Better = dc.str(bn, field+".better")
		if t.Better != "higher" && t.Better != "lower" {
			dc.fail(bn, field+".better", "%q is neither higher nor lower", t.Better)
		} else if t.Kind != "figure" {
			dc.fail(bn, field+".better", "only figure tiles show a change (kind is %q)", t.Kind)
		}
	}
	if s := m["size"]; s != nil {
		sm := dc.mapping(s, field+".size", "w", "h", "x", "y")
		if sm != nil {
			if sm["w"] != nil {
				t.Size.W = dc.integer(sm["w"], field+".size.w", 1, 12)
			}
			if sm["h"] != nil {
				t.Size.H = dc.integer(sm["h"], field+".size.h", 1, 8)
			}
			t.Size.X = dc.integer(sm["x"], field+".size.x", 0, 11)
			t.Size.Y = dc.integer(sm["y"], field+".size.y", 0, 100)
		}
	}
	if dn := m["drill"]; dn != nil {
		dm := dc.mapping(dn, field+".drill", "dashboard", "filters")
		if dm != nil {
			t.Drill = &Drill{Dashboard: dc.str(dm["dashboard"], field+".drill.dashboard")}
			if t.Drill.Dashboard == "" {
				dc.fail(dn, field+".drill.dashboard", "missing")
			}
			if fn := dm["filters"]; fn != nil {
				fm := dc.mapping(fn, field+".drill.filters", Filters...)
				t.Drill.Filters = map[string]string{}
				for k, v := range fm {
					t.Drill.Filters[k] = dc.str(v, field+".drill.filters."+k)
				}
			}
		}
	}
	t.Scope = dc.scope(m["scope"], n, field+".scope")
	return t
}

func (f Filter) has(name string) bool {
	switch name {
	case "period":
		return f.Period != nil
	case "grain":
		return f.Grain != nil
	case "team":
		return f.Team != nil
	case "employee":
		return f.Employee != nil
	}
	return false
}

func (dc *decoder) scope(n, parent *yaml.Node, field string) Scope {
	const want = "want {employee: column}, {team: column}, sql, company or none"
	if n == nil {
		dc.fail(parent, field, "missing (%s)", want)
		return Scope{}
	}
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case ScopeSQL, ScopeCompany, ScopeNone:
			return Scope{Mode: n.Value}
		}
		dc.fail(n, field, "%q: %s", n.Value, want)
		return Scope{}
	}
	m := dc.mapping(n, field, ScopeEmployee, ScopeTeam)
	if len(m) != 1 {
		if m != nil {
			dc.fail(n, field, "%s", want)
		}
		return Scope{}
	}
	for mode, v := range m {
		col := dc.str(v, field+"."+mode)
		if !identPattern.MatchString(col) {
			dc.fail(v, field+"."+mode, "%q is not a column name", col)
		}
		return Scope{Mode: mode, Column: col}
	}
	return Scope{}
}

var identPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---- context helpers shared by check.go

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}
