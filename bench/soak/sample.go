package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// recorder keeps request latencies: those of the current sample window,
// and all of them for the run's totals.
type recorder struct {
	mu          sync.Mutex
	window, all []int32 // microseconds
	errs, total int
	winErrs     int
	firstErr    string
}

func newRecorder() *recorder { return &recorder{} }

func (r *recorder) add(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs++
		r.winErrs++
		if r.firstErr == "" {
			r.firstErr = err.Error()
		}
		return
	}
	us := int32(min(d.Microseconds(), math.MaxInt32))
	r.window = append(r.window, us)
	r.all = append(r.all, us)
}

// take returns the window's latencies and errors and starts a new one.
func (r *recorder) take() ([]int32, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, e := r.window, r.winErrs
	r.window, r.winErrs = nil, 0
	return w, e
}

func quantile(us []int32, q float64) float64 {
	if len(us) == 0 {
		return 0
	}
	s := slices.Clone(us)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(q*float64(len(s))))]) / 1000
}

// sample is one row of samples.csv.
type sample struct {
	t                           float64 // seconds since the load started
	lag, next                   int64
	rate                        float64 // events stored per second since the last sample
	freshness                   float64 // seconds: now minus the last ok run's cut
	runsOK                      int
	lastRunS                    float64
	pulseRSS, brokerRSS, genRSS int64
	goHeap, idIndex, duckdbMem  int64
	jeAlloc, jeResident         int64 // DuckDB's jemalloc
	glibcInUse, glibcFree       int64 // the C library's malloc
	dbBytes, walBytes           int64
	tiles, tileErrs             int
	tileP50, tileP99            float64
	queries, queryErrs          int
	queryP50, queryP99          float64
	brokerErr, storeErr         string
}

const sampleHeader = "t_s,lag,stored_offsets,ingest_per_s,freshness_s,runs_ok,last_run_s,pulse_rss_mb,broker_rss_mb,generate_rss_mb,go_heap_mb,id_index_mb,duckdb_buffers_mb,je_allocated_mb,je_resident_mb,glibc_in_use_mb,glibc_free_mb,db_mb,wal_mb,tiles,tile_errors,tile_p50_ms,tile_p99_ms,queries,query_errors,query_p50_ms,query_p99_ms,broker_error,store_error"

