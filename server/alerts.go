package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/auth"
)

// Alerts lists alerts and their notifications and manages silences.
// *alert.Store implements it.
type Alerts interface {
	Alerts(ctx context.Context, f alert.Filter) ([]alert.Alert, error)
	Notifications(ctx context.Context, key string, limit int) ([]alert.Notification, error)
	Silences(ctx context.Context, all bool) ([]alert.Silence, error)
	Silence(ctx context.Context, in alert.Silence) (*alert.Silence, error)
	Unsilence(ctx context.Context, id int64, by string) (*alert.Silence, error)
}

func (s *Server) alertStore() (Alerts, error) {
	if s.opts.Alerts == nil {
		return nil, errStatus(http.StatusServiceUnavailable, "alerts are not evaluated in this process")
	}
	return s.opts.Alerts, nil
}

func queryLimit(c echo.Context, def int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errStatus(http.StatusBadRequest, "limit: %q is not a whole number", v)
	}
	return n, nil
}

// alerts answers GET /api/alerts?state=firing[,pending]&rule=&severity=
// &subject_type=&subject=&key=&lang=&limit=.
func (s *Server) alerts(c echo.Context) error {
	st, err := s.alertStore()
	if err != nil {
		return err
	}
	f := alert.Filter{Rule: c.QueryParam("rule"), Severity: c.QueryParam("severity"),
		SubjectType: c.QueryParam("subject_type"), Subject: c.QueryParam("subject"),
		Key: c.QueryParam("key"), Lang: c.QueryParam("lang")}
	if v := c.QueryParam("state"); v != "" {
		f.States = strings.Split(v, ",")
	}
	if f.Limit, err = queryLimit(c, 0); err != nil {
		return err
	}
	sc, err := s.viewerScope(c)
	if err != nil {
		return err
	}
	if !sc.All {
		f.Visible = &alert.Visible{EmployeeIDs: sc.EmployeeIDs(), TeamIDs: sc.TeamIDs()}
	}
	list, err := st.Alerts(c.Request().Context(), f)
	if err != nil {
		return err
	}
	list = scopeAlerts(sc, list)
	return c.JSON(http.StatusOK, map[string]any{"count": len(list), "alerts": list})
}

// alertNotifications answers GET /api/alerts/notifications?key=&limit=:
// what was queued for whom, and every delivery attempt.
func (s *Server) alertNotifications(c echo.Context) error {
	st, err := s.alertStore()
	if err != nil {
		return err
	}
	limit, err := queryLimit(c, 200)
	if err != nil {
		return err
	}
	list, err := st.Notifications(c.Request().Context(), c.QueryParam("key"), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"count": len(list), "notifications": list})
}

// silences answers GET /api/silences[?all=true].
func (s *Server) silences(c echo.Context) error {
	st, err := s.alertStore()
	if err != nil {
		return err
	}
	all := false
	if v := c.QueryParam("all"); v != "" {
		if all, err = strconv.ParseBool(v); err != nil {
			return errStatus(http.StatusBadRequest, "all: %q is neither true nor false", v)
		}
	}
	list, err := st.Silences(c.Request().Context(), all)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"count": len(list), "silences": list})
}

// silenceRequest is the body of POST /api/silences: what to silence, until
// when (ends_at, or a duration from now such as "2h"), and why.
type silenceRequest struct {
	Rule        string     `json:"rule"`
	SubjectType string     `json:"subject_type"`
	Subject     string     `json:"subject"`
	StartsAt    *time.Time `json:"starts_at"`
	EndsAt      *time.Time `json:"ends_at"`
	Duration    string     `json:"duration"`
	Comment     string     `json:"comment"`
	CreatedBy   string     `json:"created_by"`
}

func (s *Server) createSilence(c echo.Context) error {
	st, err := s.alertStore()
	if err != nil {
		return err
	}
	var req silenceRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	sc, err := s.viewerScope(c)
	if err != nil {
		return err
	}
	// A manager silences what they may see, one subject at a time: their
	// own people and teams, or another subject (a ticket) that has an
	// alert about one of them.
	if !sc.All {
		ok, err := mayScopeSilence(c.Request().Context(), st, sc, req)
		if err != nil {
			return err
		}
		if !ok {
			return errStatus(http.StatusForbidden, "you may silence alerts about your own people and teams only: give their subject")
		}
	}
	in := alert.Silence{Rule: req.Rule, SubjectType: req.SubjectType, Subject: req.Subject,
		Comment: req.Comment, CreatedBy: req.CreatedBy}
	if in.CreatedBy == "" {
		in.CreatedBy = principal(c)
	}
	now := time.Now()
	if req.StartsAt != nil {
		in.StartsAt = *req.StartsAt
	}
	switch {
	case req.EndsAt != nil && req.Duration != "":
		return errStatus(http.StatusBadRequest, "give ends_at or duration, not both")
	case req.EndsAt != nil:
		in.EndsAt = *req.EndsAt
	case req.Duration != "":
		d, err := time.ParseDuration(req.Duration)
		if err != nil || d <= 0 {
			return errStatus(http.StatusBadRequest, "duration: %q is not a positive duration like 2h or 30m", req.Duration)
		}
		start := now
		if req.StartsAt != nil {
			start = *req.StartsAt
		}
		in.EndsAt = start.Add(d)
	}
	out, err := st.Silence(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

// mayScopeSilence: a viewer who does not see everyone may silence one
// subject in their scope, or a subject of another type (subject_type
// given) when an alert they may see is about it.
func mayScopeSilence(ctx context.Context, st Alerts, sc auth.Scope, req silenceRequest) (bool, error) {
	switch {
	case req.Subject == "":
		return false, nil
	case req.SubjectType == "" || req.SubjectType == "employee" || req.SubjectType == "team":
		return sc.CanSeeEmployee(req.Subject) || sc.CanSeeTeam(req.Subject), nil
	}
	seen, err := st.Alerts(ctx, alert.Filter{SubjectType: req.SubjectType, Subject: req.Subject, Limit: 1,
		Visible: &alert.Visible{EmployeeIDs: sc.EmployeeIDs(), TeamIDs: sc.TeamIDs()}})
	if err != nil {
		return false, err
	}
	return len(seen) > 0, nil
}

func (s *Server) deleteSilence(c echo.Context) error {
	st, err := s.alertStore()
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return errStatus(http.StatusBadRequest, "silence id %q is not a number", c.Param("id"))
	}
	out, err := st.Unsilence(c.Request().Context(), id, principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
