package event

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Refusal is why a message was refused: a short code for metrics and
// grouping, and the reason in words for the person reading
// ops.refused_events.
type Refusal struct {
	Code   string // invalid_json, not_object, too_large, missing_field, wrong_type, out_of_range, bad_timestamp
	Reason string
}

func (r *Refusal) Error() string { return r.Reason }

// Refusal codes.
const (
	CodeTooLarge     = "too_large"
	CodeInvalidJSON  = "invalid_json"
	CodeNotObject    = "not_object"
	CodeMissingField = "missing_field"
	CodeWrongType    = "wrong_type"
	CodeOutOfRange   = "out_of_range"
	CodeBadTimestamp = "bad_timestamp"
)

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// AsRefusal returns the refusal inside err, if any.
func AsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

// Value is one decoded data field. Which member holds the value depends on
// the field's Kind: Bytes for id, text and enum; Int for money (cents),
// integer, bool (0/1), ts (Unix microseconds), date and month (days since
// 1970-01-01); Float for number.
type Value struct {
	Null  bool
	Bytes []byte
	Int   int64
	Float float64
}

// Event is a decoded, valid event. Byte slices point into the decoder's
// buffers and are valid until the next call to Decode.
type Event struct {
	ID         []byte
	TypeName   []byte
	Type       int   // index into Decoder.Types, or -1 for an unknown type
	OccurredAt int64 // Unix microseconds
	RecordedAt int64 // Unix microseconds; occurred_at when absent
	Values     []Value
	// Extra holds the data fields the contract does not name, as a JSON
	// object, or nil. For an unknown type it holds the whole data object.
	Extra []byte
	// EnvelopeExtra holds top-level fields beside the envelope, or nil.
	EnvelopeExtra []byte
}

// Decoder validates messages against the contract. It reuses its buffers
// and is not safe for concurrent use; give each goroutine its own.
type Decoder struct {
	Types    []Type
	MaxBytes int

	byName  map[string]int
	fields  []map[string]int
	parser  fastjson.Parser
	values  []Value
	extra   []byte
	envelop []byte
	seen    []bool
	num     []byte
}

// DefaultMaxBytes is the message size limit of events.md.
const DefaultMaxBytes = 1 << 20

// NewDecoder returns a decoder for the known types; maxBytes ≤ 0 means
// DefaultMaxBytes.
func NewDecoder(maxBytes int) *Decoder {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	d := &Decoder{Types: Types(), MaxBytes: maxBytes, byName: map[string]int{}}
	maxFields := 0
	for i, t := range d.Types {
		d.byName[t.Name] = i
		m := make(map[string]int, len(t.Fields))
		for j, f := range t.Fields {
			m[f.Name] = j
		}
		d.fields = append(d.fields, m)
		maxFields = max(maxFields, len(t.Fields))
	}
	d.values = make([]Value, maxFields)
	d.seen = make([]bool, maxFields)
	return d
}

// TypeIndex returns the index of a known type name, or -1.
func (d *Decoder) TypeIndex(name string) int {
	if i, ok := d.byName[name]; ok {
		return i
	}
	return -1
}

// Check reports whether msg is a valid event, with the refusal if not.
// It is a convenience for tests and tools; ingest keeps one Decoder.
func Check(msg []byte) error {
	var ev Event
	return NewDecoder(0).Decode(msg, &ev)
}