func (s sample) csv() string {
	mb := func(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
	return strings.Join([]string{fmt.Sprintf("%.0f", s.t), fmt.Sprint(s.lag), fmt.Sprint(s.next), fmt.Sprintf("%.0f", s.rate),
		fmt.Sprintf("%.1f", s.freshness), fmt.Sprint(s.runsOK), fmt.Sprintf("%.1f", s.lastRunS),
		mb(s.pulseRSS), mb(s.brokerRSS), mb(s.genRSS), mb(s.goHeap), mb(s.idIndex), mb(s.duckdbMem), mb(s.jeAlloc), mb(s.jeResident), mb(s.glibcInUse), mb(s.glibcFree), mb(s.dbBytes), mb(s.walBytes),
		fmt.Sprint(s.tiles), fmt.Sprint(s.tileErrs), fmt.Sprintf("%.1f", s.tileP50), fmt.Sprintf("%.1f", s.tileP99),
		fmt.Sprint(s.queries), fmt.Sprint(s.queryErrs), fmt.Sprintf("%.1f", s.queryP50), fmt.Sprintf("%.1f", s.queryP99),
		strconv.Quote(s.brokerErr), strconv.Quote(s.storeErr)}, ",")
}

// soak is the measured part of the run.
type soak struct {
	o       options
	a       *api
	procs   map[string]*proc
	tiles   *recorder
	queries *recorder
	start   time.Time
	csv     *os.File
	samples []sample
	stalled time.Duration // the longest time stored offsets did not move
	lastMov time.Time
}

func (s *soak) takeSample() error {
	for _, p := range s.procs {
		if err := p.exited(); err != nil {
			return err
		}
	}
	now := time.Now()
	sm := sample{t: now.Sub(s.start).Seconds()}
	in, err := s.a.ingest()
	if err != nil {
		return fmt.Errorf("ingest status: %w", err)
	}
	sm.lag, sm.next, sm.brokerErr, sm.storeErr = in.lag, in.next, in.brokerErr, in.storeErr
	if n := len(s.samples); n > 0 {
		prev := s.samples[n-1]
		sm.rate = float64(sm.next-prev.next) / (sm.t - prev.t)
		if sm.next != prev.next {
			s.lastMov = now
		}
	} else {
		s.lastMov = now
	}
	s.stalled = max(s.stalled, now.Sub(s.lastMov))
	r, err := s.a.runs()
	if err != nil {
		return fmt.Errorf("transform runs: %w", err)
	}
	sm.runsOK, sm.lastRunS = r.okCount, r.lastDurMS/1000
	if !r.cut.IsZero() {
		sm.freshness = now.Sub(r.cut).Seconds()
	}
	sm.pulseRSS, sm.brokerRSS, sm.genRSS = s.procs["pulse"].rss(), s.procs["broker"].rss(), s.procs["generate"].rss()
	// What the last garbage collection left live: GOGC=100 sets the next
	// collection at twice that. heap_inuse would count garbage not yet
	// collected too, a sawtooth of ±50 MB that hides any trend.
	m := s.a.metrics()
	sm.goHeap = m["go_memstats_next_gc_bytes"] / 2
	sm.idIndex = m["pulse_warehouse_id_index_bytes"]
	sm.duckdbMem = m["pulse_duckdb_memory_bytes"]
	sm.jeAlloc = m[`pulse_c_memory_bytes{allocator="jemalloc",state="allocated"}`]
	sm.jeResident = m[`pulse_c_memory_bytes{allocator="jemalloc",state="resident"}`]
	sm.glibcInUse = m[`pulse_c_memory_bytes{allocator="glibc",state="in_use"}`]
	sm.glibcFree = m[`pulse_c_memory_bytes{allocator="glibc",state="free"}`]
	sm.dbBytes = fileSize(filepath.Join(s.o.dir, "data", "pulse.duckdb"))
	sm.walBytes = fileSize(filepath.Join(s.o.dir, "data", "pulse.duckdb.wal"))
	var w []int32
	w, sm.tileErrs = s.tiles.take()
	sm.tiles, sm.tileP50, sm.tileP99 = len(w), quantile(w, 0.5), quantile(w, 0.99)
	w, sm.queryErrs = s.queries.take()
	sm.queries, sm.queryP50, sm.queryP99 = len(w), quantile(w, 0.5), quantile(w, 0.99)
	s.samples = append(s.samples, sm)
	fmt.Fprintln(s.csv, sm.csv())
	fmt.Printf("%5.0fs lag %7d  ingest %6.0f/s  fresh %5.0fs  runs %3d (last %4.0fs)  rss pulse %5.0f broker %5.0f gen %4.0f MiB  heap %4.0f (ids %3.0f) duckdb %4.0f je %4.0f/%4.0f glibc %3.0f/%3.0f MiB  db %5.0f MiB  tiles %5d p99 %6.1f ms (%d err)  sql %3d p99 %6.1f ms (%d err)%s\n",
		sm.t, sm.lag, sm.rate, sm.freshness, sm.runsOK, sm.lastRunS, mib(sm.pulseRSS), mib(sm.brokerRSS), mib(sm.genRSS), mib(sm.goHeap),
		mib(sm.idIndex), mib(sm.duckdbMem), mib(sm.jeAlloc), mib(sm.jeResident), mib(sm.glibcInUse), mib(sm.glibcFree), mib(sm.dbBytes+sm.walBytes), sm.tiles, sm.tileP99, sm.tileErrs, sm.queries, sm.queryP99, sm.queryErrs, problems(sm))
	return nil
}

func problems(s sample) string {
	var p []string
	if s.brokerErr != "" {
		p = append(p, "broker: "+s.brokerErr)
	}
	if s.storeErr != "" {
		p = append(p, "store: "+s.storeErr)
	}
	if len(p) == 0 {
		return ""
	}
	return "  !! " + strings.Join(p, "; ")
}

// metrics reads /metrics: each name summed over its labels, and each
// labelled series under its full name (name{label="value"}).
func (a *api) metrics() map[string]int64 {
	out := map[string]int64{}
	req, _ := newGet(a.base + "/metrics")
	res, err := a.client.Do(req)
	if err != nil {
		return out
	}
	defer res.Body.Close()
	sums := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		sp := strings.LastIndexByte(line, ' ')
		if line == "" || line[0] == '#' || sp < 0 {
			continue
		}
		name, _, _ := strings.Cut(line[:sp], "{")
		f, _ := strconv.ParseFloat(line[sp+1:], 64)
		sums[name] += f
		if name != line[:sp] {
			sums[line[:sp]] = f
		}
	}
	for k, v := range sums {
		out[k] = int64(v)
	}
	return out
}

