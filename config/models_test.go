package config

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestEmployeeRoles(t *testing.T) {
	if got, want := EmployeeRoles(), []string{"sales", "service", "marketing", "manager", "executive"}; !slices.Equal(got, want) {
		t.Errorf("EmployeeRoles() = %v, want %v", got, want)
	}
}

// A file that gives roles replaces the default map; one that does not
// keeps it. Sections around it keep their other defaults.
func TestRolesReplaceDefaults(t *testing.T) {
	cfg, err := Load(writeFile(t, `scorecards:
  roles:
    marketing:
      - {kpi: new_customers, weight: 1, target: from_targets}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Scorecards.Roles = map[string][]ScoreLine{
		"marketing": {{KPI: "new_customers", Weight: 1, Target: ScoreTarget{FromTargets: true}, Direction: "higher"}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg.Scorecards, want.Scorecards)
	}

	for _, src := range []string{"scorecards:\n  roles: {}\n", "scorecards:\n  roles:\n"} {
		cfg, err := Load(writeFile(t, src), nil)
		if err != nil || cfg.Scorecards.Roles != nil || cfg.Scorecards.Cap != 1.2 {
			t.Errorf("%q: %v, %+v; want no scorecards", src, err, cfg.Scorecards)
		}
	}
	cfg, err = Load(writeFile(t, "scorecards:\n  cap: 2\n"), nil)
	if err != nil || !reflect.DeepEqual(cfg.Scorecards.Roles, Default().Scorecards.Roles) {
		t.Errorf("cap only: %v, roles %+v", err, cfg.Scorecards.Roles)
	}
}

// Null and empty lists are empty; a null section keeps its defaults.
func TestEmptyLists(t *testing.T) {
	for _, src := range []string{
		"calendar:\n  holidays:\n  makeup_days: []\n",
		"calendar:\n",
		"calendar: {}\n",
		"calendar:\n  holidays: [ ]\n",
	} {
		cfg, err := Load(writeFile(t, src), nil)
		if err != nil || cfg.Calendar.Holidays != nil || cfg.Calendar.MakeupDays != nil {
			t.Errorf("%q: %v, %#v", src, err, cfg.Calendar)
		}
	}
}

func TestScoreTarget(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want ScoreTarget
	}{
		{"20", ScoreTarget{Value: 20}},
		{"0.85", ScoreTarget{Value: 0.85}},
		{"1e3", ScoreTarget{Value: 1000}},
		{"0x10", ScoreTarget{Value: 16}},
		{"from_targets", ScoreTarget{FromTargets: true}},
		{`"from_targets"`, ScoreTarget{FromTargets: true}},
	} {
		var got ScoreTarget
		if err := yaml.Unmarshal([]byte(tt.src), &got); err != nil || got != tt.want {
			t.Errorf("%s: %+v, %v, want %+v", tt.src, got, err, tt.want)
		}
	}
	for _, src := range []string{"twenty", `"20"`, "true", "[1]", "{a: 1}", "from-targets", "From_Targets"} {
		var got ScoreTarget
		if err := yaml.Unmarshal([]byte(src), &got); err == nil || !strings.Contains(err.Error(), "must be a number or from_targets") {
			t.Errorf("%s: %+v, %v, want an error", src, got, err)
		}
	}
	if s := (ScoreTarget{FromTargets: true}).String(); s != "from_targets" {
		t.Errorf("String() = %q", s)
	}
	if s := (ScoreTarget{Value: 0.9}).String(); s != "0.9" {
		t.Errorf("String() = %q", s)
	}
}

// Every bad value is reported, each at its own line and path, even when
// a line holds several settings in flow style.
func TestScorecardErrorsAll(t *testing.T) {
	path := writeFile(t, `scorecards:
  cap: .nan
  roles:
    service:
      - {kpi: csat_avg, weight: 30, target: 4.5}
      - {kpi: nope, weight: 0, target: -1, direction: sideways}
      - kpi: resolution_rate
        weight: .inf
        target: from_targets
`)
	_, err := Load(path, nil)
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Load = %T %v, want several errors", err, err)
	}
	var got []string
	for _, e := range joined.Unwrap() {
		ce := e.(*Error)
		got = append(got, ce.Field+":"+strconv.Itoa(ce.Line))
	}
	want := []string{
		"scorecards.cap:2",
		"scorecards.roles.service[1].kpi:6",
		"scorecards.roles.service[1].weight:6",
		"scorecards.roles.service[1].target:6",
		"scorecards.roles.service[1].direction:6",
		"scorecards.roles.service[2].weight:8",
		"scorecards.roles.service[2].target:9",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// Anchors and aliases work like any YAML: a role can share another's lines.
func TestAliases(t *testing.T) {
	cfg, err := Load(writeFile(t, `x-line: &visits {kpi: visits, weight: 1, target: 20}
`), nil)
	var ce *Error
	if !errors.As(err, &ce) || ce.Field != "x-line" || ce.Line != 1 {
		t.Errorf("unknown top-level key holding an anchor: %v", err)
	}
	cfg, err = Load(writeFile(t, `scorecards:
  roles:
    sales: [&visits {kpi: visits, weight: 1, target: 20}]
    manager: [*visits, {kpi: revenue, weight: 1, target: from_targets}]
    executive: &exec
      - {kpi: revenue, weight: 1, target: 5}
    marketing: *exec
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	visits := ScoreLine{KPI: "visits", Weight: 1, Target: ScoreTarget{Value: 20}, Direction: "higher"}
	revenue := ScoreLine{KPI: "revenue", Weight: 1, Target: ScoreTarget{FromTargets: true}, Direction: "higher"}
	exec := ScoreLine{KPI: "revenue", Weight: 1, Target: ScoreTarget{Value: 5}, Direction: "higher"}
	want := map[string][]ScoreLine{
		"sales": {visits}, "manager": {visits, revenue}, "executive": {exec}, "marketing": {exec},
	}
	if !reflect.DeepEqual(cfg.Scorecards.Roles, want) {
		t.Errorf("got %+v", cfg.Scorecards.Roles)
	}
	// Decoded lists are not shared.
	cfg.Scorecards.Roles["executive"][0].Weight = 9
	if cfg.Scorecards.Roles["marketing"][0].Weight != 1 {
		t.Error("an alias shares its list")
	}
}

func TestLineOf(t *testing.T) {
	src := `transform:
  interval: 5s
  max_idle:
    1m
calendar:
  holidays:
    - 2025-10-01
    - 2025-10-02
scorecards:
  roles:
    sales:
      - {kpi: visits, weight: 20}
      - kpi: revenue

        target: from_targets
`
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	for path, want := range map[string]int{
		"transform":                        1,
		"transform.interval":               2,
		"transform.max_idle":               4, // the value's line
		"transform.concurrency":            0, // not in the file
		"calendar.holidays":                6, // a list: the key's line
		"calendar.holidays[1]":             8,
		"calendar.holidays[2]":             0,
		"calendar.makeup_days[0]":          0,
		"scorecards.roles.sales":           11,
		"scorecards.roles.sales[0]":        12,
		"scorecards.roles.sales[0].weight": 12,
		"scorecards.roles.sales[0].target": 12, // missing: the item's line
		"scorecards.roles.sales[1].target": 15,
		"scorecards.roles.sales[1].weight": 13,
		"scorecards.roles.service[0].kpi":  0,
		"scorecards.roles.sales.kpi":       0,
		"transform.interval[0]":            0,
	} {
		if got := lineOf(root, path); got != want {
			t.Errorf("lineOf(%q) = %d, want %d", path, got, want)
		}
	}
	if got := lineOf(nil, "transform.interval"); got != 0 {
		t.Errorf("lineOf(nil) = %d", got)
	}
}
