package generate

import (
	"bytes"
	"strconv"
)

// Bad messages. With Options.BadRate > 0 that share of messages is replaced
// by a deliberately invalid variant of the valid message; the topic and key
// stay those of the original event. Every variant is refused for one of the
// reasons events.md ("What is refused") gives:
//
//   - malformed JSON: the message cut off in the middle; trailing garbage after the object
//   - not a JSON object: the event wrapped in an array, a bare string, a number, null
//   - the envelope lacks a required field: event_id, event_type, occurred_at or data removed
//   - an envelope field of the wrong type: event_id or event_type a number, occurred_at a
//     number, data a string, an array or null
//   - occurred_at / recorded_at that do not parse: no offset, a space instead of T,
//     day-first dates, hour 25, free text
//   - event_id of the wrong length: empty, or 129 characters
//   - the data of a known type lacks a required field
//   - a data field of the wrong type: an id as a number, a bool as a string, money as a
//     word or a bool, an integer as a fraction or a word
//   - a value outside its set: role, stage, channel, to_stage, client, metric, kind,
//     priority not in their enums
//   - a value outside its range: negative money, money with 3 decimals, score 0 or 6,
//     negative duration_s, negative target value, month 13, dates that are not YYYY-MM-DD,
//     a next_followup_at that is not a timestamp
//
// Unknown event types and unknown extra data fields are valid (kept, not
// refused), so they are never used as "bad".

type badField struct {
	name string
	kind uint8 // bfID, bfEnum, ...
	bad  string
}

const (
	bfID uint8 = iota
	bfText
	bfEnum
	bfMoney
	bfBool
	bfInt
	bfDate
	bfTS
	bfMonth
	bfNumber
)

