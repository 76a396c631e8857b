// Package alert evaluates the alert rules of metrics.md and keeps their
// lifecycle. A rule is a SQL model, sql/alerts/<rule>.sql, that the
// transform runner builds in every run; after the run, the Evaluator turns
// the rule's rows (the subjects it fires for now) into alerts in
// ops.alerts:
//
//	new row ──► pending (while the rule's `for` holds it) ──► firing ──► resolved
//	                 └─ condition gone: forgotten
//
// A key (rule/subject_type:subject_id[/window]) that fires again after it
// resolved opens a new episode. Each change of state queues its
// notifications (ops.alert_notifications) in the same transaction, so a
// restart neither loses nor repeats them; package notify delivers them.
// Silences (ops.silences) hold delivery back, not evaluation.
package alert

import (
	"encoding/json"
	"time"
)

// States of an alert.
const (
	StatePending  = "pending"
	StateFiring   = "firing"
	StateResolved = "resolved"
)

// Notification kinds: an alert's firing and its resolution.
const (
	KindFiring   = "firing"
	KindResolved = "resolved"
)

// Languages of summaries.
const (
	LangEN = "en"
	LangZH = "zh-CN"
)

// Alert is one episode of an alert, as ops.alerts holds it.
type Alert struct {
	Key         string          `json:"key"`
	Episode     int             `json:"episode"`
	Rule        string          `json:"rule"`
	Severity    string          `json:"severity"`
	SubjectType string          `json:"subject_type"`
	Subject     string          `json:"subject"`
	SubjectName string          `json:"subject_name"`
	Window      string          `json:"window"`
	EmployeeID  string          `json:"employee_id,omitempty"`
	TeamID      string          `json:"team_id,omitempty"`
	State       string          `json:"state"`
	Value       *float64        `json:"value"`
	Threshold   *float64        `json:"threshold"`
	Summary     string          `json:"summary"`
	SummaryEN   string          `json:"summary_en"`
	SummaryZH   string          `json:"summary_zh"`
	Details     json.RawMessage `json:"details,omitempty"`
	FirstSeen   time.Time       `json:"first_seen"`
	FiredAt     *time.Time      `json:"fired_at"`
	LastSeen    time.Time       `json:"last_seen"`
	ResolvedAt  *time.Time      `json:"resolved_at"`
	// SilencedBy is the silence that holds its notifications back now.
	SilencedBy *int64 `json:"silenced_by"`
}

// SummaryIn is the summary in lang (en or zh-CN); English otherwise.
func (a *Alert) SummaryIn(lang string) string {
	if lang == LangZH && a.SummaryZH != "" {
		return a.SummaryZH
	}
	return a.SummaryEN
}

// Target is one notification an alert's change of state calls for.
type Target struct {
	// Channel is the name of a configured channel.
	Channel string
	// Manager adds the subject's manager as a recipient.
	Manager bool
}

// Router decides who hears of an alert. Route is called inside the
// evaluator's transaction for every alert that fired or resolved in an
// evaluation; it must not touch the database and must be fast. A
// resolution is only routed to channels that want resolution notices.
type Router interface {
	Route(a *Alert, kind string) []Target
}
