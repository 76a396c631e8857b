package main

import (
	"reflect"
	"testing"

	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/transform"
)

// The defaults of config and of transform say the same thing.
func TestTransformParamsDefault(t *testing.T) {
	got := transformParams(config.Default())
	if want := transform.DefaultParams(); !reflect.DeepEqual(got, want) {
		t.Errorf("transformParams(config.Default()) =\n%+v\nwant transform.DefaultParams() =\n%+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
}

func TestTransformParams(t *testing.T) {
	cfg := config.Default()
	cfg.Timezone = "Asia/Shanghai"
	cfg.Calendar = config.Calendar{Holidays: []string{"2025-10-01"}, MakeupDays: []string{"2025-09-28"}}
	cfg.KPIs.SLAMinutes["urgent"] = 30
	cfg.KPIs.ProfileFields = []string{"phone", "wechat_id"}
	cfg.Scorecards.Cap = 1.5
	cfg.Scorecards.Roles = map[string][]config.ScoreLine{
		"manager": {
			{KPI: "revenue", Weight: 2, Target: config.ScoreTarget{FromTargets: true}, Direction: "higher"},
			{KPI: "first_response_minutes", Weight: 1, Target: config.ScoreTarget{Value: 30}, Direction: "lower"},
		},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	got := transformParams(cfg)
	want := transform.Params{
		Timezone:      "Asia/Shanghai",
		Holidays:      []string{"2025-10-01"},
		MakeupDays:    []string{"2025-09-28"},
		SLAMinutes:    map[string]int{"urgent": 30, "high": 240, "normal": 480, "low": 1440},
		ProfileFields: []string{"phone", "wechat_id"},
		Scorecards: map[string][]transform.ScoreKPI{"manager": {
			{KPI: "revenue", Weight: 2, FromTargets: true, Direction: "higher"},
			{KPI: "first_response_minutes", Weight: 1, Target: 30, Direction: "lower"},
		}},
		ScoreCap: 1.5,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
	// The params are copies.
	got.SLAMinutes["urgent"] = 1
	got.ProfileFields[0] = "x"
	if cfg.KPIs.SLAMinutes["urgent"] != 30 || cfg.KPIs.ProfileFields[0] != "phone" {
		t.Error("transformParams shares maps or slices with the config")
	}
}