// badSpecs lists per kind its required data fields (first) and the fields a
// bad variant may break.
var badSpecs = [nKinds]struct {
	required []string
	fields   []badField
}{
	kEmployee: {[]string{"employee_id", "name", "role", "team_id", "active"}, []badField{
		{"employee_id", bfID, ""}, {"role", bfEnum, `"intern"`}, {"active", bfBool, `"yes"`}, {"hired_on", bfDate, `"03/15/2021"`},
		{"team_id", bfID, ""}, {"manager_id", bfID, ""},
	}},
	kCustomer: {[]string{"customer_id", "name", "owner_id", "stage"}, []badField{
		{"customer_id", bfID, ""}, {"owner_id", bfID, ""}, {"stage", bfEnum, `"won"`}, {"name", bfText, "20931"},
	}},
	kLead: {[]string{"lead_id", "customer_id", "owner_id", "source"}, []badField{
		{"lead_id", bfID, ""}, {"customer_id", bfID, ""}, {"owner_id", bfID, ""}, {"source", bfBool, "17"},
	}},
	kFollowup: {[]string{"followup_id", "customer_id", "employee_id", "channel"}, []badField{
		{"followup_id", bfID, ""}, {"employee_id", bfID, ""}, {"channel", bfEnum, `"fax"`},
		{"duration_s", bfInt, "-30"}, {"duration_s", bfInt, "12.5"}, {"next_followup_at", bfTS, `"next Tuesday"`},
		{"opportunity_id", bfID, ""},
	}},
	kOppCreated: {[]string{"opportunity_id", "customer_id", "owner_id", "amount", "stage"}, []badField{
		{"opportunity_id", bfID, ""}, {"amount", bfMoney, ""}, {"stage", bfEnum, `"won"`},
		{"expected_close_on", bfDate, `"2026/11/30"`}, {"owner_id", bfID, ""},
	}},
	kOppStage: {[]string{"opportunity_id", "to_stage"}, []badField{
		{"opportunity_id", bfID, ""}, {"to_stage", bfEnum, `"closed"`}, {"amount", bfMoney, ""},
	}},
	kLogin: {[]string{"employee_id"}, []badField{
		{"employee_id", bfID, ""}, {"client", bfEnum, `"desktop"`},
	}},
	kTarget: {[]string{"employee_id", "month", "metric", "value"}, []badField{
		{"employee_id", bfID, ""}, {"metric", bfEnum, `"profit"`}, {"month", bfMonth, `"2026-13"`},
		{"value", bfNumber, "-100"}, {"value", bfNumber, `"lots"`},
	}},
	kContract: {[]string{"contract_id", "customer_id", "owner_id", "amount"}, []badField{
		{"contract_id", bfID, ""}, {"amount", bfMoney, ""}, {"kind", bfEnum, `"trial"`}, {"customer_id", bfID, ""},
	}},
	kInvoice: {[]string{"invoice_id", "contract_id", "amount", "due_on"}, []badField{
		{"invoice_id", bfID, ""}, {"amount", bfMoney, ""}, {"due_on", bfDate, `"30.11.2026"`}, {"contract_id", bfID, ""},
	}},
	kPayment: {[]string{"payment_id", "invoice_id", "contract_id", "amount"}, []badField{
		{"payment_id", bfID, ""}, {"amount", bfMoney, ""}, {"invoice_id", bfID, ""},
	}},
	kTicketOpened: {[]string{"ticket_id", "customer_id", "priority"}, []badField{
		{"ticket_id", bfID, ""}, {"priority", bfEnum, `"critical"`}, {"is_complaint", bfBool, `"no"`}, {"customer_id", bfID, ""},
	}},
	kTicketAssigned: {[]string{"ticket_id", "assignee_id"}, []badField{
		{"ticket_id", bfID, ""}, {"assignee_id", bfID, ""},
	}},
	kTicketResponded: {[]string{"ticket_id", "employee_id"}, []badField{
		{"ticket_id", bfID, ""}, {"employee_id", bfID, ""},
	}},
	kTicketResolved: {[]string{"ticket_id", "employee_id"}, []badField{
		{"ticket_id", bfID, ""}, {"employee_id", bfID, ""},
	}},
	kTicketReopened: {[]string{"ticket_id"}, []badField{
		{"ticket_id", bfID, ""},
	}},
	kCSAT: {[]string{"ticket_id", "score"}, []badField{
		{"ticket_id", bfID, ""}, {"score", bfInt, "6"}, {"score", bfInt, "0"}, {"score", bfInt, `"five"`},
		{"score", bfInt, "4.5"},
	}},
}

// valueEnd returns the end of the JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = valueEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
		j++
	}
	return j
}

// findField locates "name": at or after from; it returns the index of the
// key's opening quote (or of the preceding comma when there is one) and the
// value's bounds, or ks = -1.
func findField(b []byte, name string, from int) (ks, vs, ve int) {
	var pat [64]byte
	p := append(append(append(pat[:0], '"'), name...), '"', ':')
	i := bytes.Index(b[from:], p)
	if i < 0 {
		return -1, 0, 0
	}
	ks = from + i
	vs = ks + len(p)
	ve = valueEnd(b, vs)
	if ks > 0 && b[ks-1] == ',' {
		ks--
	}
	return ks, vs, ve
}

func splice(dst, b []byte, from, to int, repl string) []byte {
	dst = append(dst[:0], b[:from]...)
	dst = append(dst, repl...)
	return append(dst, b[to:]...)
}

// removeField removes a field, keeping the object well formed.
func removeField(dst, b []byte, ks, ve int) []byte {
	if b[ks] == ',' {
		return splice(dst, b, ks, ve, "")
	}
	if ve < len(b) && b[ve] == ',' {
		ve++
	}
	return splice(dst, b, ks, ve, "")
}

