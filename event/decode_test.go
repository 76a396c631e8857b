package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The tests below follow ../shared/spec/events.md section by section. Most
// cases are generated from Types(), so a field added to the contract is
// covered without touching this file; only validLiteral and wantValue have
// to know about a new Kind.

const (
	testOccurred = "2026-10-14T09:30:00+08:00"
	testRecorded = "2026-10-14T09:41:12+08:00"
)

// msg builds an envelope around a data object given as JSON text.
func msg(typ, data string) string {
	return fmt.Sprintf(`{"event_id":"ev-1","event_type":%q,"occurred_at":%q,"data":%s}`, typ, testOccurred, data)
}

// envMsg builds a message from raw envelope members, so a test can drop or
// change any of them.
func envMsg(members ...string) string { return "{" + strings.Join(members, ",") + "}" }

var (
	mID       = `"event_id":"ev-1"`
	mType     = `"event_type":"ticket.reopened"`
	mOccurred = `"occurred_at":"` + testOccurred + `"`
	mData     = `"data":{"ticket_id":"t-1"}`
)

// validLiteral is a valid JSON value for a field, by kind.
func validLiteral(f Field) string {
	switch f.Kind {
	case KindID:
		return `"id-1"`
	case KindText:
		return `"some text"`
	case KindTime:
		return `"2026-10-15T10:00:00+08:00"`
	case KindDate:
		return `"2026-10-01"`
	case KindMonth:
		return `"2026-10"`
	case KindMoney:
		return `1234.5`
	case KindBool:
		return `true`
	case KindInt:
		return `3`
	case KindNumber:
		return `42.5`
	case KindEnum:
		return `"` + f.Enum[len(f.Enum)-1] + `"`
	}
	panic("validLiteral: no value for kind " + f.Kind.String())
}

