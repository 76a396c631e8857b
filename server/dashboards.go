package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/dashboard"
)

// Dashboards is where the server finds the dashboard set in force; a
// *dashboard.Watcher implements it, so a reload needs no restart.
type Dashboards interface {
	Current() *dashboard.Set
}

// DefaultTileTurns is TileOptions.MaxConcurrent's default.
const DefaultTileTurns = 4

// Leaderboard circles: who a viewer who does not see everyone is ranked
// among on an employee leaderboard.
const (
	CircleTeam    = "team"    // the viewer's team at the period (the default)
	CircleCompany = "company" // everyone
	CircleSelf    = "self"    // the viewer's scope only: no one else's name
)

// TileOptions say how dashboard tiles run. Zero values get defaults in New.
type TileOptions struct {
	// DB is the warehouse the tiles' SQL runs on.
	DB *sql.DB
	// MaxRows caps a tile's rows (5000); the answer then says truncated.
	MaxRows int
	// Timeout interrupts a tile's query (10s), time waiting for a turn
	// included.
	Timeout time.Duration
	// MaxConcurrent tile queries run at once (DefaultTileTurns); more wait
	// their turn.
	// Each DuckDB query already uses every core: fifty at once only
	// thrash, and starve ingest and the transforms of the same cores.
	MaxConcurrent int
	// LeaderboardCircle is who a viewer who does not see everyone sees
	// ranked on an employee leaderboard (names, value and rank only):
	// CircleTeam (default), CircleCompany or CircleSelf.
	LeaderboardCircle string
	// CacheEntries bounds the tile cache (512 results); negative turns
	// caching off, so that every request runs its query (for measuring
	// the queries themselves).
	CacheEntries int
	// CacheBytes bounds the tile cache's approximate size (64 MiB).
	CacheBytes int64
	// Location is the business time zone, which places the current period
	// (UTC).
	Location *time.Location
	// Now is the clock (time.Now).
	Now func() time.Time
	// Metrics, when set, records tile latency and cache hits.
	Metrics *TileMetrics
}