type report struct {
	text string
	ok   bool
}

// column is one field of every sample.
func column(samples []sample, f func(sample) float64) []float64 {
	out := make([]float64, len(samples))
	for i, sm := range samples {
		out[i] = f(sm)
	}
	return out
}

// trends judges what must not climb (lag, RSS, the live Go heap) over the
// second half of samples, and says where the RSS climb goes.
func trends(samples []sample, rate float64) ([]verdict, string) {
	col := func(f func(sample) float64) []float64 { return column(samples, f) }
	ts := col(func(s sample) float64 { return s.t })
	verdicts := []verdict{
		lagVerdict(ts, col(func(s sample) float64 { return float64(s.lag) }), rate),
		rssVerdict("pulse run RSS bounded", ts, col(func(s sample) float64 { return float64(s.pulseRSS) })),
		// The index of stored event ids, which grows with the stored events
		// by design (exact deduplication over all history), is kept off the
		// Go heap since soak run 7; the heap must not grow.
		rssVerdict("live Go heap", ts, col(func(s sample) float64 { return float64(s.goHeap) })),
	}
	if len(samples) < 8 {
		return verdicts, ""
	}
	// Where resident memory goes in the second half, so that a climb can be
	// placed: the Go heap counts twice (GOGC=100 lets garbage reach the
	// live size before a collection), the id index, off the heap, once.
	perHour := func(f func(sample) float64) float64 {
		return slope(secondHalf(ts), secondHalf(col(f))) * 3600 / (1 << 20)
	}
	split := fmt.Sprintf("Second half, MiB/hour: RSS %+.0f = DuckDB's jemalloc resident %+.0f (its buffer pool %+.0f) + glibc malloc in use %+.0f + Go heap ×2 %+.0f + id index %+.0f + the rest %+.0f.",
		perHour(func(s sample) float64 { return float64(s.pulseRSS) }),
		perHour(func(s sample) float64 { return float64(s.jeResident) }),
		perHour(func(s sample) float64 { return float64(s.duckdbMem) }),
		perHour(func(s sample) float64 { return float64(s.glibcInUse) }),
		perHour(func(s sample) float64 { return float64(2 * s.goHeap) }),
		perHour(func(s sample) float64 { return float64(s.idIndex) }),
		perHour(func(s sample) float64 {
			return float64(s.pulseRSS - s.jeResident - s.glibcInUse - 2*s.goHeap - s.idIndex)
		}))
	return verdicts, split
}

