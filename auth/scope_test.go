package auth_test

import (
	"context"
	"database/sql"
	"reflect"
	"testing"

	"github.com/pulsekpi/pulse/auth"
)

// hierarchy: CEO X leads M1 (team T1) and M3 (team T3). M1's team T1: E1,
// E2, and E5 (inactive). E2 manages M2, who leads T2: M2, E3, E4. M3 leads
// T3: E6, E7.
func hierarchy(t *testing.T, db *sql.DB) {
	t.Helper()
	if _, err := db.Exec(`CREATE TABLE staging.employees AS SELECT * FROM (VALUES
		('X',  'Ceo',  'executive', NULL, NULL, NULL, true),
		('M1', 'Mona', 'manager', 'T1', 'Team 1', 'X',  true),
		('E1', 'Eve',  'sales',   'T1', 'Team 1', 'M1', true),
		('E2', 'Ed',   'sales',   'T1', 'Team 1', 'M1', true),
		('E5', 'Old',  'sales',   'T1', 'Team 1', 'M1', false),
		('M2', 'Max',  'manager', 'T2', 'Team 2', 'E2', true),
		('E3', 'Ann',  'service', 'T2', 'Team 2', 'M2', true),
		('E4', 'Bo',   'service', 'T2', 'Team 2', 'M2', true),
		('M3', 'Mia',  'manager', 'T3', 'Team 3', 'X',  true),
		('E6', 'Cy',   'sales',   'T3', 'Team 3', 'M3', true),
		('E7', 'Di',   'sales',   'T3', 'Team 3', 'M3', true)
	) AS t(employee_id, name, role, team_id, team_name, manager_id, active)`); err != nil {
		t.Fatal(err)
	}
}

func TestScope(t *testing.T) {
	ctx := context.Background()
	st, db := newStore(t, auth.StoreOptions{})
	m1 := auth.Principal{Login: "m1", Role: auth.RoleManager, EmployeeID: "M1"}
	m2 := auth.Principal{Login: "m2", Role: auth.RoleManager, EmployeeID: "M2"}
	e3 := auth.Principal{Login: "e3", Role: auth.RoleEmployee, EmployeeID: "E3"}

	// Before the first transform run there is no staging.employees.
	sc, err := st.Scope(ctx, m1)
	if err != nil || sc.All || !reflect.DeepEqual(sc.EmployeeIDs(), []string{"M1"}) || len(sc.TeamIDs()) != 0 {
		t.Errorf("manager without staging.employees: %v %v %v", sc.EmployeeIDs(), sc.TeamIDs(), err)
	}

	hierarchy(t, db)
	cases := []struct {
		p     auth.Principal
		emps  []string
		teams []string
	}{
		{m1, []string{"E1", "E2", "E3", "E4", "E5", "M1", "M2"}, []string{"T1", "T2"}},
		{m2, []string{"E3", "E4", "M2"}, []string{"T2"}},
		{e3, []string{"E3"}, []string{}},
		{auth.Principal{Role: auth.RoleManager, EmployeeID: "X"}, []string{"E1", "E2", "E3", "E4", "E5", "E6", "E7", "M1", "M2", "M3", "X"}, []string{"T1", "T2", "T3"}},
		{auth.Principal{Role: auth.RoleManager, EmployeeID: "NOBODY"}, []string{"NOBODY"}, []string{}},
	}
	for _, c := range cases {
		sc, err := st.Scope(ctx, c.p)
		if err != nil {
			t.Fatal(err)
		}
		if sc.All || !reflect.DeepEqual(sc.EmployeeIDs(), c.emps) || !reflect.DeepEqual(sc.TeamIDs(), c.teams) {
			t.Errorf("%s %s: sees %v in %v, want %v in %v", c.p.Role, c.p.EmployeeID, sc.EmployeeIDs(), sc.TeamIDs(), c.emps, c.teams)
		}
		if sc.CanQuerySQL() {
			t.Errorf("%s may run SQL", c.p.Role)
		}
	}
	sc, _ = st.Scope(ctx, m2)
	if !sc.CanSeeTeam("T2") || sc.CanSeeTeam("T1") || sc.CanSeeEmployee("E1") || !sc.CanSeeEmployee("E4") {
		t.Error("M2's helpers disagree with the lists")
	}
	sc, _ = st.Scope(ctx, e3)
	if sc.CanSeeTeam("T2") || sc.CanSeeEmployee("E4") || !sc.CanSeeEmployee("E3") {
		t.Error("an employee sees more than themself")
	}
	for _, r := range []auth.Role{auth.RoleAdmin, auth.RoleExecutive, auth.RoleAnalyst} {
		sc, err := st.Scope(ctx, auth.Principal{Role: r})
		if err != nil || !sc.All || !sc.CanSeeEmployee("E7") || !sc.CanSeeTeam("T3") {
			t.Errorf("%s does not see everything: %v", r, err)
		}
		if sc.CanQuerySQL() != (r != auth.RoleExecutive) {
			t.Errorf("%s: CanQuerySQL %v", r, sc.CanQuerySQL())
		}
	}

	// A cycle in manager_id does not loop.
	if _, err := db.Exec(`UPDATE staging.employees SET manager_id = 'E4' WHERE employee_id = 'M1'`); err != nil {
		t.Fatal(err)
	}
	if sc, err := st.Scope(ctx, m2); err != nil || !sc.CanSeeTeam("T1") {
		t.Errorf("with a cycle: %v %v", sc.TeamIDs(), err)
	}
}
