package server

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/dashboard"
	"github.com/pulsekpi/pulse/dashboards"
)

// The cache's own rules, with a query that counts its runs: identical
// requests in flight share one run, later ones hit; a run that straddles
// an invalidation is not kept; scopes never share; the oldest entry goes
// when the cache is full.
func TestTileCache(t *testing.T) {
	set, err := dashboard.LoadFS(dashboards.Shipped(), "dashboards")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := set.Get("sales")
	req := func(tile string) tileRequest {
		tl, ok := d.Tile(tile)
		if !ok {
			t.Fatalf("no tile %s", tile)
		}
		return tileRequest{dash: d, tile: tl, lang: "en", format: "json"}
	}
	now := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	render := func(r tileRequest) dashboard.Query {
		q, err := r.tile.Render(dashboard.Values{}, now)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	admin := viewer{vs: dashboard.ViewerScope{All: true}}
	emp := viewer{vs: dashboard.ViewerScope{EmployeeIDs: []string{"e1"}, TeamIDs: []string{}}, employee: "e1"}
	var runs atomic.Int32
	release := make(chan struct{})
	slow := func(ctx context.Context, r tileRequest, q dashboard.Query, v viewer) (*tileResult, error) {
		runs.Add(1)
		<-release
		return &tileResult{size: 100}, nil
	}

	tc := newTileCache(TileOptions{CacheEntries: 2, CacheBytes: 1 << 20})
	tc.follow(set)
	people := req("people")
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, cached, err := tc.get(context.Background(), set, people, render(people), admin, slow); err != nil || cached {
				t.Errorf("concurrent get: cached %v, %v", cached, err)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond) // let them all queue on the one flight
	close(release)
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Errorf("10 identical requests ran the query %d times, want 1", n)
	}
	if _, cached, _ := tc.get(context.Background(), set, people, render(people), admin, slow); !cached {
		t.Error("next request not answered from the cache")
	}
	if _, cached, _ := tc.get(context.Background(), set, people, render(people), emp, slow); cached {
		t.Error("another scope answered from the admin's entry")
	}

	// A run in flight when the cache is invalidated is not kept.
	tc.invalidate()
	gate := make(chan struct{})
	started := make(chan struct{})
	straddle := func(ctx context.Context, r tileRequest, q dashboard.Query, v viewer) (*tileResult, error) {
		close(started)
		<-gate
		return &tileResult{size: 100}, nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tc.get(context.Background(), set, people, render(people), admin, straddle)
	}()
	<-started
	tc.invalidate()
	close(gate)
	<-done
	if tc.len() != 0 {
		t.Errorf("a result computed before an invalidation was kept (%d entries)", tc.len())
	}

	// Full: the least recently used goes.
	fast := func(ctx context.Context, r tileRequest, q dashboard.Query, v viewer) (*tileResult, error) {
		return &tileResult{size: 100}, nil
	}
	lb, visits := req("revenue_leaderboard"), req("visits")
	tc.get(context.Background(), set, people, render(people), admin, fast)
	tc.get(context.Background(), set, lb, render(lb), admin, fast)
	tc.get(context.Background(), set, people, render(people), admin, fast) // people is now the most recent
	tc.get(context.Background(), set, visits, render(visits), admin, fast)
	if tc.len() != 2 {
		t.Errorf("%d entries, want the bound of 2", tc.len())
	}
	if _, cached, _ := tc.get(context.Background(), set, people, render(people), admin, fast); !cached {
		t.Error("the most recently used entry was evicted")
	}
	if _, cached, _ := tc.get(context.Background(), set, lb, render(lb), admin, fast); cached {
		t.Error("the least recently used entry was kept")
	}

	// A new set drops everything.
	set2, _ := dashboard.LoadFS(dashboards.Shipped(), "dashboards")
	tc.follow(set2)
	if tc.len() != 0 {
		t.Errorf("%d entries after a reload", tc.len())
	}

	// Caching off: every request runs its query, none is kept.
	off := newTileCache(TileOptions{CacheEntries: -1, CacheBytes: 1 << 20})
	runs.Store(0)
	counted := func(ctx context.Context, r tileRequest, q dashboard.Query, v viewer) (*tileResult, error) {
		runs.Add(1)
		return &tileResult{size: 100}, nil
	}
	for range 3 {
		if _, cached, err := off.get(context.Background(), set, people, render(people), admin, counted); err != nil || cached {
			t.Errorf("cache off: cached %v, %v", cached, err)
		}
	}
	if runs.Load() != 3 || off.len() != 0 {
		t.Errorf("cache off: %d runs, %d entries; want 3 and 0", runs.Load(), off.len())
	}
}