func days(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// wantValue is the decoded form of validLiteral(f).
func wantValue(f Field) Value {
	switch f.Kind {
	case KindID:
		return Value{Bytes: []byte("id-1")}
	case KindText:
		return Value{Bytes: []byte("some text")}
	case KindTime:
		return Value{Int: time.Date(2026, 10, 15, 2, 0, 0, 0, time.UTC).UnixMicro()}
	case KindDate, KindMonth:
		return Value{Int: days(2026, 10, 1)}
	case KindMoney:
		return Value{Int: 123450}
	case KindBool:
		return Value{Int: 1}
	case KindInt:
		return Value{Int: 3}
	case KindNumber:
		return Value{Float: 42.5}
	case KindEnum:
		return Value{Bytes: []byte(f.Enum[len(f.Enum)-1])}
	}
	panic("wantValue: no value for kind " + f.Kind.String())
}

func valueEqual(a, b Value) bool {
	return a.Null == b.Null && bytes.Equal(a.Bytes, b.Bytes) && a.Int == b.Int && a.Float == b.Float
}

// fmtValue prints a Value for test failures.
func fmtValue(v Value) string {
	if v.Null {
		return "null"
	}
	return fmt.Sprintf("{Bytes:%q Int:%d Float:%v}", v.Bytes, v.Int, v.Float)
}

// dataObject builds a data object of typ with every field for which keep
// returns true, each with validLiteral unless override names it.
func dataObject(typ Type, keep func(Field) bool, override map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for _, f := range typ.Fields {
		if !keep(f) {
			continue
		}
		lit, ok := override[f.Name]
		if !ok {
			lit = validLiteral(f)
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", f.Name, lit)
	}
	b.WriteByte('}')
	return b.String()
}

func all(Field) bool            { return true }
func requiredOnly(f Field) bool { return f.Required }

// refusalCase is one message that must be refused.
type refusalCase struct {
	name   string
	msg    string
	code   string
	reason string // must appear in Refusal.Reason: the field it names
}

// envelopeRefusals are the refusals of the message and its envelope.
func envelopeRefusals() []refusalCase {
	id129 := strings.Repeat("x", 129)
	runes129 := strings.Repeat("é", 129)
	cases := []refusalCase{
		// Not JSON.
		{"empty message", ``, CodeInvalidJSON, "JSON"},
		{"truncated object", `{"event_id":"ev-1"`, CodeInvalidJSON, "JSON"},
		{"bare word", `hello`, CodeInvalidJSON, "JSON"},
		{"trailing garbage", msg("ticket.reopened", `{"ticket_id":"t-1"}`) + ` x`, CodeInvalidJSON, "JSON"},
		{"single quotes", `{'event_id':'ev-1'}`, CodeInvalidJSON, "JSON"},
		// fastjson's parser reads these as numbers; they are not JSON.
		{"NaN in extra", msg("ticket.reopened", `{"ticket_id":"t-1","x":NaN}`), CodeInvalidJSON, "data.x"},
		{"-Inf in extra", msg("ticket.reopened", `{"ticket_id":"t-1","x":-Inf}`), CodeInvalidJSON, "data.x"},
		{"1-2 in extra", msg("ticket.reopened", `{"ticket_id":"t-1","x":1-2}`), CodeInvalidJSON, "data.x"},
		{"03 deep in extra", msg("ticket.reopened", `{"ticket_id":"t-1","x":{"y":[1,{"z":03}]}}`), CodeInvalidJSON, "data.x"},
		{"1. in envelope extra", envMsg(mID, mType, mOccurred, mData, `"v":1.`), CodeInvalidJSON, "v"},
		{"+1 in unknown type", msg("widget.spun", `{"a":+1}`), CodeInvalidJSON, "data"},
		{"3-1 in a field", msg("csat.submitted", `{"ticket_id":"t-1","score":3-1}`), CodeInvalidJSON, "data.score"},
		{"03 in a field", msg("csat.submitted", `{"ticket_id":"t-1","score":03}`), CodeInvalidJSON, "data.score"},
		{"+3 in a field", msg("csat.submitted", `{"ticket_id":"t-1","score":+3}`), CodeInvalidJSON, "data.score"},
		{"NaN in a field", msg("target.set", `{"employee_id":"e","month":"2026-10","metric":"revenue","value":NaN}`), CodeInvalidJSON, "data.value"},
		{"1e5e5 in money", msg("payment.received", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":1e5e5}`), CodeInvalidJSON, "data.amount"},
		{"- in duration_s", msg("followup.logged", `{"followup_id":"f","customer_id":"c","employee_id":"e","channel":"phone","duration_s":-}`), CodeInvalidJSON, "JSON"},
		// Not UTF-8.
		{"invalid UTF-8 in a value", msg("ticket.reopened", "{\"ticket_id\":\"t-\xff\"}"), CodeInvalidJSON, "UTF-8"},
		{"invalid UTF-8 in a key", msg("ticket.reopened", "{\"ticket_id\":\"t-1\",\"\xc3\x28\":1}"), CodeInvalidJSON, "UTF-8"},
		// Not an object.
		{"array", `[` + msg("ticket.reopened", `{"ticket_id":"t-1"}`) + `]`, CodeNotObject, "array"},
		{"string", `"hello"`, CodeNotObject, "string"},
		{"number", `42`, CodeNotObject, "number"},
		{"null", `null`, CodeNotObject, "null"},
		{"true", `true`, CodeNotObject, "true"},
		// Missing envelope fields.
		{"missing event_id", envMsg(mType, mOccurred, mData), CodeMissingField, "event_id"},
		{"missing event_type", envMsg(mID, mOccurred, mData), CodeMissingField, "event_type"},
		{"missing occurred_at", envMsg(mID, mType, mData), CodeMissingField, "occurred_at"},
		{"missing data", envMsg(mID, mType, mOccurred), CodeMissingField, "data"},
		{"empty object", `{}`, CodeMissingField, "event_id"},
		{"null occurred_at", envMsg(mID, mType, `"occurred_at":null`, mData), CodeMissingField, "occurred_at"},
		{"null data", envMsg(mID, mType, mOccurred, `"data":null`), CodeMissingField, "data"},
		// event_id.
		{"event_id empty", envMsg(`"event_id":""`, mType, mOccurred, mData), CodeOutOfRange, "event_id"},
		{"event_id 129 chars", envMsg(`"event_id":"`+id129+`"`, mType, mOccurred, mData), CodeOutOfRange, "event_id"},
		{"event_id 129 runes", envMsg(`"event_id":"`+runes129+`"`, mType, mOccurred, mData), CodeOutOfRange, "event_id"},
		{"event_id number", envMsg(`"event_id":42`, mType, mOccurred, mData), CodeWrongType, "event_id"},
		{"event_id object", envMsg(`"event_id":{"id":"ev-1"}`, mType, mOccurred, mData), CodeWrongType, "event_id"},
		{"event_id null", envMsg(`"event_id":null`, mType, mOccurred, mData), CodeWrongType, "event_id"},
		// event_type.
		{"event_type number", envMsg(mID, `"event_type":7`, mOccurred, mData), CodeWrongType, "event_type"},
		{"event_type array", envMsg(mID, `"event_type":["ticket.reopened"]`, mOccurred, mData), CodeWrongType, "event_type"},
		{"event_type empty", envMsg(mID, `"event_type":""`, mOccurred, mData), CodeOutOfRange, "event_type"},
		// data.
		{"data array", envMsg(mID, mType, mOccurred, `"data":[]`), CodeWrongType, "data"},
		{"data string", envMsg(mID, mType, mOccurred, `"data":"{}"`), CodeWrongType, "data"},
		{"data number", envMsg(mID, mType, mOccurred, `"data":1`), CodeWrongType, "data"},
		{"data of unknown type array", envMsg(mID, `"event_type":"mystery.happened"`, mOccurred, `"data":[1]`), CodeWrongType, "data"},
	}
	// occurred_at and recorded_at: unparseable, or without an offset.
	for _, ts := range []string{
		"2026-10-14T09:30:00",        // no offset
		"2026-10-14 09:30:00+08:00",  // space, not T
		"2026-10-14",                 // a date
		"yesterday",                  // words
		"",                           // empty
		"2026-10-14T25:30:00Z",       // hour 25
		"2026-02-30T09:30:00Z",       // 30 February
		"2026-10-14T09:30:00+0800",   // offset without colon
		"1760405400",                 // Unix seconds as a string
		"2026-10-14T09:30:00+08:00 ", // trailing space
	} {
		cases = append(cases,
			refusalCase{"occurred_at " + ts, envMsg(mID, mType, `"occurred_at":"`+ts+`"`, mData), CodeBadTimestamp, "occurred_at"},
			refusalCase{"recorded_at " + ts, envMsg(mID, mType, mOccurred, `"recorded_at":"`+ts+`"`, mData), CodeBadTimestamp, "recorded_at"},
		)
	}
	for _, lit := range []string{`1760405400`, `true`, `{}`, `["2026-10-14T09:30:00Z"]`} {
		cases = append(cases,
			refusalCase{"occurred_at " + lit, envMsg(mID, mType, `"occurred_at":`+lit, mData), CodeWrongType, "occurred_at"},
			refusalCase{"recorded_at " + lit, envMsg(mID, mType, mOccurred, `"recorded_at":`+lit, mData), CodeWrongType, "recorded_at"},
		)
	}
	return cases
}

// badLiterals are values each kind of field must refuse, with the code.
func badLiterals(f Field) []struct{ lit, code string } {
	type bad = struct{ lit, code string }
	var out []bad
	switch f.Kind {
	case KindID, KindText, KindEnum:
		out = append(out, bad{`123`, CodeWrongType}, bad{`true`, CodeWrongType}, bad{`{"a":"b"}`, CodeWrongType}, bad{`["x"]`, CodeWrongType})
	case KindTime:
		out = append(out,
			bad{`1760405400`, CodeWrongType},
			bad{`"2026-10-14T09:30:00"`, CodeBadTimestamp},
			bad{`"2026-10-14"`, CodeBadTimestamp},
			bad{`"tomorrow"`, CodeBadTimestamp})
	case KindDate:
		out = append(out,
			bad{`20261001`, CodeWrongType},
			bad{`"2026-13-01"`, CodeBadTimestamp},
			bad{`"2026/10/01"`, CodeBadTimestamp},
			bad{`"2026-02-30"`, CodeBadTimestamp},
			bad{`"2026-10-1"`, CodeBadTimestamp},
			bad{`"2026-10"`, CodeBadTimestamp},
			bad{`"2026-10-01T00:00:00Z"`, CodeBadTimestamp},
			bad{`""`, CodeBadTimestamp})
	case KindMonth:
		out = append(out,
			bad{`202610`, CodeWrongType},
			bad{`"2026-10-01"`, CodeBadTimestamp},
			bad{`"2026-13"`, CodeBadTimestamp},
			bad{`"2026/10"`, CodeBadTimestamp},
			bad{`"October 2026"`, CodeBadTimestamp})
	case KindMoney:
		out = append(out,
			bad{`true`, CodeWrongType},
			bad{`{"amount":1}`, CodeWrongType},
			bad{`[1]`, CodeWrongType},
			bad{`-1`, CodeOutOfRange},
			bad{`-0.01`, CodeOutOfRange},
			bad{`"-5"`, CodeOutOfRange},
			bad{`1.234`, CodeOutOfRange},
			bad{`"1.234"`, CodeOutOfRange},
			bad{`"abc"`, CodeOutOfRange},
			bad{`""`, CodeOutOfRange},
			bad{`"1/2"`, CodeOutOfRange},
			bad{`"0x10"`, CodeOutOfRange},
			bad{`"1,000.00"`, CodeOutOfRange},
			bad{`" 12"`, CodeOutOfRange},
			bad{`1e-3`, CodeOutOfRange},
			bad{`"1e-3"`, CodeOutOfRange},
			bad{`1e16`, CodeOutOfRange},
			bad{`10000000000000000`, CodeOutOfRange},
			bad{`99999999999999999`, CodeOutOfRange}, // overflowed to a negative amount once
			bad{`"1e999999"`, CodeOutOfRange},
			bad{`1e-999999`, CodeOutOfRange})
	case KindBool:
		out = append(out, bad{`"true"`, CodeWrongType}, bad{`1`, CodeWrongType}, bad{`0`, CodeWrongType}, bad{`"yes"`, CodeWrongType})
	case KindInt:
		out = append(out, bad{`"3"`, CodeWrongType}, bad{`1.5`, CodeWrongType}, bad{`true`, CodeWrongType}, bad{`1e400`, CodeWrongType})
		if f.Max != 0 {
			out = append(out, bad{fmt.Sprint(f.Max + 1), CodeOutOfRange})
		}
		out = append(out, bad{fmt.Sprint(f.Min - 1), CodeOutOfRange})
	case KindNumber:
		out = append(out, bad{`"42"`, CodeWrongType}, bad{`true`, CodeWrongType}, bad{`-1`, CodeOutOfRange}, bad{`-0.5`, CodeOutOfRange}, bad{`1e400`, CodeOutOfRange})
	}
	switch f.Kind {
	case KindID:
		out = append(out, bad{`""`, CodeOutOfRange}, bad{`"` + strings.Repeat("i", 129) + `"`, CodeOutOfRange})
	case KindEnum:
		out = append(out, bad{`"nope"`, CodeOutOfRange}, bad{`""`, CodeOutOfRange},
			bad{`"` + strings.ToUpper(f.Enum[0]) + `"`, CodeOutOfRange}, bad{`" ` + f.Enum[0] + `"`, CodeOutOfRange})
	}
	return out
}

// dataRefusals loops over every known type and field.
func dataRefusals() []refusalCase {
	var cases []refusalCase
	for _, typ := range Types() {
		for _, f := range typ.Fields {
			field := "data." + f.Name
			if f.Required {
				drop := func(g Field) bool { return g.Required && g.Name != f.Name }
				cases = append(cases,
					refusalCase{typ.Name + " without " + f.Name, msg(typ.Name, dataObject(typ, drop, nil)), CodeMissingField, field},
					refusalCase{typ.Name + " with null " + f.Name, msg(typ.Name, dataObject(typ, all, map[string]string{f.Name: "null"})), CodeMissingField, field},
				)
			}
			for _, b := range badLiterals(f) {
				cases = append(cases, refusalCase{
					name:   fmt.Sprintf("%s %s=%s", typ.Name, f.Name, b.lit),
					msg:    msg(typ.Name, dataObject(typ, all, map[string]string{f.Name: b.lit})),
					code:   b.code,
					reason: field,
				})
			}
		}
	}
	return cases
}

// The spec's own examples, written out rather than generated, so they are
// easy to find.
func specRefusals() []refusalCase {
	followup := `{"followup_id":"f-1","customer_id":"c-1","employee_id":"e-1","channel":"phone"%s}`
	return []refusalCase{
		{"csat score 0", msg("csat.submitted", `{"ticket_id":"t-1","score":0}`), CodeOutOfRange, "data.score"},
		{"csat score 6", msg("csat.submitted", `{"ticket_id":"t-1","score":6}`), CodeOutOfRange, "data.score"},
		{"csat score 4.5", msg("csat.submitted", `{"ticket_id":"t-1","score":4.5}`), CodeWrongType, "data.score"},
		{"duration_s -1", msg("followup.logged", fmt.Sprintf(followup, `,"duration_s":-1`)), CodeOutOfRange, "data.duration_s"},
		{"duration_s string", msg("followup.logged", fmt.Sprintf(followup, `,"duration_s":"60"`)), CodeWrongType, "data.duration_s"},
		{"channel fax", msg("followup.logged", `{"followup_id":"f-1","customer_id":"c-1","employee_id":"e-1","channel":"fax"}`), CodeOutOfRange, "data.channel"},
		{"target value negative", msg("target.set", `{"employee_id":"e-1","month":"2026-10","metric":"revenue","value":-1}`), CodeOutOfRange, "data.value"},
		{"target month as date", msg("target.set", `{"employee_id":"e-1","month":"2026-10-01","metric":"revenue","value":1}`), CodeBadTimestamp, "data.month"},
		{"target metric unknown", msg("target.set", `{"employee_id":"e-1","month":"2026-10","metric":"profit","value":1}`), CodeOutOfRange, "data.metric"},
		{"invoice due_on 2026-13-01", msg("invoice.issued", `{"invoice_id":"i-1","contract_id":"k-1","amount":1,"due_on":"2026-13-01"}`), CodeBadTimestamp, "data.due_on"},
		{"invoice due_on 2026/10/01", msg("invoice.issued", `{"invoice_id":"i-1","contract_id":"k-1","amount":1,"due_on":"2026/10/01"}`), CodeBadTimestamp, "data.due_on"},
		{"payment amount 3 decimals", msg("payment.received", `{"payment_id":"p-1","invoice_id":"i-1","contract_id":"k-1","amount":10.005}`), CodeOutOfRange, "data.amount"},
		{"payment amount negative", msg("payment.received", `{"payment_id":"p-1","invoice_id":"i-1","contract_id":"k-1","amount":-10}`), CodeOutOfRange, "data.amount"},
		{"employee active as string", msg("employee.upserted", `{"employee_id":"e-1","name":"Ann","role":"sales","team_id":"t-1","active":"true"}`), CodeWrongType, "data.active"},
		{"customer id as number", msg("customer.upserted", `{"customer_id":17,"name":"Acme","owner_id":"e-1","stage":"lead"}`), CodeWrongType, "data.customer_id"},
		{"ticket is_complaint null is fine, priority null is not", msg("ticket.opened", `{"ticket_id":"t-1","customer_id":"c-1","priority":null,"is_complaint":null}`), CodeMissingField, "data.priority"},
		{"data of a known type empty", msg("ticket.reopened", `{}`), CodeMissingField, "data.ticket_id"},
	}
}

func TestDecodeRefusals(t *testing.T) {
	groups := map[string][]refusalCase{
		"envelope": envelopeRefusals(),
		"data":     dataRefusals(),
		"spec":     specRefusals(),
	}
	d := NewDecoder(0)
	for group, cases := range groups {
		t.Run(group, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					var ev Event
					err := d.Decode([]byte(c.msg), &ev)
					if err == nil {
						t.Fatalf("accepted %s", c.msg)
					}
					r, ok := AsRefusal(err)
					if !ok {
						t.Fatalf("error %T is not a *Refusal: %v", err, err)
					}
					if r.Code != c.code {
						t.Errorf("code = %s, want %s (reason %q)\nmessage: %s", r.Code, c.code, r.Reason, c.msg)
					}
					if !strings.Contains(r.Reason, c.reason) {
						t.Errorf("reason %q does not name %q", r.Reason, c.reason)
					}
					// Check agrees with a long-lived decoder.
					if r2, _ := AsRefusal(Check([]byte(c.msg))); r2 == nil || *r2 != *r {
						t.Errorf("Check = %v, Decode = %v", r2, r)
					}
				})
			}
		})
	}
}

