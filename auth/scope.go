package auth

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
)

// Scope is what a principal may see of the warehouse.
type Scope struct {
	// All: every employee and team (admin, executive, analyst).
	All       bool
	role      Role
	employees map[string]bool
	teams     map[string]bool
}

// EmployeeIDs are the employees in scope, sorted; nil when All.
func (s Scope) EmployeeIDs() []string { return sortedKeys(s.employees) }

// TeamIDs are the teams in scope, sorted; nil when All. An employee's
// scope has no team: they see their own figures only.
func (s Scope) TeamIDs() []string { return sortedKeys(s.teams) }

// CanSeeEmployee reports whether the employee's figures are in scope.
func (s Scope) CanSeeEmployee(id string) bool { return s.All || s.employees[id] }

// CanSeeTeam reports whether the team's figures are in scope.
func (s Scope) CanSeeTeam(id string) bool { return s.All || s.teams[id] }

// CanQuerySQL reports whether ad-hoc SQL is allowed (analyst and admin).
func (s Scope) CanQuerySQL() bool { return s.role == RoleAnalyst || s.role == RoleAdmin }

// Role is the role the scope was computed for.
func (s Scope) Role() Role { return s.role }

func sortedKeys(m map[string]bool) []string {
	if m == nil {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Scope computes p's scope against the warehouse; see ScopeFor.
func (s *Store) Scope(ctx context.Context, p Principal) (Scope, error) { return ScopeFor(ctx, s.db, p) }

// managerScopeSQL finds, for manager $1: everyone under them through
// manager_id, recursively (UNION stops on cycles); the teams of the manager
// and of everyone under them; and every employee of those teams. Rows are
// ('e', employee_id) and ('t', team_id).
const managerScopeSQL = `WITH RECURSIVE under(employee_id) AS (
    SELECT employee_id FROM staging.employees WHERE manager_id = $1
    UNION
    SELECT e.employee_id FROM staging.employees AS e JOIN under AS u ON e.manager_id = u.employee_id
),
led AS (
    SELECT DISTINCT team_id FROM staging.employees
    WHERE team_id IS NOT NULL AND (employee_id = $1 OR employee_id IN (SELECT employee_id FROM under))
)
SELECT 'e', employee_id FROM staging.employees
WHERE employee_id = $1 OR employee_id IN (SELECT employee_id FROM under) OR team_id IN (SELECT team_id FROM led)
UNION
SELECT 't', team_id FROM led`

// ScopeFor computes p's scope: everything for admin, executive and analyst
// (and the admin token); {their employee} for an employee; for a manager,
// their own team, everyone under them through manager_id (recursively,
// over staging.employees, inactive employees included: their history
// stays visible) and every member of those people's teams. Before the
// first transform run there is no staging.employees: a manager then sees
// themself only.
func ScopeFor(ctx context.Context, db *sql.DB, p Principal) (Scope, error) {
	sc := Scope{role: p.Role}
	switch p.Role {
	case RoleAdmin, RoleExecutive, RoleAnalyst:
		sc.All = true
		return sc, nil
	case RoleEmployee, RoleManager:
	default:
		return sc, fmt.Errorf("%w: role %q", ErrInvalid, p.Role)
	}
	sc.employees, sc.teams = map[string]bool{}, map[string]bool{}
	if p.EmployeeID == "" {
		return sc, nil // sees nothing
	}
	sc.employees[p.EmployeeID] = true
	if p.Role == RoleEmployee {
		return sc, nil
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables
		WHERE table_schema = 'staging' AND table_name = 'employees'`).Scan(&n); err != nil {
		return sc, fmt.Errorf("computing scope: %w", err)
	}
	if n == 0 {
		return sc, nil
	}
	rows, err := db.QueryContext(ctx, managerScopeSQL, p.EmployeeID)
	if err != nil {
		return sc, fmt.Errorf("computing scope of manager %s: %w", p.EmployeeID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, id string
		if err := rows.Scan(&kind, &id); err != nil {
			return sc, err
		}
		if kind == "t" {
			sc.teams[id] = true
		} else {
			sc.employees[id] = true
		}
	}
	return sc, rows.Err()
}
