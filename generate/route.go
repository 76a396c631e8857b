package generate

import (
	"errors"
	"fmt"

	"github.com/valyala/fastjson"
)

var routeParsers fastjson.ParserPool

// routeKey is the data field that keys a known event type, and its topic.
var routeTable = map[string]struct {
	topic uint8 // 0 CRM, 1 finance, 2 ticket
	key   string
}{
	"employee.upserted":         {0, "employee_id"},
	"customer.upserted":         {0, "customer_id"},
	"lead.created":              {0, "customer_id"},
	"followup.logged":           {0, "customer_id"},
	"opportunity.created":       {0, "opportunity_id"},
	"opportunity.stage_changed": {0, "opportunity_id"},
	"user.login":                {0, "employee_id"},
	"target.set":                {0, "employee_id"},
	"contract.signed":           {1, "contract_id"},
	"invoice.issued":            {1, "contract_id"},
	"payment.received":          {1, "contract_id"},
	"ticket.opened":             {2, "ticket_id"},
	"ticket.assigned":           {2, "ticket_id"},
	"ticket.responded":          {2, "ticket_id"},
	"ticket.resolved":           {2, "ticket_id"},
	"ticket.reopened":           {2, "ticket_id"},
	"csat.submitted":            {2, "ticket_id"},
}

// Route works out the topic and key of a JSON event read from a file, the
// way the generator itself sends it: the topic by event_type per events.md
// (unknown types go to the CRM topic), the key the entity id of the type
// (customer_id, employee_id or opportunity_id for CRM events, contract_id for
// finance, ticket_id for tickets; for unknown types employee_id or else
// customer_id when data has one). A key field that is missing or not a
// string gives a nil key: the event still goes on, to be refused or kept
// downstream. Route fails only for a value that is not a JSON object with a
// string event_type. Empty topic names get the defaults.
func Route(value []byte, topics Topics) (topic string, key []byte, err error) {
	topics = topics.withDefaults()
	p := routeParsers.Get()
	defer routeParsers.Put(p)
	v, err := p.ParseBytes(value)
	if err != nil {
		return "", nil, fmt.Errorf("route: not valid JSON: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return "", nil, fmt.Errorf("route: message is a JSON %s, not an object", v.Type())
	}
	et := v.Get("event_type")
	if et == nil {
		return "", nil, errors.New("route: no event_type")
	}
	if et.Type() != fastjson.TypeString {
		return "", nil, fmt.Errorf("route: event_type is a JSON %s, not a string", et.Type())
	}
	data := v.Get("data")
	keyOf := func(field string) []byte {
		if data == nil || data.Type() != fastjson.TypeObject {
			return nil
		}
		if b := data.GetStringBytes(field); b != nil {
			return append([]byte(nil), b...)
		}
		return nil
	}
	rt, ok := routeTable[string(et.GetStringBytes())]
	if !ok {
		key = keyOf("employee_id")
		if key == nil {
			key = keyOf("customer_id")
		}
		return topics.CRM, key, nil
	}
	switch rt.topic {
	case 1:
		topic = topics.Finance
	case 2:
		topic = topics.Ticket
	default:
		topic = topics.CRM
	}
	return topic, keyOf(rt.key), nil
}
