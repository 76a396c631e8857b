package auth

import (
	"testing"
	"time"
)

// A lookup that read the database before a drop cannot put back what the
// drop removed (a token revoked while it was being checked).
func TestCredCacheDropWins(t *testing.T) {
	now := time.Now()
	c := credCache{ttl: time.Minute}
	_, gen, ok := c.get("h", now)
	if ok {
		t.Fatal("empty cache hit")
	}
	c.drop("h") // revoked meanwhile
	c.put("h", credEntry{p: Principal{Login: "m1"}}, now, gen)
	if _, _, ok := c.get("h", now); ok {
		t.Error("a lookup begun before the drop was kept")
	}
	_, gen, _ = c.get("h", now)
	c.put("h", credEntry{p: Principal{Login: "m1"}}, now, gen)
	if e, _, ok := c.get("h", now); !ok || e.p.Login != "m1" {
		t.Error("a lookup after the drop was not kept")
	}
	if _, _, ok := c.get("h", now.Add(time.Minute)); ok {
		t.Error("kept past its TTL")
	}
}
