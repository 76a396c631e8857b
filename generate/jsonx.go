package generate

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Small allocation-free JSON appenders. The generator builds every message by
// appending into one reused []byte; encoding/json is only used by tests.

const hexDigits = "0123456789abcdef"

// appendQuoted appends s as a JSON string (with quotes), escaping what JSON
// requires. Valid UTF-8 is copied as is; invalid bytes become U+FFFD.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendKey appends `,"key":` (or `"key":` when first is true).
func appendKey(b []byte, key string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendPadded appends n in decimal, zero-padded to at least width digits.
func appendPadded(b []byte, n int64, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	if n < 0 {
		n = 0
	}
	for n > 0 || i == len(tmp) {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	for len(tmp)-i < width {
		i--
		tmp[i] = '0'
	}
	return append(b, tmp[i:]...)
}

// appendMoney appends an amount in cents as a JSON number with at most two
// decimals and no trailing zeros: 1280050 -> 12800.5, 1280000 -> 12800.
func appendMoney(b []byte, cents int64) []byte {
	if cents < 0 {
		b = append(b, '-')
		cents = -cents
	}
	b = strconv.AppendInt(b, cents/100, 10)
	frac := cents % 100
	switch {
	case frac == 0:
	case frac%10 == 0:
		b = append(b, '.', byte('0'+frac/10))
	default:
		b = append(b, '.', byte('0'+frac/10), byte('0'+frac%10))
	}
	return b
}

// appendUUID appends a version-4-shaped UUID made from two random words.
func appendUUID(b []byte, hi, lo uint64) []byte {
	hi = (hi &^ (0xf << 12)) | (4 << 12)   // version 4
	lo = (lo &^ (0x3 << 62)) | (0x2 << 62) // RFC 4122 variant
	var u [16]byte
	for i := 0; i < 8; i++ {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	b = append(b, '"')
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[x>>4], hexDigits[x&0xf])
	}
	return append(b, '"')
}

// clock formats unix seconds in the business time zone. It caches the zone
// offset of the current hour, so formatting is a handful of integer ops.
type clock struct {
	loc      *time.Location
	from, to int64 // [from, to) unix seconds where off is valid
	off      int64 // zone offset in seconds
}

func newClock(loc *time.Location) *clock {
	return &clock{loc: loc, from: 1, to: 0}
}

func (c *clock) offset(u int64) int64 {
	if u >= c.from && u < c.to {
		return c.off
	}
	_, off := time.Unix(u, 0).In(c.loc).Zone()
	// Zone transitions happen on hour or half-hour boundaries at worst; cache
	// the offset for the surrounding 15 minutes.
	c.from = u - u%900
	c.to = c.from + 900
	if _, off2 := time.Unix(c.from, 0).In(c.loc).Zone(); off2 != off {
		c.from = u
	}
	if _, off3 := time.Unix(c.to-1, 0).In(c.loc).Zone(); off3 != off {
		c.to = u + 1
	}
	c.off = int64(off)
	return c.off
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date.
func civil(days int64) (y, m, d int64) {
	days += 719468
	era := days / 146097
	if days < 0 && days%146097 != 0 {
		era = (days - 146096) / 146097
	}
	doe := days - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// appendTime appends a quoted RFC 3339 timestamp with the zone's offset.
func (c *clock) appendTime(b []byte, u int64) []byte {
	off := c.offset(u)
	l := u + off
	days := floorDiv(l, 86400)
	sec := l - days*86400
	y, m, d := civil(days)
	b = append(b, '"')
	b = appendPadded(b, y, 4)
	b = append(b, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10), 'T')
	h, mi, s := sec/3600, sec/60%60, sec%60
	b = append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10))
	if off == 0 {
		b = append(b, 'Z')
	} else {
		sign := byte('+')
		if off < 0 {
			sign = '-'
			off = -off
		}
		oh, om := off/3600, off/60%60
		b = append(b, sign, byte('0'+oh/10), byte('0'+oh%10), ':', byte('0'+om/10), byte('0'+om%10))
	}
	return append(b, '"')
}

// appendDate appends a quoted YYYY-MM-DD date of u in the zone.
func (c *clock) appendDate(b []byte, u int64) []byte {
	l := u + c.offset(u)
	y, m, d := civil(floorDiv(l, 86400))
	b = append(b, '"')
	b = appendPadded(b, y, 4)
	b = append(b, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
	return append(b, '"')
}

// appendMonth appends a quoted YYYY-MM month of u in the zone.
func (c *clock) appendMonth(b []byte, u int64) []byte {
	l := u + c.offset(u)
	y, m, _ := civil(floorDiv(l, 86400))
	b = append(b, '"')
	b = appendPadded(b, y, 4)
	b = append(b, '-', byte('0'+m/10), byte('0'+m%10))
	return append(b, '"')
}