// Decode validates msg and fills ev. A non-nil error is always a *Refusal.
func (d *Decoder) Decode(msg []byte, ev *Event) error {
	if len(msg) > d.MaxBytes {
		return refuse(CodeTooLarge, "message is %d bytes, over the %d-byte limit", len(msg), d.MaxBytes)
	}
	if !utf8.Valid(msg) {
		return refuse(CodeInvalidJSON, "message is not valid UTF-8")
	}
	root, err := d.parser.ParseBytes(msg)
	if err != nil {
		return refuse(CodeInvalidJSON, "message is not valid JSON: %v", err)
	}
	obj, err := root.Object()
	if err != nil {
		return refuse(CodeNotObject, "message is a JSON %s, not an object", root.Type())
	}
	*ev = Event{Type: -1}
	d.envelop = d.envelop[:0]
	var occurred, recorded, data *fastjson.Value
	var envErr *Refusal
	obj.Visit(func(key []byte, v *fastjson.Value) {
		switch string(key) {
		case "event_id":
			ev.ID = v.GetStringBytes()
			if v.Type() != fastjson.TypeString {
				envErr = firstRefusal(envErr, refuse(CodeWrongType, "event_id must be a string, got %s", v.Type()))
			}
		case "event_type":
			ev.TypeName = v.GetStringBytes()
			if v.Type() != fastjson.TypeString {
				envErr = firstRefusal(envErr, refuse(CodeWrongType, "event_type must be a string, got %s", v.Type()))
			}
		case "occurred_at":
			occurred = v
		case "recorded_at":
			recorded = v
		case "data":
			data = v
		default:
			var ok bool
			if d.envelop, ok = appendMember(d.envelop, key, v); !ok {
				envErr = firstRefusal(envErr, refuse(CodeInvalidJSON, "message is not valid JSON: %s holds a malformed number", key))
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	switch n := utf8.RuneCount(ev.ID); {
	case ev.ID == nil:
		return refuse(CodeMissingField, "missing required field event_id")
	case n == 0 || n > 128:
		return refuse(CodeOutOfRange, "event_id must be 1–128 characters, got %d", n)
	}
	if ev.TypeName == nil {
		return refuse(CodeMissingField, "missing required field event_type")
	}
	if len(ev.TypeName) == 0 {
		return refuse(CodeOutOfRange, "event_type must not be empty")
	}
	if occurred == nil || occurred.Type() == fastjson.TypeNull {
		return refuse(CodeMissingField, "missing required field occurred_at")
	}
	if ev.OccurredAt, err = parseTime("occurred_at", occurred); err != nil {
		return err
	}
	ev.RecordedAt = ev.OccurredAt
	if recorded != nil && recorded.Type() != fastjson.TypeNull {
		if ev.RecordedAt, err = parseTime("recorded_at", recorded); err != nil {
			return err
		}
	}
	if data == nil || data.Type() == fastjson.TypeNull {
		return refuse(CodeMissingField, "missing required field data")
	}
	dataObj, err := data.Object()
	if err != nil {
		return refuse(CodeWrongType, "data must be an object, got %s", data.Type())
	}
	if len(d.envelop) > 0 {
		ev.EnvelopeExtra = closeObject(d.envelop)
	}
	ti, known := d.byName[string(ev.TypeName)]
	if !known {
		var ok bool
		if d.extra, ok = appendValue(d.extra[:0], data); !ok {
			return refuse(CodeInvalidJSON, "message is not valid JSON: data holds a malformed number")
		}
		ev.Extra = d.extra
		return nil
	}
	ev.Type = ti
	return d.decodeData(ev, ti, dataObj)
}

func (d *Decoder) decodeData(ev *Event, ti int, obj *fastjson.Object) error {
	typ := &d.Types[ti]
	names := d.fields[ti]
	values := d.values[:len(typ.Fields)]
	seen := d.seen[:len(typ.Fields)]
	for i := range values {
		values[i] = Value{Null: true}
		seen[i] = false
	}
	d.extra = d.extra[:0]
	var firstErr *Refusal
	obj.Visit(func(key []byte, v *fastjson.Value) {
		fi, ok := names[string(key)]
		if !ok {
			if d.extra, ok = appendMember(d.extra, key, v); !ok {
				firstErr = firstRefusal(firstErr, refuse(CodeInvalidJSON, "message is not valid JSON: data.%s holds a malformed number", key))
			}
			return
		}
		seen[fi] = true
		switch v.Type() {
		case fastjson.TypeNull:
			values[fi] = Value{Null: true}
			return
		case fastjson.TypeNumber:
			// fastjson reads NaN, 1-2 or 03 as numbers, and GetFloat64
			// makes 0 of what it cannot read: check the literal first.
			if d.num = v.MarshalTo(d.num[:0]); !isJSONNumber(d.num) {
				firstErr = firstRefusal(firstErr, refuse(CodeInvalidJSON, "data.%s is not a JSON number: %s", key, d.num))
				return
			}
		}
		val, r := convert(&typ.Fields[fi], v)
		if r != nil {
			firstErr = firstRefusal(firstErr, r)
			return
		}
		values[fi] = val
	})
	if firstErr != nil {
		return firstErr
	}
	for i := range typ.Fields {
		f := &typ.Fields[i]
		if values[i].Null {
			switch {
			case f.Required && seen[i]:
				return refuse(CodeMissingField, "data.%s is required for %s but is null", f.Name, typ.Name)
			case f.Required:
				return refuse(CodeMissingField, "missing required field data.%s for %s", f.Name, typ.Name)
			case f.DefaultFalse:
				values[i] = Value{Int: 0}
			}
		}
	}
	ev.Values = values
	if len(d.extra) > 0 {
		d.extra = closeObject(d.extra)
		ev.Extra = d.extra
	}
	return nil
}

func firstRefusal(have, r *Refusal) *Refusal {
	if have != nil {
		return have
	}
	return r
}

// appendMember appends `"key":value` to a JSON object under construction
// (without its braces). It reports false when value holds a number that is
// not JSON.
func appendMember(buf, key []byte, v *fastjson.Value) ([]byte, bool) {
	if len(buf) == 0 {
		buf = append(buf, '{')
	} else {
		buf = append(buf, ',')
	}
	buf = appendString(buf, key)
	buf = append(buf, ':')
	return appendValue(buf, v)
}

// appendValue appends v as strict JSON, for the JSON columns (DuckDB
// refuses what is not). fastjson's parser is lenient, and its MarshalTo
// copies strings and numbers as they came (raw control characters, \x
// escapes, lone surrogates) or quotes them with strconv.AppendQuote (\x01,
// \a), so strings are re-encoded here and numbers checked. It reports
// false when v holds a number that is not JSON (NaN, Inf, 1-2, 03, +1).
func appendValue(buf []byte, v *fastjson.Value) ([]byte, bool) {
	ok := true
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		buf = append(buf, '{')
		first := true
		o.Visit(func(key []byte, v *fastjson.Value) {
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = appendString(buf, key)
			buf = append(buf, ':')
			var vok bool
			buf, vok = appendValue(buf, v)
			ok = ok && vok
		})
		return append(buf, '}'), ok
	case fastjson.TypeArray:
		a, _ := v.Array()
		buf = append(buf, '[')
		for i, e := range a {
			if i > 0 {
				buf = append(buf, ',')
			}
			var eok bool
			buf, eok = appendValue(buf, e)
			ok = ok && eok
		}
		return append(buf, ']'), ok
	case fastjson.TypeString:
		return appendString(buf, v.GetStringBytes()), true
	case fastjson.TypeNumber:
		n := len(buf)
		buf = v.MarshalTo(buf)
		return buf, isJSONNumber(buf[n:])
	}
	return v.MarshalTo(buf), true // true, false, null
}

// appendString appends s as a JSON string, escaping what JSON requires.
func appendString(buf, s []byte) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// isJSONNumber reports whether b is a number of RFC 8259:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func isJSONNumber(b []byte) bool {
	digits := func(i int) int { // index after the digits from i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i
	}
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		if j := digits(i + 1); j > i+1 {
			i = j
		} else {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if j := digits(i); j > i {
			i = j
		} else {
			return false
		}
	}
	return i == len(b)
}

func closeObject(buf []byte) []byte { return append(buf, '}') }

func parseTime(name string, v *fastjson.Value) (int64, error) {
	b, err := v.StringBytes()
	if err != nil {
		return 0, refuse(CodeWrongType, "%s must be an RFC 3339 timestamp string, got %s", name, v.Type())
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return 0, refuse(CodeBadTimestamp, "%s is not an RFC 3339 timestamp with offset: %q", name, b)
	}
	return t.UnixMicro(), nil
}

const maxCents = 1e18 - 1 // DECIMAL(18,2): below 10^16 in units

func convert(f *Field, v *fastjson.Value) (Value, *Refusal) {
	wrongType := func(want string) *Refusal {
		return refuse(CodeWrongType, "data.%s must be %s, got %s", f.Name, want, v.Type())
	}
	switch f.Kind {
	case KindID, KindText, KindEnum:
		b, err := v.StringBytes()
		if err != nil {
			return Value{}, wrongType("a string")
		}
		switch f.Kind {
		case KindID:
			if n := utf8.RuneCount(b); n == 0 || n > 128 {
				return Value{}, refuse(CodeOutOfRange, "data.%s must be an id of 1–128 characters, got %d", f.Name, n)
			}
		case KindEnum:
			if !inSet(f.Enum, b) {
				return Value{}, refuse(CodeOutOfRange, "data.%s must be one of %v, got %q", f.Name, f.Enum, b)
			}
		}
		return Value{Bytes: b}, nil
	case KindTime:
		us, err := parseTime("data."+f.Name, v)
		if err != nil {
			return Value{}, err.(*Refusal)
		}
		return Value{Int: us}, nil
	case KindDate, KindMonth:
		b, err := v.StringBytes()
		layout, want := "2006-01-02", "a YYYY-MM-DD date"
		if f.Kind == KindMonth {
			layout, want = "2006-01", "a YYYY-MM month"
		}
		if err != nil {
			return Value{}, wrongType(want + " string")
		}
		t, perr := time.Parse(layout, string(b))
		if perr != nil {
			return Value{}, refuse(CodeBadTimestamp, "data.%s must be %s, got %q", f.Name, want, b)
		}
		return Value{Int: t.Unix() / 86400}, nil
	case KindMoney:
		var raw []byte
		switch v.Type() {
		case fastjson.TypeNumber:
			raw = v.MarshalTo(nil)
		case fastjson.TypeString:
			raw = v.GetStringBytes()
		default:
			return Value{}, wrongType("a number or numeric string")
		}
		cents, reason := parseMoney(raw)
		if reason != "" {
			return Value{}, refuse(CodeOutOfRange, "data.%s %s, got %s", f.Name, reason, raw)
		}
		return Value{Int: cents}, nil
	case KindBool:
		switch v.Type() {
		case fastjson.TypeTrue:
			return Value{Int: 1}, nil
		case fastjson.TypeFalse:
			return Value{Int: 0}, nil
		}
		return Value{}, wrongType("true or false")
	case KindInt:
		if v.Type() != fastjson.TypeNumber {
			return Value{}, wrongType("an integer")
		}
		fv := v.GetFloat64()
		if fv != math.Trunc(fv) || math.Abs(fv) > 1<<53 {
			return Value{}, refuse(CodeWrongType, "data.%s must be an integer, got %v", f.Name, fv)
		}
		n := int64(fv)
		if n < f.Min || (f.Max != 0 && n > f.Max) {
			if f.Max != 0 {
				return Value{}, refuse(CodeOutOfRange, "data.%s must be between %d and %d, got %d", f.Name, f.Min, f.Max, n)
			}
			return Value{}, refuse(CodeOutOfRange, "data.%s must be ≥ %d, got %d", f.Name, f.Min, n)
		}
		return Value{Int: n}, nil
	case KindNumber:
		if v.Type() != fastjson.TypeNumber {
			return Value{}, wrongType("a number")
		}
		fv := v.GetFloat64()
		if fv < 0 || math.IsInf(fv, 0) || math.IsNaN(fv) {
			return Value{}, refuse(CodeOutOfRange, "data.%s must be a number ≥ 0, got %v", f.Name, fv)
		}
		return Value{Float: fv}, nil
	}
	return Value{}, refuse(CodeWrongType, "data.%s has an unsupported kind", f.Name)
}

func inSet(set []string, b []byte) bool {
	for _, s := range set {
		if s == string(b) {
			return true
		}
	}
	return false
}

// parseMoney turns a decimal literal into cents. It returns a reason in
// words when the literal is not a money amount of events.md.
func parseMoney(b []byte) (int64, string) {
	// Fast path: plain digits with an optional point and ≤ 2 decimals.
	var cents int64
	decimals, point, digits := 0, false, 0
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if point {
				decimals++
				if decimals > 2 {
					return slowMoney(b)
				}
			}
			digits++
			if digits > 16 {
				// 17 digits and more could overflow int64 below; they
				// are rare (or leading zeros), and exact on the slow path.
				return slowMoney(b)
			}
			cents = cents*10 + int64(c-'0')
		case c == '.' && !point && i > 0:
			point = true
		default:
			return slowMoney(b)
		}
	}
	if digits == 0 || (point && decimals == 0) {
		return slowMoney(b)
	}
	for ; decimals < 2; decimals++ {
		cents *= 10
	}
	if cents > maxCents {
		return 0, "must be below 10^16"
	}
	return cents, ""
}

