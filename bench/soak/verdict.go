package main

import (
	"fmt"
	"slices"
)

// What "grows without bound" means here. A run of half an hour cannot
// show that something grows for ever; it can show that a quantity still
// climbs steadily in its second half, once start-up, the first transform
// runs and DuckDB's buffer pool have settled. So each verdict fits a line
// to the second half of the samples and fails on a slope that would be
// significant if it went on, and only when the level reached is one that
// matters (a lag of a few seconds of traffic that wobbles up is not a
// backlog).
const (
	// lagSlopeShare: ingest falling behind by more than 0.5% of the input
	// rate, steadily.
	lagSlopeShare = 0.005
	// lagFloorSeconds: ... and the last quarter's median lag above this
	// many seconds of traffic.
	lagFloorSeconds = 10
	// rssGrowthPerHour: resident memory climbing by more than a quarter of
	// its level per hour.
	rssGrowthPerHour = 0.25
)

type verdict struct {
	name   string
	ok     bool
	detail string
}

func (v verdict) String() string {
	mark := "ok"
	if !v.ok {
		mark = "FAILED"
	}
	return fmt.Sprintf("%-28s %-6s %s", v.name, mark, v.detail)
}

// lagVerdict judges the ingest lag (messages) sampled at ts (seconds) with
// events arriving at rate per second.
func lagVerdict(ts, lag []float64, rate float64) verdict {
	v := verdict{name: "lag bounded", ok: true}
	xs, ys := secondHalf(ts), secondHalf(lag)
	if len(xs) < 4 {
		return verdict{name: v.name, detail: "too few samples to judge"}
	}
	s := slope(xs, ys)
	tail := median(ys[len(ys)/2:]) // the run's last quarter
	v.detail = fmt.Sprintf("second half: slope %+.1f messages/s (limit %.0f), last quarter's median lag %.0f (%.1f s of traffic; floor %d s)",
		s, lagSlopeShare*rate, tail, tail/rate, lagFloorSeconds)
	if s > lagSlopeShare*rate && tail > lagFloorSeconds*rate {
		v.ok = false
	}
	return v
}

// rssVerdict judges one process's resident memory (bytes) sampled at ts.
func rssVerdict(name string, ts, rss []float64) verdict {
	v := verdict{name: name, ok: true}
	xs, ys := secondHalf(ts), secondHalf(rss)
	if len(xs) < 4 {
		return verdict{name: name, detail: "too few samples to judge"}
	}
	s := slope(xs, ys) * 3600
	level := mean(ys)
	v.detail = fmt.Sprintf("second half: %+.0f MiB/hour on a level of %.0f MiB (limit %+.0f MiB/hour, %.0f%% of it)",
		s/(1<<20), level/(1<<20), rssGrowthPerHour*level/(1<<20), rssGrowthPerHour*100)
	if s > rssGrowthPerHour*level {
		v.ok = false
	}
	return v
}

// secondHalf is the second half of a series.
func secondHalf(xs []float64) []float64 { return xs[len(xs)/2:] }

// slope is the least-squares slope of ys against xs.
func slope(xs, ys []float64) float64 {
	mx, my := mean(xs), mean(ys)
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