func (o *TileOptions) fillDefaults() {
	if o.MaxRows <= 0 {
		o.MaxRows = 5000
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultTileTurns
	}
	if o.LeaderboardCircle == "" {
		o.LeaderboardCircle = CircleTeam
	}
	if o.CacheEntries == 0 {
		o.CacheEntries = 512
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = 64 << 20
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// dashboardSet is the set in force, or 503 when dashboards are not served.
func (s *Server) dashboardSet() (*dashboard.Set, error) {
	if s.opts.Dashboards == nil || s.opts.Tiles.DB == nil {
		return nil, errStatus(http.StatusServiceUnavailable, "dashboards are not served by this process")
	}
	set := s.opts.Dashboards.Current()
	if set == nil {
		return nil, errStatus(http.StatusServiceUnavailable, "no dashboards loaded")
	}
	s.tiles.follow(set)
	return set, nil
}

// viewer is who asks for a dashboard: their auth scope, the dashboard
// package's form of it and their employee id.
type viewer struct {
	scope    auth.Scope
	vs       dashboard.ViewerScope
	employee string
}

func (s *Server) viewer(c echo.Context) (viewer, error) {
	sc, err := s.viewerScope(c)
	if err != nil {
		return viewer{}, err
	}
	p, _ := auth.FromContext(c)
	v := viewer{scope: sc, employee: p.EmployeeID}
	v.vs = dashboard.ViewerScope{All: sc.All}
	if !sc.All {
		v.vs.EmployeeIDs, v.vs.TeamIDs = sc.EmployeeIDs(), sc.TeamIDs()
	}
	return v, nil
}

// key names the scope exactly, for the cache: two viewers share cached
// results only when they see precisely the same people and teams.
func (v viewer) key() string {
	if v.vs.All {
		return "all"
	}
	return "e:" + strings.Join(v.vs.EmployeeIDs, ",") + "|t:" + strings.Join(v.vs.TeamIDs, ",")
}

// mayOpen: a dashboard is offered to a viewer when one of its tiles can
// show them something: company tiles need All, team tiles a team in scope
// (an employee sees no team's figures); employee, sql and none tiles
// restrict their rows themselves.
func mayOpen(d *dashboard.Dashboard, v viewer) bool {
	if v.vs.All {
		return true
	}
	for _, t := range d.Tiles {
		switch t.Scope.Mode {
		case dashboard.ScopeCompany:
		case dashboard.ScopeTeam:
			if len(v.vs.TeamIDs) > 0 {
				return true
			}
		default:
			return true
		}
	}
	return false
}

type dashboardSummary struct {
	ID          string         `json:"id"`
	Title       dashboard.Text `json:"title"`
	Description dashboard.Text `json:"description"`
	Order       int            `json:"order"`
}

// listDashboards answers GET /api/dashboards: the dashboards the viewer
// may open, in menu order.
func (s *Server) listDashboards(c echo.Context) error {
	set, err := s.dashboardSet()
	if err != nil {
		return err
	}
	v, err := s.viewer(c)
	if err != nil {
		return err
	}
	list := []dashboardSummary{}
	for _, d := range set.Dashboards {
		if mayOpen(d, v) {
			list = append(list, dashboardSummary{ID: d.ID, Title: d.Title, Description: d.Description, Order: d.Order})
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Order != list[j].Order {
			return list[i].Order < list[j].Order
		}
		return list[i].ID < list[j].ID
	})
	return c.JSON(http.StatusOK, map[string]any{"dashboards": list})
}

type optionTeam struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type optionEmployee struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	TeamID string `json:"team_id"`
}

type optionDefaults struct {
	Grain    string `json:"grain"`
	Period   string `json:"period"`
	Team     string `json:"team"`
	Employee string `json:"employee"`
}

type dashboardOptions struct {
	Grains    []string         `json:"grains"`
	Teams     []optionTeam     `json:"teams"`
	Employees []optionEmployee `json:"employees"`
	Default   optionDefaults   `json:"default"`
}

type dashboardView struct {
	*dashboard.Dashboard
	Options dashboardOptions `json:"options"`
}

// getDashboard answers GET /api/dashboards/:id: the dashboard and the
// filter choices the viewer has (only teams and people in their scope).
func (s *Server) getDashboard(c echo.Context) error {
	set, err := s.dashboardSet()
	if err != nil {
		return err
	}
	d, ok := set.Get(c.Param("id"))
	if !ok {
		return errStatus(http.StatusNotFound, "no dashboard %q", c.Param("id"))
	}
	v, err := s.viewer(c)
	if err != nil {
		return err
	}
	if !mayOpen(d, v) {
		return outOfScope()
	}
	opts, err := s.dashboardOptions(c.Request().Context(), d, v)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dashboardView{Dashboard: d, Options: opts})
}

