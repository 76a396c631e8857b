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
}

type credEntry struct {
	until time.Time
	p     Principal
	sess  Session // for sessions
}

// maxCached bounds the cache: past it, it starts afresh.
const maxCached = 10_000

func (c *credCache) get(hash string, now time.Time) (credEntry, bool) {
	if c.ttl <= 0 {
		return credEntry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || !now.Before(e.until) {
		return credEntry{}, false
	}
	return e, true
}

func (c *credCache) put(hash string, e credEntry, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]credEntry{}
	}
	e.until = now.Add(c.ttl)
	c.m[hash] = e
}

func (c *credCache) drop(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, hash)
}

func (c *credCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}
