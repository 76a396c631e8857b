package server

import (
	"context"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/pulsekpi/pulse/alert"
	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/transform"
)

// viewerScope is what the caller may see. Without a user store (the admin
// token only), the caller sees everything.
func (s *Server) viewerScope(c echo.Context) (auth.Scope, error) {
	if s.opts.Auth == nil {
		return auth.Scope{All: true}, nil
	}
	p, ok := auth.FromContext(c)
	if !ok {
		return auth.Scope{}, errStatus(http.StatusUnauthorized, "sign-in required")
	}
	return s.scopes.get(c.Request().Context(), p, s.opts.Auth.Scope)
}

// scopeCache keeps each (role, employee)'s scope until the next
// transform run, which is when staging.employees (who reports to whom)
// can change: a manager's scope is a recursive query, and asking it for
// every tile of every page would queue small queries behind the
// warehouse's real work. Dropped with the tiles (InvalidateTiles).
type scopeCache struct {
	mu sync.Mutex
	m  map[string]auth.Scope
}

func (sc *scopeCache) get(ctx context.Context, p auth.Principal, compute func(context.Context, auth.Principal) (auth.Scope, error)) (auth.Scope, error) {
	key := string(p.Role) + "\x00" + p.EmployeeID
	sc.mu.Lock()
	got, ok := sc.m[key]
	sc.mu.Unlock()
	if ok {
		return got, nil
	}
	got, err := compute(ctx, p)
	if err != nil {
		return got, err
	}
	sc.mu.Lock()
	if sc.m == nil {
		sc.m = map[string]auth.Scope{}
	}
	sc.m[key] = got
	sc.mu.Unlock()
	return got, nil
}

func (sc *scopeCache) clear() {
	sc.mu.Lock()
	sc.m = nil
	sc.mu.Unlock()
}

func outOfScope() error {
	return errStatus(http.StatusForbidden, "outside what your role may see")
}

// scopeScorecards keeps the scorecards a viewer may see: whole for the
// people in scope; for the rest of the viewer's own team (the circle a
// leaderboard shows), name, score and ranks only; nobody else.
func scopeScorecards(sc auth.Scope, viewer string, res *transform.ScorecardResult) {
	if sc.All {
		return
	}
	team := ""
	for _, card := range res.Scorecards {
		if card.EmployeeID == viewer {
			team = card.TeamID
		}
	}
	kept := res.Scorecards[:0]
	for _, card := range res.Scorecards {
		switch {
		case sc.CanSeeEmployee(card.EmployeeID):
			kept = append(kept, card)
		case team != "" && card.TeamID == team:
			kept = append(kept, transform.Scorecard{EmployeeID: card.EmployeeID, Name: card.Name, Role: card.Role,
				TeamID: card.TeamID, Score: card.Score, RankInRole: card.RankInRole, RankInTeam: card.RankInTeam,
				DroppedKPIs: []string{}, Lines: []transform.ScorecardLine{}})
		}
	}
	res.Scorecards = kept
}

// scopeAlerts keeps the alerts about people and teams in scope; alerts
// about the company, or tickets nobody in scope holds, need All.
func scopeAlerts(sc auth.Scope, list []alert.Alert) []alert.Alert {
	if sc.All {
		return list
	}
	kept := list[:0]
	for _, a := range list {
		switch {
		case a.EmployeeID != "" && sc.CanSeeEmployee(a.EmployeeID):
			kept = append(kept, a)
		case a.EmployeeID == "" && a.TeamID != "" && sc.CanSeeTeam(a.TeamID):
			kept = append(kept, a)
		}
	}
	return kept
}
