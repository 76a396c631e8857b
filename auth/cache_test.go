package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/auth"
)

// Checked credentials are believed for CacheTTL without the database;
// whatever ends them through the Store ends them at once.
func TestCredentialCache(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st, db := newStore(t, auth.StoreOptions{Now: clk.Now, CacheTTL: 5 * time.Second})
	mustAdd(t, st, auth.User{Login: "m1", Role: auth.RoleManager, EmployeeID: "M1"})
	tok, err := st.CreateToken(ctx, "m1", "script")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := st.AuthenticateToken(ctx, tok); err != nil || p.Login != "m1" {
		t.Fatalf("token: %+v %v", p, err)
	}
	// Changed behind the Store's back (another process): believed until
	// the TTL passes, then refused.
	if _, err := db.Exec(`UPDATE ops.api_tokens SET revoked_at = now()`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AuthenticateToken(ctx, tok); err != nil {
		t.Errorf("within the TTL: %v, want the cached principal", err)
	}
	clk.Add(5 * time.Second)
	if _, err := st.AuthenticateToken(ctx, tok); !errors.Is(err, auth.ErrBadToken) {
		t.Errorf("after the TTL: %v, want ErrBadToken", err)
	}

	// Revoked through the Store: refused at once.
	tok2, err := st.CreateToken(ctx, "m1", "second")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AuthenticateToken(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeToken(ctx, "m1", "second"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AuthenticateToken(ctx, tok2); !errors.Is(err, auth.ErrBadToken) {
		t.Errorf("revoked token: %v, want ErrBadToken at once", err)
	}

	// Sessions: signing out and removing the user end them at once, and a
	// cached session still ends when idle too long.
	p, err := st.Authenticate(ctx, "m1", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	sid, _, err := st.CreateSession(ctx, p, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSession(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSession(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSession(ctx, sid); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("signed-out session: %v, want ErrNoSession", err)
	}
	sid, _, _ = st.CreateSession(ctx, p, "127.0.0.1", "test")
	if _, err := st.GetSession(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveUser(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSession(ctx, sid); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("removed user's session: %v, want ErrNoSession", err)
	}

	idle, _ := newStore(t, auth.StoreOptions{Now: clk.Now, CacheTTL: time.Hour, IdleTimeout: 30 * time.Minute})
	mustAdd(t, idle, auth.User{Login: "e1", Role: auth.RoleEmployee, EmployeeID: "E1"})
	p, _ = idle.Authenticate(ctx, "e1", "correct horse battery")
	sid, _, _ = idle.CreateSession(ctx, p, "127.0.0.1", "test")
	if _, err := idle.GetSession(ctx, sid); err != nil {
		t.Fatal(err)
	}
	clk.Add(31 * time.Minute)
	if _, err := idle.GetSession(ctx, sid); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("idle session held in the cache: %v, want ErrNoSession", err)
	}
}