// report judges the run and writes it up in Markdown.
func (s *soak) report(end final) report {
	var b strings.Builder
	ok := true
	col := func(f func(sample) float64) []float64 { return column(s.samples, f) }
	ts := col(func(s sample) float64 { return s.t })
	verdicts, split := trends(s.samples, float64(s.o.rate))
	maxRSS := slices.Max(col(func(s sample) float64 { return float64(s.pulseRSS) }))
	verdicts = append(verdicts, verdict{name: "pulse run RSS under limit", ok: maxRSS <= float64(s.o.rssLimit<<20),
		detail: fmt.Sprintf("peak %.0f MiB, limit %d MiB", maxRSS/(1<<20), s.o.rssLimit)})
	verdicts = append(verdicts, verdict{name: "ingest never stalled", ok: s.stalled < 2*time.Minute,
		detail: fmt.Sprintf("longest time without a stored offset moving: %v (limit 2m)", s.stalled.Round(time.Second))})
	in := end.in
	accounted := in.stored + in.refused + in.dups + in.unknown
	verdicts = append(verdicts, verdict{name: "every offset accounted once", ok: in.next == in.hwm && accounted == in.next,
		detail: fmt.Sprintf("next offsets %d, high-water marks %d; stored %d + refused %d + duplicates %d + unknown type %d = %d",
			in.next, in.hwm, in.stored, in.refused, in.dups, in.unknown, accounted)})
	tileReqs, queryReqs := len(s.tiles.all)+s.tiles.errs, len(s.queries.all)+s.queries.errs
	verdicts = append(verdicts, verdict{name: "tile errors under 0.1%", ok: float64(s.tiles.errs) <= 0.001*float64(tileReqs),
		detail: fmt.Sprintf("%d of %d (first: %s)", s.tiles.errs, tileReqs, orNone(s.tiles.firstErr))})
	verdicts = append(verdicts, verdict{name: "query errors under 1%", ok: float64(s.queries.errs) <= 0.01*float64(queryReqs),
		detail: fmt.Sprintf("%d of %d (first: %s)", s.queries.errs, queryReqs, orNone(s.queries.firstErr))})

	last := s.samples[len(s.samples)-1]
	secs := last.t
	fmt.Fprintf(&b, "\n## Soak: %v at %d events/s, %d dashboard clients, %d analysts (GOMAXPROCS=%d)\n\n",
		s.o.dur, s.o.rate, s.o.clients, s.o.analysts, s.o.procs)
	if len(s.o.pulseEnv) > 0 {
		fmt.Fprintf(&b, "Settings of pulse run: %s\n\n", strings.Join(s.o.pulseEnv, " "))
	}
	fmt.Fprintf(&b, "| time (every %v) | lag | ingest/s | freshness | runs ok (last) | pulse RSS | live Go heap / id index | DuckDB buffers | jemalloc allocated / resident | glibc in use / free | broker RSS | DuckDB file+WAL | tiles/s | tile p50 | tile p99 | SQL p99 |\n",
		s.o.sample*time.Duration(max(1, len(s.samples)/15)))
	fmt.Fprintln(&b, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	step := max(1, len(s.samples)/15)
	for i := step - 1; i < len(s.samples); i += step {
		sm := s.samples[i]
		fmt.Fprintf(&b, "| %d:%02d | %d | %.0f | %.0f s | %d (%.0f s) | %.0f MiB | %.0f / %.0f MiB | %.0f MiB | %.0f / %.0f MiB | %.0f / %.0f MiB | %.0f MiB | %.0f MiB | %.0f | %.1f ms | %.1f ms | %.0f ms |\n",
			int(sm.t)/60, int(sm.t)%60, sm.lag, sm.rate, sm.freshness, sm.runsOK, sm.lastRunS, mib(sm.pulseRSS), mib(sm.goHeap), mib(sm.idIndex), mib(sm.duckdbMem), mib(sm.jeAlloc), mib(sm.jeResident), mib(sm.glibcInUse), mib(sm.glibcFree), mib(sm.brokerRSS),
			mib(sm.dbBytes+sm.walBytes), float64(sm.tiles)/s.o.sample.Seconds(), sm.tileP50, sm.tileP99, sm.queryP99)
	}
	fr := col(func(s sample) float64 { return s.freshness })
	lags := col(func(s sample) float64 { return float64(s.lag) })
	fmt.Fprintf(&b, "\n- Events stored during the load: %d (%.0f/s); in all %d offsets, %d stored, %d refused, %d duplicates.\n",
		last.next-s.samples[0].next, float64(last.next-s.samples[0].next)/(secs-s.samples[0].t), in.next, in.stored, in.refused, in.dups)
	fmt.Fprintf(&b, "- Lag: median %.0f, max %.0f messages. Freshness: median %.0f s, max %.0f s, second half %+.2f s per minute.\n",
		median(lags), slices.Max(lags), median(fr), slices.Max(fr), slope(secondHalf(ts), secondHalf(fr))*60)
	fmt.Fprintf(&b, "- Index of stored event ids: %.0f MiB at the end, %.1f bytes per stored offset (it grows with the stored events, by design).\n",
		mib(last.idIndex), float64(last.idIndex)/float64(max(last.next, 1)))
	if split != "" {
		fmt.Fprintf(&b, "- %s\n", split)
	}
	fmt.Fprintf(&b, "- Transform runs: %d ok during the load, the last took %.0f s.\n", last.runsOK-s.samples[0].runsOK, last.lastRunS)
	fmt.Fprintf(&b, "- Tiles: %d requests (%.0f/s), p50 %.1f ms, p99 %.1f ms, max %.0f ms, %d errors.\n", len(s.tiles.all),
		float64(len(s.tiles.all))/secs, quantile(s.tiles.all, 0.5), quantile(s.tiles.all, 0.99), quantile(s.tiles.all, 1), s.tiles.errs)
	fmt.Fprintf(&b, "- Ad-hoc SQL: %d queries, p50 %.0f ms, p99 %.0f ms, max %.0f ms, %d errors.\n", len(s.queries.all),
		quantile(s.queries.all, 0.5), quantile(s.queries.all, 0.99), quantile(s.queries.all, 1), s.queries.errs)
	fmt.Fprintf(&b, "- After the generator stopped: caught up in %v; SIGTERM stopped pulse run cleanly in %v.\n",
		end.catchUp.Round(time.Second), end.shutdown.Round(100*time.Millisecond))
	fmt.Fprintln(&b, "\n```")
	for _, v := range verdicts {
		fmt.Fprintln(&b, v)
		ok = ok && v.ok
	}
	fmt.Fprintln(&b, "```")
	return report{text: b.String(), ok: ok}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func newGet(u string) (*http.Request, error) {
	return http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
}

// readSamples reads the columns of a samples.csv that trends judges, up
// to until seconds into the load, so that a run can be judged again over a
// shorter span (-judge).
func readSamples(path string, until float64) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("%s: no samples", path)
	}
	at := map[string]int{}
	for i, name := range rows[0] {
		at[name] = i
	}
	var out []sample
	for n, row := range rows[1:] {
		var errs []error
		num := func(name string) float64 {
			i, ok := at[name]
			if !ok {
				errs = append(errs, fmt.Errorf("no column %s", name))
				return 0
			}
			v, err := strconv.ParseFloat(row[i], 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("column %s: %w", name, err))
			}
			return v
		}
		bytes := func(name string) int64 { return int64(num(name) * (1 << 20)) }
		sm := sample{t: num("t_s"), lag: int64(num("lag")), pulseRSS: bytes("pulse_rss_mb"), goHeap: bytes("go_heap_mb"),
			idIndex: bytes("id_index_mb"), duckdbMem: bytes("duckdb_buffers_mb"), jeResident: bytes("je_resident_mb"), glibcInUse: bytes("glibc_in_use_mb")}
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n+2, err)
		}
		if sm.t > until {
			break
		}
		out = append(out, sm)
	}
	return out, nil
}
