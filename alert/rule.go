package alert

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pulsekpi/pulse/metric"
)

// Severities, mildest first.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Severities lists the severities a rule can have, mildest first.
func Severities() []string { return []string{SeverityInfo, SeverityWarning, SeverityCritical} }

// Rule is the configuration of one alert rule. The rule itself is the SQL
// model sql/alerts/<name>.sql; what it reads from here it reads through
// the macros of Statements, so a threshold is changed in the config file,
// never in the SQL.
type Rule struct {
	// Enabled rules are evaluated; a disabled rule's alerts resolve.
	Enabled bool
	// Severity is info, warning or critical; routes match on it.
	Severity string
	// For is how long the condition must hold before the alert fires
	// (pending until then), as Prometheus's for: it keeps a flapping
	// condition from notifying anyone.
	For time.Duration
	// Threshold is what pulse_alert_threshold('<rule>') returns.
	Threshold float64
	// Params are the rule's other numbers (pulse_alert_param) and lists
	// of names (pulse_alert_list).
	Params map[string]float64
	Lists  map[string][]string
}

// DefaultRules are the rules of metrics.md with its thresholds.
func DefaultRules() map[string]Rule {
	return map[string]Rule{
		"low_completeness": {Enabled: true, Severity: SeverityWarning, Threshold: 0.8,
			Params: map[string]float64{"min_customers": 5}},
		"login_gap": {Enabled: true, Severity: SeverityWarning, Threshold: 3,
			Lists: map[string][]string{"roles": {"sales", "service"}}},
		"sla_breach": {Enabled: true, Severity: SeverityCritical},
		"kpi_anomaly": {Enabled: true, Severity: SeverityWarning, Threshold: 3.5,
			Params: map[string]float64{"min_median": 5, "weeks": 8, "min_weeks": 4, "lookback_days": 7},
			Lists:  map[string][]string{"kpis": {"followups", "revenue", "tickets_assigned", "logins"}}},
		"backfilled_records": {Enabled: true, Severity: SeverityWarning, Threshold: 5,
			Params: map[string]float64{"delay_hours": 72, "lookback_days": 7}},
		"entry_burst": {Enabled: true, Severity: SeverityWarning, Threshold: 20,
			Params: map[string]float64{"window_minutes": 10, "lookback_days": 7}},
		"target_at_risk": {Enabled: true, Severity: SeverityWarning, Threshold: 0.7,
			Params: map[string]float64{"from_day": 15}},
	}
}

// DefaultRule is the configuration of a rule the config does not mention:
// a new SQL file works before anyone configures it.
func DefaultRule() Rule { return Rule{Enabled: true, Severity: SeverityWarning} }

// RuleNames are the rules of a model folder: the files alerts/*.sql.
func RuleNames(models fs.FS) ([]string, error) {
	files, err := fs.Glob(models, "alerts/*.sql")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(path.Base(f), ".sql")
	}
	sort.Strings(names)
	return names, nil
}

// reference is a macro call naming a rule setting, as found in a rule's SQL.
type reference struct {
	file, macro, rule, name string
	line                    int
}

var referenceRE = regexp.MustCompile(`pulse_alert_(threshold|param|list)\s*\(\s*'([^']*)'\s*(?:,\s*'([^']*)'\s*)?\)`)

// CheckRules checks the rule configuration against the rule files: every
// configured rule has a file, and every setting a file reads through the
// macros is configured, with the right kind. It returns rules with a
// default entry for each file the configuration does not mention.
func CheckRules(models fs.FS, rules map[string]Rule) (map[string]Rule, error) {
	names, err := RuleNames(models)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Rule, len(names))
	for name, r := range rules {
		if !slices.Contains(names, name) {
			return nil, fmt.Errorf("alert rule %s: no file sql/alerts/%s.sql", name, name)
		}
		out[name] = r
	}
	for _, name := range names {
		if _, ok := out[name]; !ok {
			out[name] = DefaultRule()
		}
	}
	for name, r := range out {
		if err := r.validate(name); err != nil {
			return nil, err
		}
	}
	for _, name := range names {
		file := "alerts/" + name + ".sql"
		body, err := fs.ReadFile(models, file)
		if err != nil {
			return nil, err
		}
		for _, ref := range references(file, string(body)) {
			r, ok := out[ref.rule]
			where := fmt.Sprintf("sql/%s:%d: pulse_alert_%s", ref.file, ref.line, ref.macro)
			if !ok {
				return nil, fmt.Errorf("%s: no alert rule %q", where, ref.rule)
			}
			switch ref.macro {
			case "param":
				if _, ok := r.Params[ref.name]; !ok {
					return nil, fmt.Errorf("%s: alerts.rules.%s.params.%s is not configured (a number)", where, ref.rule, ref.name)
				}
			case "list":
				if _, ok := r.Lists[ref.name]; !ok {
					return nil, fmt.Errorf("%s: alerts.rules.%s.params.%s is not configured (a list)", where, ref.rule, ref.name)
				}
			}
		}
	}
	return out, nil
}

