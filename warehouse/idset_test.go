package warehouse

import (
	"math/bits"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestIDSet: every added hash is found, through the map and after runs
// have been made and merged; hashes never added are not (48 bits of hash
// make a false hit among a million ids about one in 280 million); the set
// costs about 4 bytes per id, in few runs.
func TestIDSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newIDSet()
	defer s.free()
	const n = 1_000_003 // not a multiple of the map's size: some ids stay in it
	added := make([]uint64, n)
	for i := range added {
		added[i] = rng.Uint64()
		s.Add(added[i])
		if i == 10 && !s.Has(added[3]) {
			t.Fatal("a hash in the map is not found")
		}
	}
	for i, h := range added {
		if !s.Has(h) {
			t.Fatalf("hash %d of %d not found", i, n)
		}
	}
	false_ := 0
	for range n {
		if s.Has(rng.Uint64()) {
			false_++
		}
	}
	if false_ > 1 {
		t.Errorf("%d of %d hashes never added were found", false_, n)
	}
	if s.Len() != n {
		t.Errorf("Len %d, want %d", s.Len(), n)
	}
	inRuns := n - len(s.front)
	if per := float64(s.Bytes()-int64(len(s.front))*24) / float64(inRuns); inRuns < n/2 || per > 4.5 {
		t.Errorf("%d ids in runs, %.2f bytes each; want most ids in runs at about 4 bytes", inRuns, per)
	}
	if maxRuns := (bits.Len(uint(n/frontMax))+2)/3 + 1; len(s.runs) > maxRuns {
		t.Errorf("%d runs, want at most %d", len(s.runs), maxRuns)
	}
	// Two ids that share a fingerprint's 48 bits but differ below them are
	// one candidate: found either way, kept once when runs merge.
	a, b := uint64(0xABCD_1234_5678_0001), uint64(0xABCD_1234_5678_FFFF)
	s2 := newIDSet()
	s2.Add(a)
	s2.flush()
	s2.Add(b)
	s2.flush()
	if len(s2.runs) != 1 || len(s2.runs[0].fp) != 1 || !s2.Has(a) || !s2.Has(b) {
		t.Errorf("shared fingerprint: %d runs, %d fingerprints", len(s2.runs), len(s2.runs[0].fp))
	}
}

// TestIDSetOffHeap: the runs' fingerprints are not on the Go heap, so
// the live heap stays put while the index grows; free hands them back.
func TestIDSetOffHeap(t *testing.T) {
	liveHeap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	rng := rand.New(rand.NewPCG(5, 6))
	s := newIDSet()
	defer s.free()
	before := liveHeap()
	const n = 4 << 20
	for range n {
		s.Add(rng.Uint64())
	}
	grew := int64(liveHeap()) - int64(before)
	var inRuns int64
	for _, r := range s.runs {
		if r.mem == nil {
			t.Error("a run is on the Go heap")
		}
		inRuns += int64(len(r.fp)) * 4
	}
	// What stays on the heap: each run's 256 KiB directory.
	if inRuns < 15<<20 || grew > inRuns/4 {
		t.Errorf("fingerprints in runs %d bytes, live Go heap grew %d bytes; want the runs off the heap", inRuns, grew)
	}
	s.free()
	if s.Len() != 0 || len(s.runs) != 0 || s.Has(rng.Uint64()) {
		t.Errorf("after free: Len %d, %d runs", s.Len(), len(s.runs))
	}
}

// BenchmarkIDSetHas: a lookup of an id not in a set of 10 M, the common
// case (a new event), against the Go map the set replaced.
func BenchmarkIDSetHas(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 10_000_000
	s := newIDSet()
	m := make(map[uint64]struct{}, n)
	for range n {
		h := rng.Uint64()
		s.Add(h)
		m[h] = struct{}{}
	}
	probe := make([]uint64, 1<<16)
	for i := range probe {
		probe[i] = rng.Uint64()
	}
	b.Run("idSet", func(b *testing.B) {
		for i := range b.N {
			s.Has(probe[i&(len(probe)-1)])
		}
		b.ReportMetric(float64(s.Bytes())/n, "bytes/id")
	})
	b.Run("map", func(b *testing.B) {
		for i := range b.N {
			_, _ = m[probe[i&(len(probe)-1)]]
		}
	})
}
