package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Credential is a demo user's sign-in, to print once.
type Credential struct {
	Login      string
	Password   string
	Role       Role
	EmployeeID string
}

// DemoUsers makes one user per role for the demo, with new random
// passwords: admin, executive, analyst, manager (linked to an employee
// who manages someone, from staging.employees, else from the raw employee
// events, else a made-up id) and employee (one of that manager's reports
// when known). A demo restarted on the same data keeps its users and gets
// new passwords. db is the warehouse's database.
func DemoUsers(ctx context.Context, store *Store, db *sql.DB) ([]Credential, error) {
	mgr, emp, err := demoPeople(ctx, db)
	if err != nil {
		return nil, err
	}
	want := []User{
		{Login: "admin", DisplayName: "Demo admin", Role: RoleAdmin},
		{Login: "executive", DisplayName: "Demo executive", Role: RoleExecutive},
		{Login: "analyst", DisplayName: "Demo analyst", Role: RoleAnalyst},
		{Login: "manager", DisplayName: "Demo manager (" + mgr + ")", Role: RoleManager, EmployeeID: mgr},
		{Login: "employee", DisplayName: "Demo employee (" + emp + ")", Role: RoleEmployee, EmployeeID: emp},
	}
	var out []Credential
	for _, u := range want {
		u.Password = RandomPassword()
		cred := Credential{Login: u.Login, Password: u.Password, Role: u.Role, EmployeeID: u.EmployeeID}
		_, err := store.AddUser(ctx, u)
		if errors.Is(err, ErrExists) {
			err = store.SetPassword(ctx, u.Login, u.Password)
			if have, gerr := store.GetUser(ctx, u.Login); gerr == nil {
				cred.Role, cred.EmployeeID = have.Role, have.EmployeeID
			}
		}
		if err != nil {
			return nil, fmt.Errorf("demo user %s: %w", u.Login, err)
		}
		out = append(out, cred)
	}
	return out, nil
}

// demoPeople picks a manager who manages someone, and one of their
// reports.
func demoPeople(ctx context.Context, db *sql.DB) (mgr, emp string, err error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables
		WHERE table_schema = 'staging' AND table_name = 'employees'`).Scan(&n); err != nil {
		return "", "", err
	}
	source := `(SELECT employee_id, manager_id, role, active FROM raw.employee_upserted
		QUALIFY row_number() OVER (PARTITION BY employee_id ORDER BY occurred_at DESC, recorded_at DESC) = 1)`
	if n > 0 {
		source = `staging.employees`
	}
	// The manager with the most active reports who are not managers
	// themselves; ties by id, for a stable choice.
	err = db.QueryRowContext(ctx, `SELECT manager_id, min(employee_id) FROM `+source+`
		WHERE manager_id IS NOT NULL AND active AND role <> 'manager' AND role <> 'executive'
		GROUP BY manager_id ORDER BY count(*) DESC, manager_id LIMIT 1`).Scan(&mgr, &emp)
	if errors.Is(err, sql.ErrNoRows) {
		return "DEMO-M1", "DEMO-E1", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("choosing demo manager: %w", err)
	}
	return mgr, emp, nil
}