func TestDecodeTooLarge(t *testing.T) {
	m := []byte(msg("ticket.reopened", `{"ticket_id":"t-1"}`))
	var ev Event
	if err := NewDecoder(len(m)).Decode(m, &ev); err != nil {
		t.Fatalf("message of exactly the limit refused: %v", err)
	}
	err := NewDecoder(len(m)-1).Decode(m, &ev)
	r, ok := AsRefusal(err)
	if !ok || r.Code != CodeTooLarge || !strings.Contains(r.Reason, fmt.Sprint(len(m))) || !strings.Contains(r.Reason, "limit") {
		t.Fatalf("over the limit: got %v", err)
	}
	// The default limit is 1 MiB; the size is checked before anything else.
	big := append([]byte(`"`), bytes.Repeat([]byte("x"), DefaultMaxBytes)...)
	if r, _ := AsRefusal(Check(big)); r == nil || r.Code != CodeTooLarge {
		t.Fatalf("1 MiB + 1 message: got %v", r)
	}
	if d := NewDecoder(0); d.MaxBytes != DefaultMaxBytes {
		t.Fatalf("NewDecoder(0).MaxBytes = %d", d.MaxBytes)
	}
}

func TestDecodeMinimalAndFull(t *testing.T) {
	d := NewDecoder(0)
	for ti, typ := range Types() {
		t.Run(typ.Name+"/minimal", func(t *testing.T) {
			var ev Event
			if err := d.Decode([]byte(msg(typ.Name, dataObject(typ, requiredOnly, nil))), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Type != ti || string(ev.TypeName) != typ.Name || len(ev.Values) != len(typ.Fields) {
				t.Fatalf("Type %d %q with %d values, want %d %q with %d", ev.Type, ev.TypeName, len(ev.Values), ti, typ.Name, len(typ.Fields))
			}
			for i, f := range typ.Fields {
				want := Value{Null: true}
				switch {
				case f.Required:
					want = wantValue(f)
				case f.DefaultFalse:
					want = Value{Int: 0}
				}
				if !valueEqual(ev.Values[i], want) {
					t.Errorf("%s = %s, want %s", f.Name, fmtValue(ev.Values[i]), fmtValue(want))
				}
			}
			if ev.Extra != nil || ev.EnvelopeExtra != nil {
				t.Errorf("Extra %q, EnvelopeExtra %q, want none", ev.Extra, ev.EnvelopeExtra)
			}
		})
		t.Run(typ.Name+"/full", func(t *testing.T) {
			var ev Event
			if err := d.Decode([]byte(msg(typ.Name, dataObject(typ, all, nil))), &ev); err != nil {
				t.Fatal(err)
			}
			for i, f := range typ.Fields {
				if want := wantValue(f); !valueEqual(ev.Values[i], want) {
					t.Errorf("%s = %s, want %s", f.Name, fmtValue(ev.Values[i]), fmtValue(want))
				}
			}
		})
		t.Run(typ.Name+"/null optionals", func(t *testing.T) {
			nulls := map[string]string{}
			for _, f := range typ.Fields {
				if !f.Required {
					nulls[f.Name] = "null"
				}
			}
			var ev Event
			if err := d.Decode([]byte(msg(typ.Name, dataObject(typ, all, nulls))), &ev); err != nil {
				t.Fatal(err)
			}
			for i, f := range typ.Fields {
				switch {
				case f.Required:
				case f.DefaultFalse:
					if !valueEqual(ev.Values[i], Value{Int: 0}) {
						t.Errorf("null %s = %s, want false", f.Name, fmtValue(ev.Values[i]))
					}
				case !ev.Values[i].Null:
					t.Errorf("null %s = %s, want null", f.Name, fmtValue(ev.Values[i]))
				}
			}
		})
	}
}

// fieldIndex finds a field of a type in the decoder's tables.
func fieldIndex(t *testing.T, d *Decoder, typ, field string) int {
	t.Helper()
	ti := d.TypeIndex(typ)
	if ti < 0 {
		t.Fatalf("no type %s", typ)
	}
	fi, ok := d.fields[ti][field]
	if !ok {
		t.Fatalf("no field %s.%s", typ, field)
	}
	return fi
}

func TestDecodeValues(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) int64 {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC).UnixMicro()
	}
	tests := []struct {
		name, typ, field, data string
		want                   Value
	}{
		// money: JSON number or numeric string, in cents.
		{"money integer", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":1500}`, Value{Int: 150000}},
		{"money one decimal", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":12.5}`, Value{Int: 1250}},
		{"money two decimals", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":12.34}`, Value{Int: 1234}},
		{"money zero", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":0}`, Value{Int: 0}},
		{"money minus zero", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":-0}`, Value{Int: 0}},
		{"money trailing zeros", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":12.3400}`, Value{Int: 1234}},
		{"money string", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":"99.99"}`, Value{Int: 9999}},
		{"money string leading zeros", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":"0000000000000000001.50"}`, Value{Int: 150}},
		{"money exponent", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":1.5e2}`, Value{Int: 15000}},
		{"money exponent string", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":"1.5e2"}`, Value{Int: 15000}},
		{"money negative exponent", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":125E-2}`, Value{Int: 125}},
		{"money zero with a huge exponent", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":0e999999}`, Value{Int: 0}},
		{"money 10^14", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":100000000000000}`, Value{Int: 1e16}},
		{"money DECIMAL(18,2) max", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":9999999999999999.99}`, Value{Int: 1e18 - 1}},
		{"money DECIMAL(18,2) max string", "payment.received", "amount", `{"payment_id":"p","invoice_id":"i","contract_id":"k","amount":"9999999999999999.99"}`, Value{Int: 1e18 - 1}},
		{"optional money", "opportunity.stage_changed", "amount", `{"opportunity_id":"o","to_stage":"won","amount":"7"}`, Value{Int: 700}},
		// dates: days since 1970-01-01.
		{"date", "invoice.issued", "due_on", `{"invoice_id":"i","contract_id":"k","amount":1,"due_on":"2026-10-31"}`, Value{Int: days(2026, 10, 31)}},
		{"date epoch", "invoice.issued", "due_on", `{"invoice_id":"i","contract_id":"k","amount":1,"due_on":"1970-01-01"}`, Value{Int: 0}},
		{"date before epoch", "invoice.issued", "due_on", `{"invoice_id":"i","contract_id":"k","amount":1,"due_on":"1969-12-31"}`, Value{Int: -1}},
		{"date leap day", "employee.upserted", "hired_on", `{"employee_id":"e","name":"n","role":"sales","team_id":"t","active":true,"hired_on":"2024-02-29"}`, Value{Int: days(2024, 2, 29)}},
		{"month", "target.set", "month", `{"employee_id":"e","month":"2026-10","metric":"revenue","value":1}`, Value{Int: days(2026, 10, 1)}},
		{"month January", "target.set", "month", `{"employee_id":"e","month":"2027-01","metric":"revenue","value":1}`, Value{Int: days(2027, 1, 1)}},
		// ts: Unix microseconds, honouring the offset.
		{"ts with offset", "followup.logged", "next_followup_at", `{"followup_id":"f","customer_id":"c","employee_id":"e","channel":"phone","next_followup_at":"2026-10-20T09:00:00+08:00"}`, Value{Int: utc(2026, 10, 20, 1, 0, 0, 0)}},
		{"ts Z", "followup.logged", "next_followup_at", `{"followup_id":"f","customer_id":"c","employee_id":"e","channel":"phone","next_followup_at":"2026-10-20T09:00:00Z"}`, Value{Int: utc(2026, 10, 20, 9, 0, 0, 0)}},
		{"ts negative offset, fraction", "followup.logged", "next_followup_at", `{"followup_id":"f","customer_id":"c","employee_id":"e","channel":"phone","next_followup_at":"2026-10-19T20:00:00.123456-05:00"}`, Value{Int: utc(2026, 10, 20, 1, 0, 0, 123456000)}},
		// integers, numbers, bools, text.
		{"duration_s 0", "followup.logged", "duration_s", `{"followup_id":"f","customer_id":"c","employee_id":"e","channel":"phone","duration_s":0}`, Value{Int: 0}},
		{"duration_s large", "followup.logged", "duration_s", `{"followup_id":"f","customer_id":"c","employee_id":"e","channel":"phone","duration_s":86400}`, Value{Int: 86400}},
		{"csat score 1", "csat.submitted", "score", `{"ticket_id":"t","score":1}`, Value{Int: 1}},
		{"csat score 5", "csat.submitted", "score", `{"ticket_id":"t","score":5}`, Value{Int: 5}},
		{"csat score 5.0", "csat.submitted", "score", `{"ticket_id":"t","score":5.0}`, Value{Int: 5}},
		{"target value 0", "target.set", "value", `{"employee_id":"e","month":"2026-10","metric":"followups","value":0}`, Value{Float: 0}},
		{"target value fraction", "target.set", "value", `{"employee_id":"e","month":"2026-10","metric":"revenue","value":1250000.75}`, Value{Float: 1250000.75}},
		{"is_complaint default", "ticket.opened", "is_complaint", `{"ticket_id":"t","customer_id":"c","priority":"low"}`, Value{Int: 0}},
		{"is_complaint null", "ticket.opened", "is_complaint", `{"ticket_id":"t","customer_id":"c","priority":"low","is_complaint":null}`, Value{Int: 0}},
		{"is_complaint true", "ticket.opened", "is_complaint", `{"ticket_id":"t","customer_id":"c","priority":"low","is_complaint":true}`, Value{Int: 1}},
		{"is_complaint false", "ticket.opened", "is_complaint", `{"ticket_id":"t","customer_id":"c","priority":"low","is_complaint":false}`, Value{Int: 0}},
		{"active false", "employee.upserted", "active", `{"employee_id":"e","name":"n","role":"sales","team_id":"t","active":false}`, Value{Int: 0}},
		{"text unescaped", "lead.created", "source", `{"lead_id":"l","customer_id":"c","owner_id":"o","source":"trade \"fair\" \u5c55\u4f1a\n"}`, Value{Bytes: []byte("trade \"fair\" 展会\n")}},
		{"text empty", "lead.created", "campaign", `{"lead_id":"l","customer_id":"c","owner_id":"o","source":"web","campaign":""}`, Value{Bytes: []byte{}}},
		{"id of 128 runes", "ticket.reopened", "ticket_id", `{"ticket_id":"` + strings.Repeat("票", 128) + `"}`, Value{Bytes: []byte(strings.Repeat("票", 128))}},
		{"enum", "user.login", "client", `{"employee_id":"e","client":"mobile"}`, Value{Bytes: []byte("mobile")}},
		{"optional enum absent", "user.login", "client", `{"employee_id":"e"}`, Value{Null: true}},
		{"optional id null", "contract.signed", "opportunity_id", `{"contract_id":"k","customer_id":"c","owner_id":"o","amount":5,"opportunity_id":null}`, Value{Null: true}},
	}
	d := NewDecoder(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev Event
			if err := d.Decode([]byte(msg(tt.typ, tt.data)), &ev); err != nil {
				t.Fatal(err)
			}
			fi := fieldIndex(t, d, tt.typ, tt.field)
			if got := ev.Values[fi]; !valueEqual(got, tt.want) {
				t.Errorf("%s = %s, want %s", tt.field, fmtValue(got), fmtValue(tt.want))
			}
		})
	}
}

func TestDecodeEnvelope(t *testing.T) {
	d := NewDecoder(0)
	var ev Event
	m := `{"event_id":"7f0c2a9e","event_type":"ticket.reopened","occurred_at":"2026-10-14T09:30:00+08:00","recorded_at":"2026-10-14T09:41:12.5+08:00","data":{"ticket_id":"t-1"}}`
	if err := d.Decode([]byte(m), &ev); err != nil {
		t.Fatal(err)
	}
	if string(ev.ID) != "7f0c2a9e" || string(ev.TypeName) != "ticket.reopened" || ev.Type != d.TypeIndex("ticket.reopened") {
		t.Errorf("ID %q TypeName %q Type %d", ev.ID, ev.TypeName, ev.Type)
	}
	if want := time.Date(2026, 10, 14, 1, 30, 0, 0, time.UTC).UnixMicro(); ev.OccurredAt != want {
		t.Errorf("OccurredAt = %d, want %d", ev.OccurredAt, want)
	}
	if want := time.Date(2026, 10, 14, 1, 41, 12, 5e8, time.UTC).UnixMicro(); ev.RecordedAt != want {
		t.Errorf("RecordedAt = %d, want %d", ev.RecordedAt, want)
	}

	// recorded_at defaults to occurred_at, absent or null.
	for _, rec := range []string{"", `,"recorded_at":null`} {
		m := `{"event_id":"e","event_type":"ticket.reopened","occurred_at":"2026-10-14T09:30:00-03:30"` + rec + `,"data":{"ticket_id":"t-1"}}`
		if err := d.Decode([]byte(m), &ev); err != nil {
			t.Fatal(err)
		}
		want := time.Date(2026, 10, 14, 13, 0, 0, 0, time.UTC).UnixMicro()
		if ev.OccurredAt != want || ev.RecordedAt != want {
			t.Errorf("recorded_at %q: OccurredAt %d RecordedAt %d, want both %d", rec, ev.OccurredAt, ev.RecordedAt, want)
		}
	}

	// The envelope may come in any order, with whitespace.
	m = "{\n  \"data\": {\"ticket_id\": \"t-1\"},\n  \"occurred_at\": \"2026-10-14T09:30:00Z\",\n  \"event_type\": \"ticket.reopened\",\n  \"event_id\": \"e\"\n}\n"
	if err := d.Decode([]byte(m), &ev); err != nil {
		t.Fatalf("reordered envelope: %v", err)
	}

	// An event_id of 128 characters is fine, also when they take 3 bytes.
	for _, id := range []string{strings.Repeat("x", 128), strings.Repeat("号", 128), "a"} {
		m := `{"event_id":"` + id + `","event_type":"ticket.reopened","occurred_at":"2026-10-14T09:30:00Z","data":{"ticket_id":"t"}}`
		if err := d.Decode([]byte(m), &ev); err != nil || string(ev.ID) != id {
			t.Errorf("event_id of %d runes: %v, ID %q", utf8.RuneCountInString(id), err, ev.ID)
		}
	}
	// An escaped event_id is unescaped.
	m = `{"event_id":"a\"b\u00e9","event_type":"ticket.reopened","occurred_at":"2026-10-14T09:30:00Z","data":{"ticket_id":"t"}}`
	if err := d.Decode([]byte(m), &ev); err != nil || string(ev.ID) != `a"bé` {
		t.Errorf("escaped event_id: %v, ID %q", err, ev.ID)
	}
}

// jsonEqual compares two JSON texts by value.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	if !json.Valid(got) {
		t.Fatalf("not valid JSON: %s", got)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestDecodeExtra(t *testing.T) {
	d := NewDecoder(0)
	var ev Event

	// Unknown data fields land in Extra, known ones in Values.
	m := msg("ticket.opened", `{"ticket_id":"t-1","sla":{"hours":[4,8]},"customer_id":"c-1","priority":"high","tags":["vip","cn"],"note":"say \"hi\"\u0001\u007f\t","score":1.5e3,"flag":null}`)
	if err := d.Decode([]byte(m), &ev); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, ev.Extra, `{"sla":{"hours":[4,8]},"tags":["vip","cn"],"note":"say \"hi\"\u0001\u007f\t","score":1500,"flag":null}`)
	if ev.EnvelopeExtra != nil {
		t.Errorf("EnvelopeExtra = %s, want nil", ev.EnvelopeExtra)
	}
	if got := ev.Values[fieldIndex(t, d, "ticket.opened", "priority")]; string(got.Bytes) != "high" {
		t.Errorf("priority = %s", fmtValue(got))
	}

	// Unknown top-level fields land in EnvelopeExtra.
	m = `{"schema":2,"event_id":"e","event_type":"ticket.reopened","source":{"system":"crm","host":"a\nb"},"occurred_at":"2026-10-14T09:30:00Z","data":{"ticket_id":"t-1"},"tags":[]}`
	if err := d.Decode([]byte(m), &ev); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, ev.EnvelopeExtra, `{"schema":2,"source":{"system":"crm","host":"a\nb"},"tags":[]}`)
	if ev.Extra != nil {
		t.Errorf("Extra = %s, want nil", ev.Extra)
	}

	// Keys with characters that need escaping stay valid JSON.
	m = `{"event_id":"e","event_type":"ticket.reopened","x\"\u0002":1,"occurred_at":"2026-10-14T09:30:00Z","data":{"ticket_id":"t-1","k\\\u0007\u2028":true}}`
	if err := d.Decode([]byte(m), &ev); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, ev.EnvelopeExtra, `{"x\"\u0002":1}`)
	jsonEqual(t, ev.Extra, `{"k\\\u0007\u2028":true}`)

	// The decoder's buffers are reused: a following event without extras
	// has none.
	if err := d.Decode([]byte(msg("ticket.reopened", `{"ticket_id":"t-2"}`)), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Extra != nil || ev.EnvelopeExtra != nil {
		t.Errorf("stale Extra %q / EnvelopeExtra %q", ev.Extra, ev.EnvelopeExtra)
	}
}

func TestDecodeUnknownType(t *testing.T) {
	d := NewDecoder(0)
	var ev Event
	data := `{"widget_id":"w-1","price":-3.145,"when":"not a date","nested":{"a":[1,"two",null,"\u0003"]}}`
	m := `{"event_id":"e","event_type":"widget.spun","occurred_at":"2026-10-14T09:30:00Z","data":` + data + `,"via":"bridge"}`
	if err := d.Decode([]byte(m), &ev); err != nil {
		t.Fatalf("unknown type refused: %v", err)
	}
	if ev.Type != -1 || string(ev.TypeName) != "widget.spun" {
		t.Errorf("Type %d TypeName %q, want -1 widget.spun", ev.Type, ev.TypeName)
	}
	if ev.Values != nil {
		t.Errorf("Values = %v, want nil", ev.Values)
	}
	jsonEqual(t, ev.Extra, data)
	jsonEqual(t, ev.EnvelopeExtra, `{"via":"bridge"}`)

	// An empty data object is kept too.
	if err := d.Decode([]byte(msg("widget.spun", `{}`)), &ev); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, ev.Extra, `{}`)

	// Type names are case-sensitive: a near miss is an unknown type, not
	// validated as the known one.
	if err := d.Decode([]byte(msg("Ticket.Reopened", `{}`)), &ev); err != nil || ev.Type != -1 {
		t.Errorf("Ticket.Reopened: %v, Type %d", err, ev.Type)
	}
	if d.TypeIndex("widget.spun") != -1 || d.TypeIndex("csat.submitted") < 0 {
		t.Error("TypeIndex")
	}
}

// fastjson unescapes strings best-effort: a malformed escape in a known
// field is kept as written rather than refused. That is harmless (the
// value is stored as text); this test pins the behaviour so that a change
// is deliberate.
func TestDecodeLenientEscapes(t *testing.T) {
	d := NewDecoder(0)
	var ev Event
	for _, tt := range []struct{ lit, want string }{
		{`"t-\x"`, `t-\x`},
		{`"t-\u12"`, `t-\u12`},
		{`"t-\ud800"`, `t-\ud800`},
		{"\"t-\x01\"", "t-\x01"}, // a raw control character
	} {
		if err := d.Decode([]byte(msg("ticket.reopened", `{"ticket_id":`+tt.lit+`}`)), &ev); err != nil {
			t.Errorf("%s: %v", tt.lit, err)
			continue
		}
		if got := string(ev.Values[0].Bytes); got != tt.want {
			t.Errorf("%s: ticket_id %q, want %q", tt.lit, got, tt.want)
		}
	}
}

// Extra and EnvelopeExtra go to DuckDB JSON columns, which refuse raw
// control characters, bad escapes and lone surrogates that fastjson lets
// through: the decoder re-encodes strings so the columns get JSON.
func TestDecodeExtraIsStrictJSON(t *testing.T) {
	d := NewDecoder(0)
	var ev Event
	for _, tt := range []struct{ lit, want string }{
		{"\"a\tb\x01\"", `"a\tb\u0001"`},                    // raw control characters
		{`"a\u0001\u007f\u00e9"`, "\"a\\u0001\x7f\u00e9\""}, // escapes are unescaped
		{`"bad \x escape"`, `"bad \\x escape"`},
		{`"lone \ud800"`, `"lone \\ud800"`},
		{`"pair \ud83d\ude00"`, "\"pair \U0001F600\""},
		{`"\/ \b \f"`, `"/ \u0008 \u000c"`},
		{`-0.5e+10`, `-0.5e+10`},
		{`[true,false,null,{}]`, `[true,false,null,{}]`},
	} {
		m := `{"event_id":"e","event_type":"ticket.reopened","occurred_at":"2026-10-14T09:30:00Z","env":` + tt.lit + `,"data":{"ticket_id":"t","x":` + tt.lit + `}}`
		if err := d.Decode([]byte(m), &ev); err != nil {
			t.Errorf("%s: %v", tt.lit, err)
			continue
		}
		if want := `{"x":` + tt.want + `}`; string(ev.Extra) != want {
			t.Errorf("%s: Extra %s, want %s", tt.lit, ev.Extra, want)
		}
		if want := `{"env":` + tt.want + `}`; string(ev.EnvelopeExtra) != want {
			t.Errorf("%s: EnvelopeExtra %s, want %s", tt.lit, ev.EnvelopeExtra, want)
		}
		if err := d.Decode([]byte(msg("widget.spun", `{"x":`+tt.lit+`}`)), &ev); err != nil {
			t.Errorf("unknown type, %s: %v", tt.lit, err)
		} else if want := `{"x":` + tt.want + `}`; string(ev.Extra) != want {
			t.Errorf("unknown type, %s: Extra %s, want %s", tt.lit, ev.Extra, want)
		}
	}
}

func TestIsJSONNumber(t *testing.T) {
	for _, s := range []string{"0", "-0", "7", "-12", "1.5", "0.25", "1e5", "1E+5", "2.5e-3", "-0.0e0", "123456789012345678901234567890"} {
		if !isJSONNumber([]byte(s)) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"", "-", "+1", "01", "-01", "1.", ".5", "1e", "1e+", "1-2", "1e5e5", "NaN", "Inf", "-inf", "0x10", "1_000", "1 ", "--1", "1.2.3"} {
		if isJSONNumber([]byte(s)) {
			t.Errorf("%q accepted", s)
		}
	}
}

// A decoder reused after a refusal decodes the next event correctly.
func TestDecodeReuseAfterRefusal(t *testing.T) {
	d := NewDecoder(0)
	var ev Event
	bad := msg("csat.submitted", `{"ticket_id":"t-9","score":9,"extra":1}`)
	good := msg("csat.submitted", `{"ticket_id":"t-1","score":4}`)
	for range 3 {
		if err := d.Decode([]byte(bad), &ev); err == nil {
			t.Fatal("bad accepted")
		}
		if err := d.Decode([]byte(good), &ev); err != nil {
			t.Fatal(err)
		}
		if string(ev.Values[0].Bytes) != "t-1" || ev.Values[1].Int != 4 || ev.Extra != nil {
			t.Fatalf("after a refusal: %v extra %q", ev.Values, ev.Extra)
		}
	}
}

func TestTypes(t *testing.T) {
	want := []string{
		"employee.upserted", "customer.upserted", "lead.created", "followup.logged",
		"opportunity.created", "opportunity.stage_changed", "user.login", "target.set",
		"contract.signed", "invoice.issued", "payment.received",
		"ticket.opened", "ticket.assigned", "ticket.responded", "ticket.resolved", "ticket.reopened", "csat.submitted",
	}
	types := Types()
	var got []string
	for _, typ := range types {
		got = append(got, typ.Name)
		if typ.Table != strings.ReplaceAll(typ.Name, ".", "_") {
			t.Errorf("%s: Table %q", typ.Name, typ.Table)
		}
		seen := map[string]bool{}
		for _, f := range typ.Fields {
			if seen[f.Name] {
				t.Errorf("%s: field %s twice", typ.Name, f.Name)
			}
			seen[f.Name] = true
			if f.Kind.String() == "unknown" {
				t.Errorf("%s.%s: kind %d", typ.Name, f.Name, f.Kind)
			}
			if (f.Kind == KindEnum) != (len(f.Enum) > 0) {
				t.Errorf("%s.%s: enum values %v for kind %s", typ.Name, f.Name, f.Enum, f.Kind)
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Types() = %v\nwant %v", got, want)
	}
	// Each call builds a fresh slice: changing one does not change the next.
	types[0].Fields[0].Name = "changed"
	if Types()[0].Fields[0].Name == "changed" {
		t.Error("Types() shares its slices between calls")
	}
}

// fuzzSeeds are the messages of the tables above.
func fuzzSeeds() []string {
	var seeds []string
	for _, c := range append(append(envelopeRefusals(), dataRefusals()...), specRefusals()...) {
		seeds = append(seeds, c.msg)
	}
	for _, typ := range Types() {
		seeds = append(seeds,
			msg(typ.Name, dataObject(typ, requiredOnly, nil)),
			msg(typ.Name, dataObject(typ, all, nil)))
	}
	return append(seeds, string(benchMsg), `{"event_id":"e","event_type":"x.y","occurred_at":"2026-10-14T09:30:00Z","data":{"a":[{}]},"z":null}`)
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	d := NewDecoder(4096)
	f.Fuzz(func(t *testing.T, m []byte) {
		var ev Event
		err := d.Decode(m, &ev)
		if err != nil {
			r, ok := AsRefusal(err)
			if !ok || r.Code == "" || r.Reason == "" {
				t.Fatalf("error is not a complete *Refusal: %#v", err)
			}
			return
		}
		if n := utf8.RuneCount(ev.ID); n < 1 || n > 128 {
			t.Fatalf("accepted an event_id of %d runes: %q", n, ev.ID)
		}
		if len(ev.TypeName) == 0 {
			t.Fatal("accepted an empty event_type")
		}
		if ev.Type >= 0 {
			if ev.Type >= len(d.Types) || len(ev.Values) != len(d.Types[ev.Type].Fields) {
				t.Fatalf("Type %d with %d values", ev.Type, len(ev.Values))
			}
			for i, fld := range d.Types[ev.Type].Fields {
				if fld.Required && ev.Values[i].Null {
					t.Fatalf("required %s is null", fld.Name)
				}
				if fld.Kind == KindMoney && !ev.Values[i].Null && (ev.Values[i].Int < 0 || ev.Values[i].Int > 1e18-1) {
					t.Fatalf("%s = %d cents", fld.Name, ev.Values[i].Int)
				}
			}
		} else if ev.Extra == nil {
			t.Fatal("unknown type without its data in Extra")
		}
		// Extra and EnvelopeExtra go to DuckDB JSON columns: they must be
		// JSON, without the lone surrogates DuckDB refuses.
		for _, b := range [][]byte{ev.Extra, ev.EnvelopeExtra} {
			if b != nil && (!json.Valid(b) || hasUnicodeEscape(b)) {
				t.Fatalf("invalid JSON kept: %s", b)
			}
		}
	})
}

// hasUnicodeEscape reports a \uXXXX escape other than the \u00XX that
// appendString writes for control characters.
func hasUnicodeEscape(b []byte) bool {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\\' {
			if b[i+1] == 'u' && !bytes.HasPrefix(b[i+2:], []byte("00")) {
				return true
			}
			i++
		}
	}
	return false
}

// benchMsg is a typical followup.logged message of about 200 bytes.
var benchMsg = []byte(`{"event_id":"0b6e4c1e-5a8f-4d7e-9a51-6c2d7f3e8b90","event_type":"followup.logged","occurred_at":"2026-10-14T09:30:00+08:00","data":{"followup_id":"f-104233","customer_id":"c-20417","employee_id":"e-017","channel":"phone","duration_s":420}}`)

func BenchmarkDecode(b *testing.B) {
	d := NewDecoder(0)
	var ev Event
	b.ReportAllocs()
	b.SetBytes(int64(len(benchMsg)))
	for b.Loop() {
		if err := d.Decode(benchMsg, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
