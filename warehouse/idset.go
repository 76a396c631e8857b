package warehouse

import (
	"hash/maphash"
	"slices"
	"syscall"
	"unsafe"
)

// idSet is the set of stored event ids, kept so that a new event needs no
// lookup in the database: events.md asks that an event_id seen again at
// any time is stored once, so the set covers all history and grows with it
// (the one part of Pulse's memory that does; docs/guarantees.md).
//
// It holds 48 bits of each id's 64-bit hash in 4 bytes: the top 16 bits
// pick one of 65,536 buckets and the next 32 are stored, sorted within
// their bucket, in runs merged as they grow (the last few thousand ids sit
// in a map until there are enough to make a run). A hit is therefore only
// a candidate duplicate, which Store confirms against the database; with n
// ids stored one new id in 2^48/n is such a false candidate (one in 2.8
// million at 100 M stored). A Go map of the hashes took ~23 bytes per id
// and grew to ~1 GB in the half-hour soak (BENCHMARKS.md).
//
// The runs live outside the Go heap, in anonymous mappings: they are most
// of Pulse's long-lived heap, and under GOGC=100 every live byte on the
// heap lets a byte of garbage build up before the next collection, so on
// the heap the index cost twice its size in resident memory (soak run 5).
// free hands the mappings back; a set that is dropped without it leaks
// them.
type idSet struct {
	seed  maphash.Seed
	front map[uint64]struct{}
	runs  []*fpRun // oldest and largest first
	n     int
}

// frontMax is how many ids wait in the map before they become a run.
const frontMax = 1 << 18

func newIDSet() *idSet {
	return &idSet{seed: maphash.MakeSeed(), front: make(map[uint64]struct{}, frontMax)}
}

// Has reports whether h may be the hash of a stored id.
func (s *idSet) Has(h uint64) bool {
	if _, ok := s.front[h]; ok {
		return true
	}
	for _, r := range s.runs {
		if r.has(h) {
			return true
		}
	}
	return false
}

// Add records h. Adding a hash twice counts it twice in Len; Store adds
// only ids it has just stored, which were not in the set.
func (s *idSet) Add(h uint64) {
	s.front[h] = struct{}{}
	s.n++
	if len(s.front) >= frontMax {
		s.flush()
	}
}

// Len is the number of ids added.
func (s *idSet) Len() int { return s.n }

// Bytes is the memory the set holds, roughly.
func (s *idSet) Bytes() int64 {
	b := int64(len(s.front)) * 24
	for _, r := range s.runs {
		b += int64(len(r.fp))*4 + int64(len(r.dir))*4
	}
	return b
}

// flush turns the map into a run, then merges runs so that each is at
// least eight times the size of the next: at most log8(n/frontMax)+1 runs
// to look in (a lookup costs a cache miss or two per run), for each id
// copied about eight times per level over its life, at ~1 ns a copy.
func (s *idSet) flush() {
	hs := make([]uint64, 0, len(s.front))
	for h := range s.front {
		hs = append(hs, h)
	}
	slices.Sort(hs)
	s.runs = append(s.runs, newRun(hs))
	clear(s.front)
	for len(s.runs) > 1 {
		a, b := s.runs[len(s.runs)-2], s.runs[len(s.runs)-1]
		if len(a.fp) >= 8*len(b.fp) {
			break
		}
		s.runs = append(s.runs[:len(s.runs)-2], mergeRuns(a, b))
		a.free()
		b.free()
	}
}

// free hands back the runs' mappings; the set is empty afterwards.
func (s *idSet) free() {
	for _, r := range s.runs {
		r.free()
	}
	s.runs, s.n = nil, 0
	clear(s.front)
}

// fpRun is a sorted run of fingerprints: bucket b's are fp[dir[b]:dir[b+1]].
type fpRun struct {
	dir []uint32 // 65,537 offsets
	fp  []uint32
	mem []byte // the mapping fp lives in; nil if fp is on the Go heap
}

// newFP makes room for n fingerprints in an anonymous mapping, whose
// pages become resident only as they are written. If the system refuses
// the mapping, the room is made on the Go heap instead.
func (r *fpRun) newFP(n int) {
	if n == 0 {
		return
	}
	mem, err := syscall.Mmap(-1, 0, n*4, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		r.fp = make([]uint32, 0, n)
		return
	}
	r.mem, r.fp = mem, unsafe.Slice((*uint32)(unsafe.Pointer(&mem[0])), n)[:0]
}

func (r *fpRun) free() {
	if r.mem != nil {
		// Munmap fails only for a slice it did not map, which r.mem is not.
		_ = syscall.Munmap(r.mem)
	}
	r.mem, r.fp, r.dir = nil, nil, nil
}

const buckets = 1 << 16

func bucketOf(h uint64) int       { return int(h >> 48) }
func fingerprint(h uint64) uint32 { return uint32(h >> 16) }

// newRun makes a run of sorted hashes.
func newRun(sorted []uint64) *fpRun {
	r := &fpRun{dir: make([]uint32, buckets+1)}
	r.newFP(len(sorted))
	for _, h := range sorted {
		r.dir[bucketOf(h)+1]++
		r.fp = append(r.fp, fingerprint(h))
	}
	for b := range buckets {
		r.dir[b+1] += r.dir[b]
	}
	return r
}

func (r *fpRun) has(h uint64) bool {
	b := bucketOf(h)
	_, ok := slices.BinarySearch(r.fp[r.dir[b]:r.dir[b+1]], fingerprint(h))
	return ok
}

// mergeRuns merges two runs bucket by bucket, keeping equal fingerprints
// once (two ids that share 48 bits of hash are one candidate either way).
func mergeRuns(a, b *fpRun) *fpRun {
	m := &fpRun{dir: make([]uint32, buckets+1)}
	m.newFP(len(a.fp) + len(b.fp))
	for k := range buckets {
		x, y := a.fp[a.dir[k]:a.dir[k+1]], b.fp[b.dir[k]:b.dir[k+1]]
		for len(x) > 0 && len(y) > 0 {
			switch {
			case x[0] < y[0]:
				m.fp, x = append(m.fp, x[0]), x[1:]
			case y[0] < x[0]:
				m.fp, y = append(m.fp, y[0]), y[1:]
			default:
				m.fp, x, y = append(m.fp, x[0]), x[1:], y[1:]
			}
		}
		m.fp = append(append(m.fp, x...), y...)
		m.dir[k+1] = uint32(len(m.fp))
	}
	return m
}
