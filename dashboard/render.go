package dashboard

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Values are the filter values of a request. Zero values take the
// dashboard's defaults.
type Values struct {
	Grain      string    // day, week, month, quarter
	Period     time.Time // any day of the period (its date in the business time zone)
	TeamID     string
	EmployeeID string
	// Viewer is the viewer's employee id: the value of an employee filter
	// whose default is self ("" when the viewer is not an employee).
	Viewer string
	Lang   string // en or zh-CN, default en
}

// Query is a tile's statement and its arguments (sql.Named), ready for
// db.QueryContext(ctx, q.SQL, q.Args...) once Scoped has added the
// viewer's scope.
type Query struct {
	SQL   string
	Args  []any
	Tile  *Tile
	Grain string
	// Period is the period shown: [PeriodStart, PeriodEnd).
	PeriodStart, PeriodEnd time.Time
}

// Render binds a tile's filter parameters from v, the dashboard's defaults
// standing in for what v leaves empty; now (in the business time zone)
// places the current period. It refuses values the dashboard does not
// offer (a grain outside the options, a team or employee without the
// filter). Scope parameters are left to Query.Scoped.
func (s *Set) Render(dashID, tileID string, v Values, now time.Time) (Query, error) {
	t, ok := s.Tile(dashID, tileID)
	if !ok {
		return Query{}, fmt.Errorf("no tile %q on dashboard %q", tileID, dashID)
	}
	return t.Render(v, now)
}

// Render: see Set.Render.
func (t *Tile) Render(v Values, now time.Time) (Query, error) {
	f := t.dash.Filters
	q := Query{SQL: t.SQL, Tile: t}
	grain := "month"
	if f.Grain != nil {
		grain = f.Grain.Default
		if v.Grain != "" {
			if !slices.Contains(f.Grain.Options, v.Grain) {
				return Query{}, fmt.Errorf("grain %q is not offered (%v)", v.Grain, f.Grain.Options)
			}
			grain = v.Grain
		}
	} else if v.Grain != "" && v.Grain != grain {
		return Query{}, fmt.Errorf("dashboard %s has no grain filter", t.dash.ID)
	}
	q.Grain = grain
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if f.Period != nil {
		switch d := f.Period.Default; {
		case !v.Period.IsZero():
			day = time.Date(v.Period.Year(), v.Period.Month(), v.Period.Day(), 0, 0, 0, 0, time.UTC)
		case d == "previous":
			day = AddPeriods(grain, PeriodStart(grain, day), -1)
		case d != "current":
			day, _ = time.Parse(time.DateOnly, d)
		}
	}
	q.PeriodStart = PeriodStart(grain, day)
	q.PeriodEnd = AddPeriods(grain, q.PeriodStart, 1)
	team, emp := v.TeamID, v.EmployeeID
	if f.Team == nil && team != "" {
		return Query{}, fmt.Errorf("dashboard %s has no team filter", t.dash.ID)
	}
	if f.Team != nil && team == "" {
		team = f.Team.Default
	}
	if f.Employee == nil && emp != "" {
		return Query{}, fmt.Errorf("dashboard %s has no employee filter", t.dash.ID)
	}
	if f.Employee != nil {
		if emp == "" {
			emp = f.Employee.Default
		}
		if emp == "self" {
			emp = v.Viewer
		}
		if f.Employee.Required && emp == "" {
			return Query{}, ErrNeedsEmployee
		}
	}
	lang := v.Lang
	if lang != "zh-CN" {
		lang = "en"
	}
	for _, p := range t.Params {
		var val any
		switch p {
		case "grain":
			val = grain
		case "period_start":
			val = q.PeriodStart
		case "period_end":
			val = q.PeriodEnd
		case "prev_period_start":
			val = AddPeriods(grain, q.PeriodStart, -1)
		case "prev_period_cut":
			val = PrevPeriodCut(grain, q.PeriodStart, now)
		case "team_id":
			val = nullable(team)
		case "employee_id":
			val = nullable(emp)
		case "lang":
			val = lang
		default:
			continue // scope_*: Scoped
		}
		q.Args = append(q.Args, sql.Named(p, val))
	}
	return q, nil
}

