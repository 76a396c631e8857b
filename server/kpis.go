package server

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/transform"
)

// Marts answers KPI and scorecard questions and closes periods.
// *transform.Transformer implements it.
type Marts interface {
	KPIs(ctx context.Context, q transform.KPIQuery) (*transform.KPIResult, error)
	Scorecards(ctx context.Context, q transform.ScorecardQuery) (*transform.ScorecardResult, error)
	// Close and Reopen freeze and unfreeze a month or quarter by hand;
	// by names who did it.
	Close(ctx context.Context, grain, period, by string) error
	Reopen(ctx context.Context, grain, period, by string) error
	ClosedPeriods(ctx context.Context) ([]transform.ClosedPeriod, error)
}

func (s *Server) marts() (Marts, error) {
	if s.opts.Marts == nil {
		return nil, errStatus(http.StatusServiceUnavailable, "transforms are not running in this process")
	}
	return s.opts.Marts, nil
}

// kpis answers GET /api/kpis?grain=&period=&employee_id= (or team_id=, or
// neither for the company).
func (s *Server) kpis(c echo.Context) error {
	m, err := s.marts()
	if err != nil {
		return err
	}
	q := transform.KPIQuery{Grain: c.QueryParam("grain"), Period: c.QueryParam("period"), SubjectType: "company"}
	emp, team := c.QueryParam("employee_id"), c.QueryParam("team_id")
	switch {
	case emp != "" && team != "":
		return errStatus(http.StatusBadRequest, "give employee_id or team_id, not both")
	case emp != "":
		q.SubjectType, q.SubjectID = "employee", emp
	case team != "":
		q.SubjectType, q.SubjectID = "team", team
	}
	sc, err := s.viewerScope(c)
	if err != nil {
		return err
	}
	if !sc.All && (q.SubjectType == "company" || q.SubjectType == "employee" && !sc.CanSeeEmployee(emp) ||
		q.SubjectType == "team" && !sc.CanSeeTeam(team)) {
		return outOfScope()
	}
	res, err := m.KPIs(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// scorecards answers GET /api/scorecards?grain=&period=&role=.
func (s *Server) scorecards(c echo.Context) error {
	m, err := s.marts()
	if err != nil {
		return err
	}
	sc, err := s.viewerScope(c)
	if err != nil {
		return err
	}
	res, err := m.Scorecards(c.Request().Context(), transform.ScorecardQuery{
		Grain: c.QueryParam("grain"), Period: c.QueryParam("period"), Role: c.QueryParam("role")})
	if err != nil {
		return err
	}
	p, _ := auth.FromContext(c)
	scopeScorecards(sc, p.EmployeeID, res)
	return c.JSON(http.StatusOK, res)
}

type periodRequest struct {
	Grain  string `json:"grain"`
	Period string `json:"period"`
}

// closePeriod answers POST /api/periods/close {"grain":"month","period":"2026-10-01"}.
func (s *Server) closePeriod(c echo.Context) error { return s.changePeriod(c, true) }

// reopenPeriod answers POST /api/periods/reopen with the same body.
func (s *Server) reopenPeriod(c echo.Context) error { return s.changePeriod(c, false) }

func (s *Server) changePeriod(c echo.Context, close bool) error {
	m, err := s.marts()
	if err != nil {
		return err
	}
	var req periodRequest
	if err := c.Bind(&req); err != nil {
		return errStatus(http.StatusBadRequest, "body must be JSON {\"grain\": \"month\", \"period\": \"YYYY-MM-DD\"}")
	}
	by := principal(c)
	if close {
		err = m.Close(c.Request().Context(), req.Grain, req.Period, by)
	} else {
		err = m.Reopen(c.Request().Context(), req.Grain, req.Period, by)
	}
	if err != nil {
		return err
	}
	state := "closed"
	if !close {
		state = "open"
	}
	return c.JSON(http.StatusOK, map[string]string{"grain": req.Grain, "period": req.Period, "state": state})
}

// closedPeriods answers GET /api/periods/closed.
func (s *Server) closedPeriods(c echo.Context) error {
	m, err := s.marts()
	if err != nil {
		return err
	}
	list, err := m.ClosedPeriods(c.Request().Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []transform.ClosedPeriod{}
	}
	return c.JSON(http.StatusOK, map[string]any{"closed": list})
}
