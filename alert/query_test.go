package alert_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/alert"
)

// A restricted viewer's alerts are chosen before the limit: their one
// alert among many newer ones of others is still the one they get.
func TestListVisibleBeforeLimit(t *testing.T) {
	w := openWarehouse(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	insert := func(key, employee, team string, seen time.Time) {
		t.Helper()
		var emp, tm any
		if employee != "" {
			emp = employee
		}
		if team != "" {
			tm = team
		}
		_, err := w.DB().ExecContext(ctx, `INSERT INTO ops.alerts (alert_key, episode, rule, severity, subject_type,
			subject_id, alert_window, employee_id, team_id, state, active_since, last_seen)
			VALUES (?, 1, 'login_gap', 'warning', 'employee', ?, 'w', ?, ?, 'firing', ?, ?)`,
			key, key, emp, tm, seen, seen)
		if err != nil {
			t.Fatal(err)
		}
	}
	insert("mine", "E1", "T1", base)
	insert("team-wide", "", "T1", base.Add(-time.Hour))
	insert("company", "", "", base.Add(-2*time.Hour))
	for i := range 20 {
		insert(fmt.Sprintf("other%02d", i), "E9", "T2", base.Add(time.Duration(i+1)*time.Minute))
	}

	cases := []struct {
		name string
		f    alert.Filter
		want []string
	}{
		{"employee, limit 1", alert.Filter{Limit: 1, Visible: &alert.Visible{EmployeeIDs: []string{"E1"}}}, []string{"mine"}},
		{"manager of T1", alert.Filter{Visible: &alert.Visible{EmployeeIDs: []string{"E1"}, TeamIDs: []string{"T1"}}}, []string{"mine", "team-wide"}},
		{"nothing in scope", alert.Filter{Visible: &alert.Visible{}}, nil},
		{"everyone, limit 2", alert.Filter{Limit: 2}, []string{"other19", "other18"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			list, err := alert.List(ctx, w.DB(), c.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range list {
				got = append(got, a.Key)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}
