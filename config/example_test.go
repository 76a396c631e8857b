package config

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const examplePath = "../pulse.example.yaml"

// fileOnlyPaths are the settings without a text form, so without an
// environment variable or a flag: their comment says "Set in a file only"
// instead of naming a variable. A new map or list of sections must be
// added here on purpose.
var fileOnlyPaths = []string{"alerts.channels", "alerts.contacts", "alerts.routes", "alerts.rules", "kpis.sla_minutes", "scorecards.roles"}

// The example file documents every setting at its default value: loading
// it must give Default(), and it must name every setting, each with a
// comment that gives its environment variable (or says it is file only). A setting added to Config
// (or a default changed) without the example fails here.
func TestExampleIsDefault(t *testing.T) {
	cfg, err := Load(examplePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	if reflect.DeepEqual(cfg, want) {
		return
	}
	got, def := fields(&cfg), fields(&want)
	for p := range def {
		if g, w := got[p].Interface(), def[p].Interface(); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: the example says %v, the default is %v", p, g, w)
		}
	}
	if cfg.AdminToken != want.AdminToken {
		t.Errorf("AdminToken %q", cfg.AdminToken)
	}
}

func TestExampleNamesEverySetting(t *testing.T) {
	src, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	// The leaf settings of the file, with the comment above each.
	// A setting whose value is a map (kpis.sla_minutes) is a leaf, not
	// a section.
	code := fields(new(Config))
	comments := map[string]string{}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if _, leaf := code[prefix+k.Value]; !leaf && v.Kind == yaml.MappingNode {
				walk(prefix+k.Value+".", v)
				continue
			}
			comments[prefix+k.Value] = k.HeadComment
		}
	}
	walk("", doc.Content[0])

	var inCode []string
	for p := range code {
		inCode = append(inCode, p)
		if _, ok := comments[p]; !ok {
			t.Errorf("%s is missing from %s", p, examplePath)
		}
	}
	for p := range comments {
		if _, ok := code[p]; !ok {
			t.Errorf("%s in %s is not a setting of config.Config", p, examplePath)
		}
	}
	slices.Sort(inCode)
	for _, p := range inCode {
		c, ok := comments[p]
		if !ok {
			continue
		}
		switch {
		case c == "":
			t.Errorf("%s has no comment above it", p)
		case slices.Contains(fileOnlyPaths, p):
			if !strings.Contains(c, "Set in a file only") || strings.Contains(c, EnvName(p)) {
				t.Errorf("the comment of %s does not say it is set in a file only: %q", p, c)
			}
		case !strings.Contains(c, EnvName(p)):
			t.Errorf("the comment of %s does not give %s: %q", p, EnvName(p), c)
		}
	}
	if !strings.Contains(string(src), "PULSE_ADMIN_TOKEN") {
		t.Error("the example does not mention PULSE_ADMIN_TOKEN")
	}
}

// Exactly the settings of fileOnlyPaths refuse a text form: every other
// setting takes a variable and a flag.
func TestFileOnlySettings(t *testing.T) {
	var got []string
	for p, fv := range fields(new(Config)) {
		if fileOnly(fv) {
			got = append(got, p)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, fileOnlyPaths) {
		t.Errorf("file-only settings are %v, the test exempts %v", got, fileOnlyPaths)
	}
	for _, p := range fileOnlyPaths {
		cfg := Default()
		if err := cfg.Set(p, "x"); err == nil || !strings.Contains(err.Error(), "config file only") {
			t.Errorf("Set(%q) = %v, want a file-only error", p, err)
		}
		_, err := Load("", []string{EnvName(p) + "=x"})
		var ce *Error
		if !errors.As(err, &ce) || ce.Source != "environment" || ce.Field != EnvName(p) || !strings.Contains(ce.Msg, "config file only") {
			t.Errorf("%s=x: %v, want a file-only error", EnvName(p), err)
		}
	}
}