func (s *Server) dashboardOptions(ctx context.Context, d *dashboard.Dashboard, v viewer) (dashboardOptions, error) {
	o := dashboardOptions{Grains: []string{"month"}, Teams: []optionTeam{}, Employees: []optionEmployee{}}
	o.Default.Grain = "month"
	if g := d.Filters.Grain; g != nil {
		o.Grains, o.Default.Grain = slices.Clone(g.Options), g.Default
	}
	now := s.opts.Tiles.Now().In(s.opts.Tiles.Location)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if p := d.Filters.Period; p != nil {
		switch p.Default {
		case "current":
		case "previous":
			day = dashboard.AddPeriods(o.Default.Grain, dashboard.PeriodStart(o.Default.Grain, day), -1)
		default:
			if t, err := time.Parse(time.DateOnly, p.Default); err == nil {
				day = t
			}
		}
	}
	o.Default.Period = dashboard.PeriodStart(o.Default.Grain, day).Format(time.DateOnly)
	if d.Filters.Team == nil && d.Filters.Employee == nil {
		return o, nil
	}
	people, err := s.people(ctx)
	if err != nil {
		return o, err
	}
	viewerTeam := ""
	teams := map[string]string{}
	for _, p := range people {
		if p.ID == v.employee {
			viewerTeam = p.TeamID
		}
		if p.TeamID != "" && (v.vs.All || v.scope.CanSeeTeam(p.TeamID)) {
			if teams[p.TeamID] == "" {
				teams[p.TeamID] = p.teamName
			}
		}
		if d.Filters.Employee != nil && v.scope.CanSeeEmployee(p.ID) {
			o.Employees = append(o.Employees, optionEmployee{ID: p.ID, Name: p.Name, TeamID: p.TeamID})
		}
	}
	if d.Filters.Team != nil {
		for id, name := range teams {
			if name == "" {
				name = id
			}
			o.Teams = append(o.Teams, optionTeam{ID: id, Name: name})
		}
		sort.Slice(o.Teams, func(i, j int) bool { return o.Teams[i].Name < o.Teams[j].Name })
		o.Default.Team = d.Filters.Team.Default
		// A viewer who does not see the company starts on a team they see:
		// the company rows would show them nothing.
		if o.Default.Team == "" && !v.vs.All && len(v.vs.TeamIDs) > 0 {
			o.Default.Team = v.vs.TeamIDs[0]
			if v.scope.CanSeeTeam(viewerTeam) {
				o.Default.Team = viewerTeam
			}
		}
	}
	if f := d.Filters.Employee; f != nil {
		o.Default.Employee = f.Default
		if f.Default == "self" {
			o.Default.Employee = v.employee
		}
		if o.Default.Employee == "" && f.Required && len(o.Employees) > 0 {
			o.Default.Employee = o.Employees[0].ID
		}
	}
	return o, nil
}

type person struct {
	ID, Name, TeamID, teamName string
}

// people are the employees as they stand now, for the filter choices.
func (s *Server) people(ctx context.Context) ([]person, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Tiles.Timeout)
	defer cancel()
	rows, err := s.opts.Tiles.DB.QueryContext(ctx, `SELECT employee_id, coalesce(name, employee_id),
		coalesce(team_id, ''), coalesce(team_name, '') FROM staging.employees ORDER BY name, employee_id`)
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return nil, nil // before the first transform run
		}
		return nil, fmt.Errorf("listing employees: %w", err)
	}
	defer rows.Close()
	var out []person
	for rows.Next() {
		var p person
		if err := rows.Scan(&p.ID, &p.Name, &p.TeamID, &p.teamName); err != nil {
			return nil, fmt.Errorf("listing employees: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing employees: %w", err)
	}
	return out, nil
}

// tileRequest is a parsed GET /api/dashboards/:id/tiles/:tile.
type tileRequest struct {
	dash   *dashboard.Dashboard
	tile   *dashboard.Tile
	values dashboard.Values
	lang   string
	format string
}

func (s *Server) parseTileRequest(c echo.Context, set *dashboard.Set) (tileRequest, error) {
	var r tileRequest
	d, ok := set.Get(c.Param("id"))
	if !ok {
		return r, errStatus(http.StatusNotFound, "no dashboard %q", c.Param("id"))
	}
	t, ok := d.Tile(c.Param("tile"))
	if !ok {
		return r, errStatus(http.StatusNotFound, "dashboard %q has no tile %q", d.ID, c.Param("tile"))
	}
	r.dash, r.tile = d, t
	r.lang = c.QueryParam("lang")
	if r.lang == "" {
		if ck, err := c.Cookie("pulse_lang"); err == nil && slices.Contains(dashboard.Languages, ck.Value) {
			r.lang = ck.Value
		} else {
			r.lang = "en"
		}
	}
	if !slices.Contains(dashboard.Languages, r.lang) {
		return r, errStatus(http.StatusBadRequest, "lang: %q is neither en nor zh-CN", r.lang)
	}
	r.format = c.QueryParam("format")
	if r.format == "" {
		r.format = "json"
	}
	if !slices.Contains([]string{"json", "csv", "xlsx"}, r.format) {
		return r, errStatus(http.StatusBadRequest, "format: %q is not json, csv or xlsx", r.format)
	}
	r.values = dashboard.Values{Grain: c.QueryParam("grain"), TeamID: c.QueryParam("team"),
		EmployeeID: c.QueryParam("employee"), Lang: r.lang}
	if g := r.values.Grain; g != "" && !slices.Contains(dashboard.Grains, g) {
		return r, errStatus(http.StatusBadRequest, "grain: %q is not one of %v", g, dashboard.Grains)
	}
	if p := c.QueryParam("period"); p != "" {
		day, err := time.Parse(time.DateOnly, p)
		if err != nil {
			return r, errStatus(http.StatusBadRequest, "period: %q is not a date (YYYY-MM-DD)", p)
		}
		r.values.Period = day
	}
	return r, nil
}

