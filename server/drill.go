package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/drill"
)

// Drills traces KPI figures to their rows and events. *drill.Drill
// implements it.
type Drills interface {
	Rows(ctx context.Context, req drill.Request) (drill.Result, error)
	Event(ctx context.Context, id string) (drill.Event, error)
}

// drillError turns the drill package's sentinels into client errors.
func drillError(err error) error {
	switch {
	case errors.Is(err, drill.ErrBadRequest):
		return errStatus(http.StatusBadRequest, "%s", err.Error())
	case errors.Is(err, drill.ErrNotFound):
		return errStatus(http.StatusNotFound, "%s", err.Error())
	}
	return err
}

func (s *Server) drills() (Drills, error) {
	if s.opts.Drill == nil {
		return nil, errStatus(http.StatusServiceUnavailable, "drill-down is not offered by this process")
	}
	return s.opts.Drill, nil
}

// drillRows answers GET /api/drill?kpi=&grain=&period=&employee_id=|team_id=
// (neither: the company) with the rows behind the figure. Drilling needs
// the same right as seeing the figure: the employee, the team, or
// everything for the company.
func (s *Server) drillRows(c echo.Context) error {
	d, err := s.drills()
	if err != nil {
		return err
	}
	req := drill.Request{KPI: c.QueryParam("kpi"), Grain: c.QueryParam("grain"), PeriodStart: c.QueryParam("period"),
		Lang: c.QueryParam("lang"), SubjectType: "company"}
	emp, team := c.QueryParam("employee_id"), c.QueryParam("team_id")
	switch {
	case emp != "" && team != "":
		return errStatus(http.StatusBadRequest, "give employee_id or team_id, not both")
	case emp != "":
		req.SubjectType, req.SubjectID = "employee", emp
	case team != "":
		req.SubjectType, req.SubjectID = "team", team
	}
	if v := c.QueryParam("max_rows"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return errStatus(http.StatusBadRequest, "max_rows: %q is not a positive number", v)
		}
		req.MaxRows = n
	}
	sc, err := s.viewerScope(c)
	if err != nil {
		return err
	}
	if !sc.All && (req.SubjectType == "company" || req.SubjectType == "employee" && !sc.CanSeeEmployee(emp) ||
		req.SubjectType == "team" && !sc.CanSeeTeam(team)) {
		return outOfScope()
	}
	res, err := d.Rows(c.Request().Context(), req)
	if err != nil {
		return drillError(err)
	}
	return c.JSON(http.StatusOK, res)
}

// event answers GET /api/events/:event_id. A viewer who does not see
// everything reads only events about someone in their scope (see
// drill.Event.Employees); any other event is "not found", so that its
// existence is not revealed.
func (s *Server) event(c echo.Context) error {
	d, err := s.drills()
	if err != nil {
		return err
	}
	sc, err := s.viewerScope(c)
	if err != nil {
		return err
	}
	id := c.Param("event_id")
	notFound := errStatus(http.StatusNotFound, "event %q: not found", id)
	ev, err := d.Event(c.Request().Context(), id)
	if errors.Is(err, drill.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	if !sc.All {
		visible := false
		for _, e := range ev.Employees {
			visible = visible || sc.CanSeeEmployee(e)
		}
		if !visible {
			return notFound
		}
	}
	return c.JSON(http.StatusOK, ev)
}
