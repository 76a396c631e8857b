package dashboard_test

import (
	"testing"
	"time"

	"github.com/pulsekpi/pulse/dashboard"
)

// The period before is cut as far into it as today is into the period
// shown, never past its end; a period that is over, or not begun, is set
// against the whole period before.
func TestPrevPeriodCut(t *testing.T) {
	d := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	at := func(s string) time.Time {
		v, _ := time.ParseInLocation("2006-01-02 15:04", s, time.FixedZone("CST", 8*3600))
		return v
	}
	for _, c := range []struct {
		grain, start string
		now          time.Time
		want         string
	}{
		{"month", "2026-12-01", at("2026-12-06 09:00"), "2026-11-07"}, // 6 days in: Nov 1-6
		{"month", "2026-12-01", at("2026-12-01 00:30"), "2026-11-02"}, // the first day
		{"month", "2026-03-01", at("2026-03-31 18:00"), "2026-03-01"}, // 31 days; February has 28
		{"month", "2026-03-01", at("2026-03-28 18:00"), "2026-03-01"}, // all 28 of February
		{"month", "2026-03-01", at("2026-03-27 18:00"), "2026-02-28"},
		{"month", "2026-11-01", at("2026-12-06 09:00"), "2026-11-01"}, // over: the whole of October
		{"month", "2027-01-01", at("2026-12-06 09:00"), "2027-01-01"}, // not begun
		{"week", "2026-11-30", at("2026-12-02 10:00"), "2026-11-26"},  // Mon-Wed against Mon-Wed
		{"quarter", "2026-10-01", at("2026-11-15 10:00"), "2026-08-16"},
		{"day", "2026-12-06", at("2026-12-06 10:00"), "2026-12-06"}, // the whole day before
	} {
		if got := dashboard.PrevPeriodCut(c.grain, d(c.start), c.now); !got.Equal(d(c.want)) {
			t.Errorf("%s %s at %v: cut %s, want %s", c.grain, c.start, c.now, got.Format(time.DateOnly), c.want)
		}
	}
}