// tile answers GET /api/dashboards/:id/tiles/:tile: the tile's rows for
// the filters and the viewer's scope, as JSON, CSV or XLSX.
func (s *Server) tile(c echo.Context) error {
	start := time.Now()
	set, err := s.dashboardSet()
	if err != nil {
		return err
	}
	r, err := s.parseTileRequest(c, set)
	if err != nil {
		return err
	}
	v, err := s.viewer(c)
	if err != nil {
		return err
	}
	r.values.Viewer = v.employee
	// Asking for someone outside one's scope is refused outright, not
	// answered with an empty tile that would look like "no figures".
	if id := r.values.EmployeeID; id != "" && id != "self" && !v.scope.CanSeeEmployee(id) {
		return outOfScope()
	}
	if id := r.values.TeamID; id != "" && !v.scope.CanSeeTeam(id) {
		return outOfScope()
	}
	if r.tile.Scope.Mode == dashboard.ScopeCompany && !v.vs.All {
		return errStatus(http.StatusForbidden, "%v", dashboard.ErrOutOfScope)
	}
	// A team tile for a viewer with no team in scope (an employee) is
	// refused like a company tile: empty rows would read as "no figures".
	if r.tile.Scope.Mode == dashboard.ScopeTeam && !v.vs.All && len(v.vs.TeamIDs) == 0 {
		return errStatus(http.StatusForbidden, "this tile shows team figures, and no team is in the viewer's scope")
	}
	q, err := r.tile.Render(r.values, s.opts.Tiles.Now().In(s.opts.Tiles.Location))
	if err != nil {
		return errStatus(http.StatusBadRequest, "%v", err)
	}
	if emp := argString(q.Args, "employee_id"); emp != "" && !v.scope.CanSeeEmployee(emp) {
		return outOfScope() // a default employee the viewer may not see
	}
	res, cached, err := s.tiles.get(c.Request().Context(), set, r, q, v, s.runTile)
	if err != nil {
		return err
	}
	if m := s.opts.Tiles.Metrics; m != nil {
		m.observe(r.dash.ID, cached, time.Since(start))
	}
	switch r.format {
	case "csv":
		return writeCSV(c, r, res)
	case "xlsx":
		return writeXLSX(c, r, res)
	}
	return c.JSON(http.StatusOK, tileJSON(r, res, cached))
}

func argString(args []any, name string) string {
	for _, a := range args {
		if na, ok := a.(sql.NamedArg); ok && na.Name == name {
			s, _ := na.Value.(string)
			return s
		}
	}
	return ""
}

// tileColumn is a result column: its definition in the dashboard (or one
// made up from its name and type when the tile does not label it) and
// how its values are typed.
type tileColumn struct {
	def    dashboard.Column
	dbType string
}

// tileResult is a tile's rows as the cache keeps them; cells are nil,
// bool, int64, float64, json.Number (DECIMAL, HUGEINT: exact), string or
// time.Time (a DATE when the column's dbType says so).
type tileResult struct {
	grain                  string
	periodStart, periodEnd time.Time
	columns                []tileColumn
	rows                   [][]any
	truncated              bool
	runID                  int64
	size                   int64
}

