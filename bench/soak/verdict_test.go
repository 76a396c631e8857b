package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
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

// TestJudgeAgain: samples written to samples.csv read back for -judge,
// cut at -until; a memory that climbs only after minute 30 passes when
// judged up to 30 minutes and fails over the hour; a bad number names its
// line and column.
func TestJudgeAgain(t *testing.T) {
	var b strings.Builder
	b.WriteString(sampleHeader + "\n")
	for i := range 360 { // an hour of 10 s samples
		rss := int64(1 << 30)
		if i >= 180 {
			rss += int64(i-180) << 22 // +4 MiB a sample: ~1.4 GiB an hour
		}
		sm := sample{t: float64(i * 10), lag: 5000, pulseRSS: rss, goHeap: 40 << 20, idIndex: int64(i) << 20}
		b.WriteString(sm.csv() + "\n")
	}
	path := filepath.Join(t.TempDir(), "samples.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	judge := func(until float64) map[string]bool {
		samples, err := readSamples(path, until)
		if err != nil {
			t.Fatal(err)
		}
		if want := int(min(360, until/10+1)); len(samples) != want {
			t.Fatalf("until %v s: %d samples, want %d", until, len(samples), want)
		}
		if last := samples[len(samples)-1]; last.goHeap != 40<<20 || last.idIndex>>20 != int64(len(samples)-1) {
			t.Errorf("last sample read back as heap %d, id index %d", last.goHeap, last.idIndex)
		}
		verdicts, _ := trends(samples, 10_000)
		ok := map[string]bool{}
		for _, v := range verdicts {
			ok[v.name] = v.ok
		}
		return ok
	}
	if ok := judge(1790); !ok["pulse run RSS bounded"] || !ok["live Go heap"] || !ok["lag bounded"] {
		t.Errorf("first half hour: %v, want all ok", ok)
	}
	if ok := judge(math.Inf(1)); ok["pulse run RSS bounded"] {
		t.Errorf("the hour: %v, want RSS failed", ok)
	}

	bad := strings.Replace(b.String(), "\n10,5000,", "\n10,lots,", 1)
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readSamples(path, math.Inf(1)); err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "column lag") {
		t.Errorf("bad lag: got %v, want line 3, column lag", err)
	}
}