// PrevPeriodCut is where the period before start's stops counting when it
// is compared with the period at start, like for like: while that period
// is under way (now, in the business time zone, falls in it), as many
// days into the period before as today is into this one, today included
// and never past its end; otherwise the whole period before (its end,
// which is start). Early in a month, a month-to-date figure is then set
// against the same days of the month before, not the whole of it.
func PrevPeriodCut(grain string, start, now time.Time) time.Time {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	end := AddPeriods(grain, start, 1)
	if today.Before(start) || !today.Before(end) {
		return start
	}
	days := int(today.Sub(start).Hours()/24) + 1
	if cut := AddPeriods(grain, start, -1).AddDate(0, 0, days); cut.Before(start) {
		return cut
	}
	return start
}

// ErrNeedsEmployee: the dashboard is about one employee and none was given
// (and the viewer is not one).
var ErrNeedsEmployee = errors.New("this dashboard needs an employee")

// ErrOutOfScope: the tile shows company-wide figures and the viewer may not
// see everyone. The UI shows the tile as not available.
var ErrOutOfScope = errors.New("this tile shows company-wide figures, outside the viewer's scope")

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ViewerScope is what a viewer may see, as the server derives it from the
// viewer's role: All for admins and executives; otherwise the employees
// (themselves; a manager's team members) and the teams (a manager's) whose
// figures they may see.
type ViewerScope struct {
	All         bool
	EmployeeIDs []string
	TeamIDs     []string
}

// Scoped restricts q to what the viewer may see, according to its tile's
// scope:
//
//   - {employee: col}: the rows whose col is one of v.EmployeeIDs (all rows
//     when v.All); the query is wrapped:
//     SELECT * FROM (<tile sql>) AS tile WHERE $scope_all OR list_contains($scope_employee_ids, tile.col)
//   - {team: col}: the same with v.TeamIDs; a NULL col (a company row) is
//     seen by v.All only.
//   - sql: the tile's SQL restricts itself; its $scope_* parameters are bound.
//   - company: ErrOutOfScope unless v.All.
//   - none: unchanged.
func (q Query) Scoped(v ViewerScope) (Query, error) {
	t := q.Tile
	emp, teams := v.EmployeeIDs, v.TeamIDs
	if emp == nil {
		emp = []string{}
	}
	if teams == nil {
		teams = []string{}
	}
	out := q
	out.Args = slices.Clone(q.Args)
	switch t.Scope.Mode {
	case ScopeEmployee, ScopeTeam:
		list, ids := "scope_employee_ids", emp
		if t.Scope.Mode == ScopeTeam {
			list, ids = "scope_team_ids", teams
		}
		// the tile's SQL starts on the first line: DuckDB's line numbers stay the tile's
		out.SQL = "SELECT * FROM (" + q.SQL + "\n) AS tile WHERE $scope_all OR coalesce(list_contains($" + list + ", tile." + quoteIdent(t.Scope.Column) + "), false)"
		out.Args = append(out.Args, sql.Named("scope_all", v.All), sql.Named(list, ids))
	case ScopeSQL:
		for _, p := range t.Params {
			switch p {
			case "scope_all":
				out.Args = append(out.Args, sql.Named(p, v.All))
			case "scope_employee_ids":
				out.Args = append(out.Args, sql.Named(p, emp))
			case "scope_team_ids":
				out.Args = append(out.Args, sql.Named(p, teams))
			}
		}
	case ScopeCompany:
		if !v.All {
			return Query{}, ErrOutOfScope
		}
	case ScopeNone:
	default:
		return Query{}, fmt.Errorf("tile %s: unknown scope %q", t.ID, t.Scope.Mode)
	}
	return out, nil
}

func quoteIdent(s string) string { return `"` + s + `"` }

// PeriodStart is the first day of the grain's period holding day: the day,
// the ISO week's Monday, the month's or the quarter's first day.
func PeriodStart(grain string, day time.Time) time.Time {
	y, m, d := day.Date()
	switch grain {
	case "week":
		wd := (int(day.Weekday()) + 6) % 7 // Monday 0
		return time.Date(y, m, d-wd, 0, 0, 0, 0, time.UTC)
	case "month":
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	case "quarter":
		return time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// AddPeriods moves a period start n periods of the grain.
func AddPeriods(grain string, start time.Time, n int) time.Time {
	switch grain {
	case "week":
		return start.AddDate(0, 0, 7*n)
	case "month":
		return start.AddDate(0, n, 0)
	case "quarter":
		return start.AddDate(0, 3*n, 0)
	}
	return start.AddDate(0, 0, n)
}