// runTile runs a scoped tile query. An employee leaderboard seen by a
// viewer who does not see everyone runs over their circle and is then
// masked: other people keep their name, value and rank only.
func (s *Server) runTile(ctx context.Context, r tileRequest, q dashboard.Query, v viewer) (*tileResult, error) {
	o := s.opts.Tiles
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	vs := v.vs
	masked := r.tile.Kind == "leaderboard" && r.tile.Scope.Mode == dashboard.ScopeEmployee && !vs.All &&
		o.LeaderboardCircle != CircleSelf
	if masked {
		circle, err := s.circle(ctx, q, v)
		if err != nil {
			return nil, err
		}
		vs = circle
	}
	sq, err := q.Scoped(vs)
	if errors.Is(err, dashboard.ErrOutOfScope) {
		return nil, errStatus(http.StatusForbidden, "%v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("scoping tile %s: %w", r.tile.Where(), err)
	}
	select {
	case s.tileTurns <- struct{}{}: // a free turn is taken even when ctx is done
	default:
		select {
		case s.tileTurns <- struct{}{}:
		case <-ctx.Done():
			return nil, errStatus(http.StatusServiceUnavailable, "dashboards are busy: tile %s waited %v for its turn", r.tile.ID, o.Timeout)
		}
	}
	defer func() { <-s.tileTurns }()
	res := &tileResult{grain: q.Grain, periodStart: q.PeriodStart, periodEnd: q.PeriodEnd}
	if err := o.DB.QueryRowContext(ctx, `SELECT coalesce(max(run_id), 0) FROM ops.transform_runs WHERE status = 'ok'`).
		Scan(&res.runID); err != nil {
		return nil, tileQueryError(ctx, r, fmt.Errorf("latest transform run: %w", err))
	}
	rows, err := o.DB.QueryContext(ctx, sq.SQL, sq.Args...)
	if err != nil {
		return nil, tileQueryError(ctx, r, err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, tileQueryError(ctx, r, err)
	}
	defs := map[string]dashboard.Column{}
	for _, col := range r.tile.Columns {
		defs[col.Name] = col
	}
	scopeCol := -1
	for i, ct := range types {
		def, ok := defs[ct.Name()]
		if !ok {
			def = dashboard.Column{Name: ct.Name(), Format: guessFormat(ct.DatabaseTypeName()),
				Label: dashboard.Text{EN: ct.Name(), ZhCN: ct.Name()}}
		}
		res.columns = append(res.columns, tileColumn{def: def, dbType: ct.DatabaseTypeName()})
		if ct.Name() == r.tile.Scope.Column {
			scopeCol = i
		}
		res.size += int64(len(ct.Name()) + 64)
	}
	cells := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range cells {
		ptrs[i] = &cells[i]
	}
	for rows.Next() {
		if len(res.rows) == o.MaxRows {
			res.truncated = true
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, tileQueryError(ctx, r, err)
		}
		row := make([]any, len(cells))
		for i, cell := range cells {
			row[i] = cellValue(cell)
			res.size += cellSize(row[i])
		}
		if masked && scopeCol >= 0 {
			id, _ := row[scopeCol].(string)
			if !v.scope.CanSeeEmployee(id) {
				for i, col := range res.columns {
					switch col.def.Name {
					case "name", "value", "rank":
					default:
						row[i] = nil
					}
				}
			}
		}
		res.rows = append(res.rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, tileQueryError(ctx, r, err)
	}
	return res, nil
}

// tileQueryError: a query the timeout interrupted is the client's 504
// (DuckDB reports the interruption in its own words); others are ours.
func tileQueryError(ctx context.Context, r tileRequest, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return errStatus(http.StatusGatewayTimeout, "tile %s/%s took too long", r.dash.ID, r.tile.ID)
	}
	return fmt.Errorf("tile %s: %w", r.tile.Where(), err)
}

// circle is the scope a leaderboard runs with for a viewer who does not
// see everyone: their own scope plus the members of their team at the
// period (or everyone, with CircleCompany).
func (s *Server) circle(ctx context.Context, q dashboard.Query, v viewer) (dashboard.ViewerScope, error) {
	if s.opts.Tiles.LeaderboardCircle == CircleCompany {
		return dashboard.ViewerScope{All: true}, nil
	}
	ids := slices.Clone(v.vs.EmployeeIDs)
	if v.employee == "" {
		return dashboard.ViewerScope{EmployeeIDs: ids, TeamIDs: v.vs.TeamIDs}, nil
	}
	rows, err := s.opts.Tiles.DB.QueryContext(ctx, `
		WITH mine AS (
		    SELECT coalesce(
		        (SELECT team_id FROM staging.period_members
		         WHERE grain = $1 AND period_start = $2 AND employee_id = $3),
		        (SELECT team_id FROM staging.employees WHERE employee_id = $3)) AS team_id
		)
		SELECT DISTINCT m.employee_id FROM staging.period_members AS m, mine
		WHERE m.grain = $1 AND m.period_start = $2 AND m.team_id = mine.team_id`,
		q.Grain, q.PeriodStart, v.employee)
	if err != nil {
		return dashboard.ViewerScope{}, fmt.Errorf("leaderboard circle of %s: %w", v.employee, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return dashboard.ViewerScope{}, fmt.Errorf("leaderboard circle of %s: %w", v.employee, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return dashboard.ViewerScope{}, fmt.Errorf("leaderboard circle of %s: %w", v.employee, err)
	}
	slices.Sort(ids)
	return dashboard.ViewerScope{EmployeeIDs: slices.Compact(ids), TeamIDs: v.vs.TeamIDs}, nil
}

func guessFormat(dbType string) string {
	switch {
	case dbType == "DATE":
		return "date"
	case strings.HasPrefix(dbType, "TIMESTAMP"):
		return "datetime"
	case strings.Contains(dbType, "INT"):
		return "integer"
	case dbType == "DOUBLE", dbType == "FLOAT", strings.HasPrefix(dbType, "DECIMAL"):
		return "number"
	}
	return "text"
}

// tileJSON is the answer of the JSON format; see the UI contract.
func tileJSON(r tileRequest, res *tileResult, cached bool) map[string]any {
	cols := make([]map[string]any, len(res.columns))
	for i, col := range res.columns {
		cols[i] = columnJSON(col.def, r.lang)
	}
	rows := make([][]any, len(res.rows))
	for i, row := range res.rows {
		out := make([]any, len(row))
		for j, cell := range row {
			out[j] = jsonCell(cell, res.columns[j].dbType)
		}
		rows[i] = out
	}
	return map[string]any{
		"dashboard": r.dash.ID, "tile": r.tile.ID, "kind": r.tile.Kind, "grain": res.grain,
		"period_start": res.periodStart.Format(time.DateOnly), "period_end": res.periodEnd.Format(time.DateOnly),
		"columns": cols, "rows": rows, "truncated": res.truncated, "cached": cached, "run_id": res.runID,
	}
}

// columnJSON is the column as the dashboard package marshals it (so
// fields it gains, such as kpi, pass through) with its label in lang.
func columnJSON(def dashboard.Column, lang string) map[string]any {
	out := map[string]any{}
	if b, err := json.Marshal(def); err == nil {
		_ = json.Unmarshal(b, &out)
	}
	out["label"] = def.Label.In(lang)
	if out["label"] == "" {
		out["label"] = def.Name
	}
	out["hidden"] = def.Hidden
	if _, ok := out["kpi"]; !ok {
		out["kpi"] = nil // every column names its KPI, null for none
	}
	return out
}

func jsonCell(v any, dbType string) any {
	switch x := v.(type) {
	case time.Time:
		if dbType == "DATE" {
			return x.Format(time.DateOnly)
		}
		return x.Format(time.RFC3339)
	}
	return v
}