// corrupt turns the valid message v of e into an invalid one.
func (s *sim) corrupt(e *ev, v []byte) []byte {
	r := s.badr
	dst := s.bbuf[:0]
	defer func() { s.bbuf = dst }()
	dataAt := bytes.Index(v, []byte(`"data":{`)) + len(`"data":`)
	for {
		switch r.IntN(12) {
		case 0: // malformed JSON
			if r.IntN(3) == 0 {
				dst = append(append(dst, v...), '}')
			} else {
				cut := len(v)/4 + r.IntN(len(v)/2)
				dst = append(dst, v[:cut]...)
			}
			return dst
		case 1: // not an object
			switch r.IntN(4) {
			case 0:
				dst = append(append(append(dst, '['), v...), ']')
			case 1:
				dst = appendQuoted(dst, kindNames[e.kind])
			case 2:
				dst = strconv.AppendInt(dst, int64(e.id), 10)
			default:
				dst = append(dst, "null"...)
			}
			return dst
		case 2: // envelope field missing
			name := [...]string{"event_id", "event_type", "occurred_at", "data"}[r.IntN(4)]
			ks, _, ve := findField(v, name, 0)
			return removeField(dst, v, ks, ve)
		case 3: // envelope field of the wrong type
			name, repl := "event_id", "48213"
			switch r.IntN(5) {
			case 1:
				name, repl = "event_type", "7"
			case 2:
				name, repl = "occurred_at", strconv.FormatInt(e.occ, 10)
			case 3:
				name, repl = "data", `"n/a"`
			case 4:
				name, repl = "data", []string{"[]", "null"}[r.IntN(2)]
			}
			_, vs, ve := findField(v, name, 0)
			return splice(dst, v, vs, ve, repl)
		case 4: // timestamps that do not parse
			name := "occurred_at"
			if r.IntN(3) == 0 && bytes.Contains(v, []byte(`"recorded_at"`)) {
				name = "recorded_at"
			}
			_, vs, ve := findField(v, name, 0)
			ts := string(v[vs+1 : vs+20]) // YYYY-MM-DDTHH:MM:SS
			var repl string
			switch r.IntN(5) {
			case 0:
				repl = `"` + ts + `"` // no offset
			case 1:
				repl = `"` + ts[:10] + " " + ts[11:] + `"`
			case 2:
				repl = `"` + ts[8:10] + "/" + ts[5:7] + "/" + ts[:4] + " " + ts[11:16] + `"`
			case 3:
				repl = `"` + ts[:11] + "25:61:00+08:00" + `"`
			default:
				repl = `"yesterday afternoon"`
			}
			return splice(dst, v, vs, ve, repl)
		case 5: // event_id of the wrong length
			_, vs, ve := findField(v, "event_id", 0)
			if r.IntN(2) == 0 {
				return splice(dst, v, vs, ve, `""`)
			}
			return splice(dst, v, vs, ve, `"`+string(bytes.Repeat([]byte("x"), 129))+`"`)
		case 6, 7: // required data field missing
			req := badSpecs[e.kind].required
			ks, _, ve := findField(v, req[r.IntN(len(req))], dataAt)
			if ks < 0 {
				continue
			}
			return removeField(dst, v, ks, ve)
		default: // a data field of a wrong type or out of its set/range
			fs := badSpecs[e.kind].fields
			f := fs[r.IntN(len(fs))]
			_, vs, ve := findField(v, f.name, dataAt)
			if vs == 0 {
				continue // optional field not present: try another fault
			}
			repl := f.bad
			switch f.kind {
			case bfID:
				repl = "10" + strconv.Itoa(r.IntN(9000)) // a number, not a string
				if r.IntN(4) == 0 {
					repl = `""` // empty id
				}
			case bfMoney:
				switch r.IntN(4) {
				case 0:
					repl = "-" + string(v[vs:ve])
				case 1: // three decimals
					num := v[vs:ve]
					repl = string(num)
					if dot := bytes.IndexByte(num, '.'); dot < 0 {
						repl += ".125"
					} else {
						for dec := len(num) - dot - 1; dec < 2; dec++ {
							repl += "0"
						}
						repl += "7"
					}
				case 2:
					repl = `"12k"`
				default:
					repl = "true"
				}
			}
			return splice(dst, v, vs, ve, repl)
		}
	}
}