// slowMoney handles signs, exponents and the refusals exactly with
// rationals, so that 1.5e2 is 150.00 and 0.125 is refused.
func slowMoney(b []byte) (int64, string) {
	for _, c := range b {
		// big.Rat also reads fractions and base prefixes; money is decimal only.
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, "must be a decimal number"
		}
	}
	// big.Rat computes 10^exp: 1e999999 takes ~30ms, and a message may
	// repeat a key thousands of times. A non-zero mantissa of n characters
	// is ≥ 10^16 when exp > n+16, and has more than 2 decimals when
	// exp < -n-2, so neither needs computing.
	if i := bytes.IndexAny(b, "eE"); i >= 0 {
		exp, err := strconv.Atoi(string(b[i+1:]))
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange):
			return 0, "must be a decimal number"
		case err == nil && exp >= -len(b)-2 && exp <= len(b)+16:
		case !bytes.ContainsAny(b[:i], "123456789"):
			b = b[:i] // zero stays zero, whatever the exponent
		case exp > 0:
			return 0, "must be below 10^16"
		default:
			return 0, "must have at most 2 decimals"
		}
	}
	r, ok := new(big.Rat).SetString(string(b))
	if !ok || len(b) == 0 {
		return 0, "must be a decimal number"
	}
	if r.Sign() < 0 {
		return 0, "must be ≥ 0"
	}
	r.Mul(r, big.NewRat(100, 1))
	if !r.IsInt() {
		return 0, "must have at most 2 decimals"
	}
	n := r.Num()
	if !n.IsInt64() || n.Int64() > maxCents {
		return 0, "must be below 10^16"
	}
	return n.Int64(), ""
}
