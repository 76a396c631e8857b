package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const examplePath = "../pulse.example.yaml"

// The example file documents every setting at its default value: loading
// it must give Default(), and it must name every setting, each with a
// comment that gives its environment variable. A setting added to Config
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
	comments := map[string]string{}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.MappingNode {
				walk(prefix+k.Value+".", v)
				continue
			}
			comments[prefix+k.Value] = k.HeadComment
		}
	}
	walk("", doc.Content[0])

	code := fields(new(Config))
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
		if c == "" {
			t.Errorf("%s has no comment above it", p)
		} else if !strings.Contains(c, EnvName(p)) {
			t.Errorf("the comment of %s does not give %s: %q", p, EnvName(p), c)
		}
	}
	if !strings.Contains(string(src), "PULSE_ADMIN_TOKEN") {
		t.Error("the example does not mention PULSE_ADMIN_TOKEN")
	}
}
