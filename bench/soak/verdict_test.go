package main

import (
	"math"
	"testing"
)

// TestVerdicts: a level that settles passes, one that keeps climbing fails,
// and a lag that wobbles within a few seconds of traffic passes even when
// its line tilts up.
func TestVerdicts(t *testing.T) {
	const rate = 10_000
	ts := make([]float64, 180) // 30 minutes of 10 s samples
	for i := range ts {
		ts[i] = float64(i * 10)
	}
	series := func(f func(t float64, i int) float64) []float64 {
		out := make([]float64, len(ts))
		for i, t := range ts {
			out[i] = f(t, i)
		}
		return out
	}
	const gib = 1 << 30
	tests := []struct {
		name string
		got  verdict
		ok   bool
	}{
		{"lag flat with batching noise", lagVerdict(ts, series(func(_ float64, i int) float64 { return float64(5000 + (i%3)*4000) }), rate), true},
		{"lag growing at 1% of the rate", lagVerdict(ts, series(func(t float64, _ int) float64 { return 0.01 * rate * t }), rate), false},
		{"lag tilting up but under the floor", lagVerdict(ts, series(func(t float64, _ int) float64 { return 20 * t }), rate), true},
		{"lag catching up", lagVerdict(ts, series(func(t float64, _ int) float64 { return math.Max(0, 1e6-600*t) }), rate), true},
		{"rss settling after warm-up", rssVerdict("rss", ts, series(func(t float64, _ int) float64 { return gib * (1.5 - math.Exp(-t/200)) })), true},
		{"rss leaking 10 MiB a minute", rssVerdict("rss", ts, series(func(t float64, _ int) float64 { return gib + t/60*10*(1<<20) })), false},
		{"too few samples", rssVerdict("rss", ts[:3], []float64{1, 2, 3}), false},
	}
	for _, tt := range tests {
		if tt.got.ok != tt.ok {
			t.Errorf("%s: ok = %v, want %v (%s)", tt.name, tt.got.ok, tt.ok, tt.got.detail)
		}
	}
}
