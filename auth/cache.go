package auth

import (
	"sync"
	"time"
)

// credCache remembers recently checked tokens and sessions for a few
// seconds (StoreOptions.CacheTTL), so that the dozen tile requests of one
// dashboard do not each ask DuckDB who is calling: under load those small
// queries queue behind the warehouse's real work. Whatever ends a
// credential through the Store (revoking a token, removing a user,
// changing a password, signing out) empties it at once; only changes made
// to the database by another process wait for the TTL.
type credCache struct {
	ttl time.Duration // <= 0: nothing is kept

	mu sync.Mutex
	m  map[string]credEntry // by the credential's SHA-256
	// gen counts the drops: a lookup that read the database before one
	// must not put back what the drop removed.
	gen uint64
}

type credEntry struct {
	until time.Time
	p     Principal
	sess  Session // for sessions
}

// maxCached bounds the cache: past it, it starts afresh.
const maxCached = 10_000

// get returns the entry while it is fresh, and the generation to hand to
// put after reading the database on a miss.
func (c *credCache) get(hash string, now time.Time) (credEntry, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if c.ttl <= 0 || !ok || !now.Before(e.until) {
		return credEntry{}, c.gen, false
	}
	return e, c.gen, true
}

// put keeps e unless a drop happened since get gave gen.
func (c *credCache) put(hash string, e credEntry, now time.Time, gen uint64) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]credEntry{}
	}
	e.until = now.Add(c.ttl)
	c.m[hash] = e
}

func (c *credCache) drop(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, hash)
}

func (c *credCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}
