package dashboard_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulsekpi/pulse/dashboard"
)

// Every bad file under testdata/ is refused with its file, line and field.
func TestBadFiles(t *testing.T) {
	cases := []struct {
		dir   string
		check bool // the problem shows only against a warehouse
		want  string
	}{
		{"unknown_key", false, `dashboards/bad.yaml:10: tiles[0].colour: unknown key`},
		{"bad_kind", false, `dashboards/bad.yaml:8: tiles[0].kind: "pie" is not one of figure, line, bar, funnel, table, leaderboard, heatmap`},
		{"missing_title", false, `dashboards/bad.yaml:6: tiles[0].title: missing`},
		{"bad_sql", false, `dashboards/bad.yaml:13: tiles[0].sql: does not parse: syntax error at or near "WHERE"`},
		{"unknown_param", false, `dashboards/bad.yaml:12: tiles[0].sql: $region is not a parameter`},
		{"bad_kpi", false, `dashboards/bad.yaml:9: tiles[0].kpi: "turnover" is not a KPI of metrics.md`},
		{"bad_kpi_kind", false, `dashboards/bad.yaml:9: tiles[0].kpi: only figure tiles show one KPI (kind is "line")`},
		{"bad_better", false, `dashboards/bad.yaml:9: tiles[0].better: "up" is neither higher nor lower`},
		{"bad_kpi_column", false, `dashboards/bad.yaml:13: tiles[0].columns: a column with a kpi needs an employee_id or team_id column`},
		{"missing_column", true, `dashboards/bad.yaml:12: tiles[0].sql: a figure tile needs the columns value; the query gives amount (missing value)`},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			set, err := dashboard.LoadFS(os.DirFS(filepath.Join("testdata", c.dir)), "dashboards")
			if c.check {
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				err = set.Check(context.Background(), testWarehouse(t))
			}
			if err == nil {
				t.Fatalf("no error, want %s", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error\n  %v\nwant it to contain\n  %s", err, c.want)
			}
			t.Log(err)
		})
	}
}
