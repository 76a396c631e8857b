package server

import (
	"container/list"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/pulsekpi/pulse/dashboard"
)

// TileMetrics are the dashboard tiles' Prometheus metrics.
type TileMetrics struct {
	latency *prometheus.HistogramVec
	hits    prometheus.Counter
	misses  prometheus.Counter
}

// NewTileMetrics registers the tile metrics with reg, the registry the
// process serves on /metrics.
func NewTileMetrics(reg prometheus.Registerer) *TileMetrics {
	m := &TileMetrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pulse_dashboard_tile_seconds",
			Help:    "Time to answer a dashboard tile, cache hits included, by dashboard.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"dashboard"}),
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_dashboard_tile_cache_hits_total",
			Help: "Dashboard tiles answered from the cache.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_dashboard_tile_cache_misses_total",
			Help: "Dashboard tiles that ran their query (or waited for an identical one).",
		}),
	}
	reg.MustRegister(m.latency, m.hits, m.misses)
	return m
}

func (m *TileMetrics) observe(dash string, cached bool, d time.Duration) {
	m.latency.WithLabelValues(dash).Observe(d.Seconds())
	if cached {
		m.hits.Inc()
	} else {
		m.misses.Inc()
	}
}

// tileCache keeps tile results until the next transform run or
// dashboard reload, least recently used first out when full. Entries are
// keyed by the exact scope of the viewer, so one viewer's rows never
// answer another who sees different people.
type tileCache struct {
	maxEntries int
	maxBytes   int64

	mu      sync.Mutex
	set     *dashboard.Set // the set the entries were filled for
	setGen  int64          // bumped with each new set: part of every key
	gen     int64          // bumped by invalidate: fills begun before are dropped
	entries map[string]*list.Element
	lru     *list.List // front: most recent
	bytes   int64

	flight singleflight.Group
}

type cacheEntry struct {
	key string
	res *tileResult
}

func newTileCache(o TileOptions) *tileCache {
	return &tileCache{maxEntries: o.CacheEntries, maxBytes: o.CacheBytes,
		entries: map[string]*list.Element{}, lru: list.New()}
}

// follow drops everything when the dashboard set in force changed.
func (tc *tileCache) follow(set *dashboard.Set) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.set != set {
		tc.set = set
		tc.setGen++
		tc.resetLocked()
	}
}

// invalidate drops every entry, and the results of fills in flight.
func (tc *tileCache) invalidate() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.resetLocked()
}

func (tc *tileCache) resetLocked() {
	tc.gen++
	tc.entries = map[string]*list.Element{}
	tc.lru.Init()
	tc.bytes = 0
}

// len is the number of results held, for tests.
func (tc *tileCache) len() int {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.lru.Len()
}

type runFunc func(ctx context.Context, r tileRequest, q dashboard.Query, v viewer) (*tileResult, error)

// get answers from the cache, or runs the tile once however many
// identical requests arrive meanwhile. cached says the result was there.
func (tc *tileCache) get(ctx context.Context, set *dashboard.Set, r tileRequest, q dashboard.Query, v viewer, run runFunc) (*tileResult, bool, error) {
	if tc.maxEntries < 0 {
		res, err := run(ctx, r, q, v)
		return res, false, err
	}
	tc.mu.Lock()
	gen, setGen := tc.gen, tc.setGen
	if tc.set != set { // a reload landed between dashboardSet and here
		tc.mu.Unlock()
		tc.follow(set)
		tc.mu.Lock()
		gen, setGen = tc.gen, tc.setGen
	}
	key := tileKey(setGen, r, q, v)
	if el, ok := tc.entries[key]; ok {
		tc.lru.MoveToFront(el)
		res := el.Value.(*cacheEntry).res
		tc.mu.Unlock()
		return res, true, nil
	}
	tc.mu.Unlock()
	// The flight key carries the generation: a request made after an
	// invalidation never joins a query begun before it.
	val, err, _ := tc.flight.Do(strconv.FormatInt(gen, 10)+"\x00"+key, func() (any, error) {
		// The query serves every waiter: one client leaving must not
		// cancel it (the tile timeout still bounds it).
		res, err := run(context.WithoutCancel(ctx), r, q, v)
		if err != nil {
			return nil, err
		}
		tc.put(gen, key, res)
		return res, nil
	})
	if err != nil {
		return nil, false, err
	}
	return val.(*tileResult), false, nil
}

func (tc *tileCache) put(gen int64, key string, res *tileResult) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if gen != tc.gen || res.size > tc.maxBytes {
		return // filled from data an invalidation has since replaced
	}
	if el, ok := tc.entries[key]; ok {
		tc.bytes -= el.Value.(*cacheEntry).res.size
		tc.lru.Remove(el)
	}
	tc.entries[key] = tc.lru.PushFront(&cacheEntry{key: key, res: res})
	tc.bytes += res.size
	for tc.lru.Len() > tc.maxEntries || tc.bytes > tc.maxBytes {
		el := tc.lru.Back()
		e := el.Value.(*cacheEntry)
		tc.lru.Remove(el)
		delete(tc.entries, e.key)
		tc.bytes -= e.res.size
	}
}

// tileKey: set generation, dashboard, tile, the bound filter values (the
// rendered arguments), language, the viewer's exact scope and, for
// leaderboards (whose circle is the viewer's team), the viewer.
func tileKey(setGen int64, r tileRequest, q dashboard.Query, v viewer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\x00%s\x00%s\x00%s\x00", setGen, r.dash.ID, r.tile.ID, r.lang)
	for _, a := range q.Args {
		if na, ok := a.(sql.NamedArg); ok {
			fmt.Fprintf(&b, "%s=%v;", na.Name, na.Value)
		}
	}
	b.WriteString("\x00" + v.key())
	if r.tile.Kind == "leaderboard" {
		b.WriteString("\x00viewer=" + v.employee)
	}
	return b.String()
}

// InvalidateTiles drops every cached tile, and the viewers' scopes: a
// transform run has landed and the marts (and staging.employees) say
// something new. Compose it into transform.Options.AfterRun.
func (s *Server) InvalidateTiles() {
	s.scopes.clear()
	s.tiles.invalidate()
}

// cellValue turns a duckdb-go value into the few types tiles keep.
func cellValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int64, float64, time.Time:
		if f, ok := x.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return nil
		}
		return x
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return json.Number(strconv.FormatUint(x, 10))
	case float32:
		return cellValue(float64(x))
	case *big.Int:
		if x == nil {
			return nil
		}
		return json.Number(x.String())
	case duckdb.Decimal:
		return json.Number(decimalText(x))
	case []byte:
		return string(x)
	case fmt.Stringer:
		return x.String()
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

// decimalText writes a DECIMAL exactly.
func decimalText(d duckdb.Decimal) string {
	if d.Value == nil {
		return "0"
	}
	digits := new(big.Int).Abs(d.Value).String()
	if sc := int(d.Scale); sc > 0 {
		if len(digits) <= sc {
			digits = strings.Repeat("0", sc-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-sc] + "." + digits[len(digits)-sc:]
	}
	if d.Value.Sign() < 0 {
		return "-" + digits
	}
	return digits
}

func cellSize(v any) int64 {
	switch x := v.(type) {
	case string:
		return int64(len(x)) + 16
	case json.Number:
		return int64(len(x)) + 16
	}
	return 24
}
