package notify

import (
	"fmt"
	"slices"

	"github.com/pulsekpi/pulse/alert"
)

// Route sends the alerts it matches to its channels. An empty matcher
// matches everything; an alert goes to every route it matches (not only
// the first), each channel at most once.
type Route struct {
	Channels   []string
	Rules      []string
	Severities []string
	// Teams match the alert's team (an employee's team, the team itself).
	Teams []string
	// Manager adds the subject's manager as a recipient: their email on an
	// email channel, an @ of their mobile on DingTalk and WeCom.
	Manager bool
}

// Destination is a configured channel and what it receives.
type Destination struct {
	Channel Channel
	// SendResolved: send a notice when an alert it was told of resolves.
	SendResolved bool
}

// Router implements alert.Router over the configured routes.
type Router struct {
	routes   []Route
	resolved map[string]bool
}

// NewRouter checks that every route names known channels, rules and
// severities.
func NewRouter(routes []Route, dests []Destination, rules []string) (*Router, error) {
	r := &Router{routes: routes, resolved: map[string]bool{}}
	for _, d := range dests {
		r.resolved[d.Channel.Name()] = d.SendResolved
	}
	for i, rt := range routes {
		where := fmt.Sprintf("alerts.routes[%d]", i)
		if len(rt.Channels) == 0 {
			return nil, fmt.Errorf("%s.channels: a route needs at least one channel", where)
		}
		for j, c := range rt.Channels {
			if _, ok := r.resolved[c]; !ok {
				return nil, fmt.Errorf("%s.channels[%d]: no channel %q under alerts.channels", where, j, c)
			}
		}
		for j, ru := range rt.Rules {
			if !slices.Contains(rules, ru) {
				return nil, fmt.Errorf("%s.rules[%d]: no rule %q (rules: %v)", where, j, ru, rules)
			}
		}
		for j, s := range rt.Severities {
			if !slices.Contains(alert.Severities(), s) {
				return nil, fmt.Errorf("%s.severities[%d]: %q is not one of %v", where, j, s, alert.Severities())
			}
		}
	}
	return r, nil
}

// Route lists the channels an alert's firing or resolution goes to.
func (r *Router) Route(a *alert.Alert, kind string) []alert.Target {
	var out []alert.Target
	index := map[string]int{}
	for _, rt := range r.routes {
		if !matches(rt.Rules, a.Rule) || !matches(rt.Severities, a.Severity) || !matches(rt.Teams, a.TeamID) {
			continue
		}
		for _, c := range rt.Channels {
			if kind == alert.KindResolved && !r.resolved[c] {
				continue
			}
			if i, ok := index[c]; ok {
				out[i].Manager = out[i].Manager || rt.Manager
				continue
			}
			index[c] = len(out)
			out = append(out, alert.Target{Channel: c, Manager: rt.Manager})
		}
	}
	return out
}

func matches(set []string, v string) bool { return len(set) == 0 || slices.Contains(set, v) }
