package warehouse

// DuckDB allocates its buffers and query state from a jemalloc built into
// its library (with the prefix duckdb_je_), and its other C++ objects from
// the C library's malloc. Neither hands freed pages back to the system
// promptly: jemalloc keeps them until its decay clock is ticked by more
// allocations in the same arena, and glibc keeps them in its per-thread
// arenas. After each transform run the pages its big joins freed stayed
// resident, which the soak measured as resident memory climbing outside
// both the Go heap and the buffer pool. Warehouse.Run releases them on a
// timer; the statistics go to /metrics.

/*
#include <stdint.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

// Weak, so that a DuckDB linked without its jemalloc (a shared-library
// build) still links; the symbol is then NULL.
extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

// pulse_je_stats fills jemalloc's allocated, active, resident and retained
// bytes; it returns 0 without jemalloc.
static int pulse_je_stats(size_t out[4]) {
	if (duckdb_je_mallctl == NULL) return 0;
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);
	// Statistics are a snapshot taken when the epoch advances.
	if (duckdb_je_mallctl("epoch", &epoch, &sz, &epoch, sz) != 0) return 0;
	const char *names[4] = {"stats.allocated", "stats.active", "stats.resident", "stats.retained"};
	for (int i = 0; i < 4; i++) {
		sz = sizeof(size_t);
		if (duckdb_je_mallctl(names[i], &out[i], &sz, NULL, 0) != 0) return 0;
	}
	return 1;
}

// pulse_je_purge returns the free (dirty and muzzy) pages of every
// jemalloc arena to the system; 4096 is MALLCTL_ARENAS_ALL. It returns -1
// without jemalloc.
static int pulse_je_purge(void) {
	if (duckdb_je_mallctl == NULL) return -1;
	return duckdb_je_mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
}

// pulse_glibc_stats fills glibc's bytes in use, free in its heaps and
// mapped on their own; it returns 0 with another C library.
static int pulse_glibc_stats(size_t out[3]) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
	struct mallinfo2 m = mallinfo2();
	out[0] = m.uordblks;
	out[1] = m.fordblks;
	out[2] = m.hblkhd;
	return 1;
#else
	return 0;
#endif
}

// pulse_glibc_trim returns free pages of every glibc arena to the system;
// -1 with another C library.
static int pulse_glibc_trim(void) {
#ifdef __GLIBC__
	return malloc_trim(0);
#else
	return -1;
#endif
}
*/
import "C"

// CMemory is one statistic of the C allocators under DuckDB.
type CMemory struct {
	// Allocator is "jemalloc" (DuckDB's own) or "glibc" (the C library's).
	Allocator string
	// State is jemalloc's allocated, active, resident or retained (mapped
	// but not resident), or glibc's in_use, free (held in its heaps) or
	// mapped (large blocks mapped on their own).
	State string
	Bytes int64
}

// ReadCMemory reads what the allocators offer; an allocator that is not
// there, or cannot tell, is left out.
func ReadCMemory() []CMemory {
	var out []CMemory
	var je [4]C.size_t
	if C.pulse_je_stats(&je[0]) == 1 {
		for i, state := range []string{"allocated", "active", "resident", "retained"} {
			out = append(out, CMemory{"jemalloc", state, int64(je[i])})
		}
	}
	var g [3]C.size_t
	if C.pulse_glibc_stats(&g[0]) == 1 {
		for i, state := range []string{"in_use", "free", "mapped"} {
			out = append(out, CMemory{"glibc", state, int64(g[i])})
		}
	}
	return out
}

// releaseCMemory hands the free pages of both allocators back to the
// system. Each walks its arenas under their locks, so calls are spaced out
// (warehouse.trim_interval); the next allocations fault pages back in.
func releaseCMemory() (supported bool) {
	je := C.pulse_je_purge()
	glibc := C.pulse_glibc_trim()
	return je >= 0 || glibc >= 0
}