func references(file, body string) []reference {
	var refs []reference
	for _, m := range referenceRE.FindAllStringSubmatchIndex(body, -1) {
		ref := reference{file: file, macro: body[m[2]:m[3]], rule: body[m[4]:m[5]],
			line: 1 + strings.Count(body[:m[0]], "\n")}
		if m[6] >= 0 {
			ref.name = body[m[6]:m[7]]
		}
		refs = append(refs, ref)
	}
	return refs
}

func (r Rule) validate(name string) error {
	if !metric.IsIdentifier(name) {
		return fmt.Errorf("alert rule %q: not a rule name (lower case, digits and _)", name)
	}
	if !slices.Contains(Severities(), r.Severity) {
		return fmt.Errorf("alerts.rules.%s.severity: %q is not one of %s", name, r.Severity, strings.Join(Severities(), ", "))
	}
	if r.For < 0 {
		return fmt.Errorf("alerts.rules.%s.for: must not be negative", name)
	}
	for p := range r.Params {
		if !metric.IsIdentifier(p) {
			return fmt.Errorf("alerts.rules.%s.params: %q is not a parameter name", name, p)
		}
		if _, both := r.Lists[p]; both {
			return fmt.Errorf("alerts.rules.%s.params.%s: both a number and a list", name, p)
		}
	}
	for p := range r.Lists {
		if !metric.IsIdentifier(p) {
			return fmt.Errorf("alerts.rules.%s.params: %q is not a parameter name", name, p)
		}
	}
	return nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Statements define the macros rules read their settings through:
// pulse_alert_threshold(rule), pulse_alert_param(rule, name) (DOUBLE) and
// pulse_alert_list(rule, name) (VARCHAR[]). Asking for a setting that is
// not configured is an error, not a NULL that would quietly never fire.
func Statements(rules map[string]Rule) []string {
	names := make([]string, 0, len(rules))
	for n := range rules {
		names = append(names, n)
	}
	sort.Strings(names)
	var th, num, list strings.Builder
	th.WriteString("CASE rule")
	num.WriteString("CASE rule || '.' || name")
	list.WriteString("CASE rule || '.' || name")
	for _, n := range names {
		r := rules[n]
		fmt.Fprintf(&th, " WHEN %s THEN %s::DOUBLE", quote(n), strconv.FormatFloat(r.Threshold, 'g', -1, 64))
		for _, p := range sortedKeys(r.Params) {
			fmt.Fprintf(&num, " WHEN %s THEN %s::DOUBLE", quote(n+"."+p), strconv.FormatFloat(r.Params[p], 'g', -1, 64))
		}
		for _, p := range sortedKeys(r.Lists) {
			items := make([]string, len(r.Lists[p]))
			for i, s := range r.Lists[p] {
				items[i] = quote(s)
			}
			fmt.Fprintf(&list, " WHEN %s THEN [%s]::VARCHAR[]", quote(n+"."+p), strings.Join(items, ", "))
		}
	}
	th.WriteString(" ELSE error('alert rule ' || rule || ' is not configured') END")
	num.WriteString(" ELSE error('alert parameter ' || rule || '.' || name || ' is not configured') END")
	list.WriteString(" ELSE error('alert parameter ' || rule || '.' || name || ' is not configured') END")
	return []string{
		"CREATE OR REPLACE MACRO pulse_alert_threshold(rule) AS " + th.String(),
		"CREATE OR REPLACE MACRO pulse_alert_param(rule, name) AS " + num.String(),
		"CREATE OR REPLACE MACRO pulse_alert_list(rule, name) AS " + list.String(),
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
