// Package event is the event contract of ../shared/spec/events.md in code:
// the known event types, their fields and types, and the decoder that
// validates a Kafka message against them. Everything else (the Arrow
// schemas of ingest, the raw tables of the warehouse) is derived from the
// tables here, so the contract is written down exactly once.
package event

import "strings"

// Kind is the type of a data field as events.md names it.
type Kind uint8

// The field kinds of events.md.
const (
	KindID     Kind = iota + 1 // string of 1–128 characters
	KindText                   // any string
	KindTime                   // RFC 3339 timestamp with offset
	KindDate                   // YYYY-MM-DD
	KindMonth                  // YYYY-MM, stored as the first day of the month
	KindMoney                  // number or numeric string, ≥ 0, at most 2 decimals
	KindBool                   // true or false
	KindInt                    // integer, bounded by Min/Max
	KindNumber                 // number ≥ 0
	KindEnum                   // string from Enum
)

// String names the kind as events.md does.
func (k Kind) String() string {
	switch k {
	case KindID:
		return "id"
	case KindText:
		return "text"
	case KindTime:
		return "ts"
	case KindDate:
		return "date"
	case KindMonth:
		return "month"
	case KindMoney:
		return "money"
	case KindBool:
		return "bool"
	case KindInt:
		return "integer"
	case KindNumber:
		return "number"
	case KindEnum:
		return "enum"
	}
	return "unknown"
}

// Field is one field of an event type's data object.
type Field struct {
	Name     string
	Kind     Kind
	Required bool
	Enum     []string // KindEnum only
	Min, Max int64    // KindInt only; Max 0 means unbounded
	// DefaultFalse stores false for an absent KindBool field, as events.md
	// asks for ticket.opened.is_complaint.
	DefaultFalse bool
}

// Type is one known event type.
type Type struct {
	Name   string // e.g. "followup.logged"
	Table  string // raw table name, e.g. "followup_logged"
	Fields []Field
}

func id(name string) Field      { return Field{Name: name, Kind: KindID, Required: true} }
func optID(name string) Field   { return Field{Name: name, Kind: KindID} }
func text(name string) Field    { return Field{Name: name, Kind: KindText, Required: true} }
func optText(name string) Field { return Field{Name: name, Kind: KindText} }
func money(name string) Field   { return Field{Name: name, Kind: KindMoney, Required: true} }
func enum(name string, values ...string) Field {
	return Field{Name: name, Kind: KindEnum, Required: true, Enum: values}
}
func optEnum(name string, values ...string) Field {
	return Field{Name: name, Kind: KindEnum, Enum: values}
}

var openStages = []string{"qualification", "needs_analysis", "proposal", "negotiation"}

// Types returns the known event types in the order of events.md. The
// returned slice is built on each call; callers index it once at start-up.
func Types() []Type {
	types := []Type{
		{Name: "employee.upserted", Fields: []Field{
			id("employee_id"), text("name"),
			enum("role", "sales", "service", "marketing", "manager", "executive"),
			id("team_id"), optText("team_name"), optID("manager_id"),
			{Name: "active", Kind: KindBool, Required: true},
			{Name: "hired_on", Kind: KindDate},
		}},
		{Name: "customer.upserted", Fields: []Field{
			id("customer_id"), text("name"), id("owner_id"),
			enum("stage", "lead", "prospect", "customer", "churned"),
			optText("phone"), optText("email"), optText("industry"),
			optText("region"), optText("source"), optText("needs"),
		}},
		{Name: "lead.created", Fields: []Field{
			id("lead_id"), id("customer_id"), id("owner_id"), text("source"), optText("campaign"),
		}},
		{Name: "followup.logged", Fields: []Field{
			id("followup_id"), id("customer_id"), id("employee_id"),
			enum("channel", "phone", "visit", "wechat", "email", "meeting", "other"),
			optID("opportunity_id"), optText("summary"),
			{Name: "duration_s", Kind: KindInt, Min: 0},
			{Name: "next_followup_at", Kind: KindTime},
		}},
		{Name: "opportunity.created", Fields: []Field{
			id("opportunity_id"), id("customer_id"), id("owner_id"), money("amount"),
			enum("stage", openStages...),
			{Name: "expected_close_on", Kind: KindDate},
		}},
		{Name: "opportunity.stage_changed", Fields: []Field{
			id("opportunity_id"),
			enum("to_stage", append(append([]string(nil), openStages...), "won", "lost")...),
			{Name: "amount", Kind: KindMoney}, optText("lost_reason"),
		}},
		{Name: "user.login", Fields: []Field{
			id("employee_id"), optEnum("client", "web", "mobile", "api"),
		}},
		{Name: "target.set", Fields: []Field{
			id("employee_id"),
			{Name: "month", Kind: KindMonth, Required: true},
			enum("metric", "revenue", "new_customers", "collections", "followups"),
			{Name: "value", Kind: KindNumber, Required: true},
		}},
		{Name: "contract.signed", Fields: []Field{
			id("contract_id"), id("customer_id"), id("owner_id"), money("amount"),
			optID("opportunity_id"), optEnum("kind", "new", "renewal", "upsell"),
		}},
		{Name: "invoice.issued", Fields: []Field{
			id("invoice_id"), id("contract_id"), money("amount"),
			{Name: "due_on", Kind: KindDate, Required: true},
		}},
		{Name: "payment.received", Fields: []Field{
			id("payment_id"), id("invoice_id"), id("contract_id"), money("amount"),
		}},
		{Name: "ticket.opened", Fields: []Field{
			id("ticket_id"), id("customer_id"),
			enum("priority", "low", "normal", "high", "urgent"),
			optID("assignee_id"), optText("channel"), optText("category"),
			{Name: "is_complaint", Kind: KindBool, DefaultFalse: true},
		}},
		{Name: "ticket.assigned", Fields: []Field{id("ticket_id"), id("assignee_id")}},
		{Name: "ticket.responded", Fields: []Field{id("ticket_id"), id("employee_id")}},
		{Name: "ticket.resolved", Fields: []Field{id("ticket_id"), id("employee_id")}},
		{Name: "ticket.reopened", Fields: []Field{id("ticket_id")}},
		{Name: "csat.submitted", Fields: []Field{
			id("ticket_id"),
			{Name: "score", Kind: KindInt, Required: true, Min: 1, Max: 5},
			optText("comment"),
		}},
	}
	for i := range types {
		types[i].Table = strings.ReplaceAll(types[i].Name, ".", "_")
	}
	return types
}
