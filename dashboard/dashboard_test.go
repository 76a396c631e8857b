package dashboard_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/pulsekpi/pulse/dashboard"
)

func mkdirTemp() (string, error) { return os.MkdirTemp("", "pulse-dashboard-test-") }

func TestMain(m *testing.M) {
	code := m.Run()
	if whDir != "" {
		os.RemoveAll(whDir)
	}
	os.Exit(code)
}

// The six dashboards of the issue are shipped, load, and every tile's SQL
// binds and runs against a warehouse with the columns its kind needs, for
// a viewer who sees everyone and for one who sees one employee.
func TestShippedDashboards(t *testing.T) {
	set, err := dashboard.Load("../dashboards")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range set.Dashboards {
		ids = append(ids, d.ID)
	}
	for _, want := range []string{"executive", "sales", "service", "data_quality", "my_scorecard", "alerts"} {
		if !slices.Contains(ids, want) {
			t.Errorf("dashboard %s not shipped (have %v)", want, ids)
		}
	}
	db := testWarehouse(t)
	ctx := context.Background()
	if err := set.Check(ctx, db); err != nil {
		t.Fatal(err)
	}
	// E0003 is a salesperson of team TM01 in the generated company
	restricted := dashboard.ViewerScope{EmployeeIDs: []string{"E0003"}, TeamIDs: []string{"TM01"}}
	for _, d := range set.Dashboards {
		for _, tile := range d.Tiles {
			t.Run(d.ID+"/"+tile.ID, func(t *testing.T) {
				for _, grain := range grainsOf(d) {
					for _, lang := range []string{"en", "zh-CN"} {
						q, err := tile.Render(dashboard.Values{Grain: grain, Period: genNow, Viewer: "E0003", Lang: lang}, genNow)
						if err != nil {
							t.Fatal(err)
						}
						all, err := q.Scoped(dashboard.ViewerScope{All: true})
						if err != nil {
							t.Fatal(err)
						}
						cols, n := runTile(t, db, all)
						for _, c := range dashboard.Required(tile.Kind) {
							if !slices.Contains(cols, c) {
								t.Errorf("%s: %s tile without column %s (%v)", grain, tile.Kind, c, cols)
							}
						}
						mine, err := q.Scoped(restricted)
						if tile.Scope.Mode == dashboard.ScopeCompany {
							if !errors.Is(err, dashboard.ErrOutOfScope) {
								t.Errorf("company tile for a restricted viewer: %v", err)
							}
							continue
						}
						if err != nil {
							t.Fatal(err)
						}
						_, m := runTile(t, db, mine)
						if m > n {
							t.Errorf("%s: the restricted viewer sees %d rows, everyone %d", grain, m, n)
						}
						if lang == "en" && grain == "month" {
							t.Logf("%s: %d rows, %d in E0003's scope; columns %v", grain, n, m, cols)
						}
					}
				}
			})
		}
	}
}

func grainsOf(d *dashboard.Dashboard) []string {
	if d.Filters.Grain == nil {
		return []string{"month"}
	}
	return d.Filters.Grain.Options
}

func runTile(t *testing.T, db *sql.DB, q dashboard.Query) ([]string, int) {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q.SQL, q.Args...)
	if err != nil {
		t.Fatalf("%s\n%s", err, q.SQL)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols, n
}

// The shipped figures and table columns that are KPIs say which, so the UI
// can link them to their drill-down.
func TestShippedKPIAnnotations(t *testing.T) {
	set, err := dashboard.Load("../dashboards")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range set.Dashboards {
		for _, tile := range d.Tiles {
			if tile.KPI != "" {
				got[d.ID+"/"+tile.ID] = tile.KPI
			}
			for _, c := range tile.Columns {
				if c.KPI != "" {
					got[d.ID+"/"+tile.ID+"."+c.Name] = c.KPI
				}
			}
		}
	}
	for where, kpi := range map[string]string{
		"executive/revenue":                         "revenue",
		"executive/win_rate":                        "win_rate",
		"executive/team_leaderboard.value":          "revenue",
		"sales/people.customer_coverage":            "customer_coverage",
		"service/first_response":                    "first_response_minutes",
		"service/agents.csat_avg":                   "csat_avg",
		"data_quality/login_gaps.missed_login_days": "missed_login_days",
	} {
		if got[where] != kpi {
			t.Errorf("%s: kpi %q, want %q", where, got[where], kpi)
		}
	}
	if _, ok := got["my_scorecard/score"]; ok {
		t.Error("a score is not a KPI")
	}
}
