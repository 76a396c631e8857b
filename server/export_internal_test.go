package server

import (
	"encoding/json"
	"testing"
)

// Text that a spreadsheet would take for a formula is quoted; numbers,
// negative ones included, and ordinary text are written as they are.
func TestCSVCell(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, ""},
		{"Li Wei", "Li Wei"},
		{"李伟", "李伟"},
		{"", ""},
		{"=HYPERLINK(\"http://x\",\"click\")", "'=HYPERLINK(\"http://x\",\"click\")"},
		{"+86 138", "'+86 138"},
		{"-1+2", "'-1+2"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{float64(-12.5), "-12.5"},
		{int64(-3), "-3"},
		{json.Number("-1234.50"), "-1234.50"},
	} {
		if got := csvCell(c.in); got != c.want {
			t.Errorf("csvCell(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}
