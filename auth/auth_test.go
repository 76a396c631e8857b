package auth_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsekpi/pulse/auth"
	"github.com/pulsekpi/pulse/warehouse"
)

// fast parameters for tests that do not test hashing itself.
var fast = auth.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	w, err := warehouse.Open(context.Background(), warehouse.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w.DB()
}

func newStore(t *testing.T, opts auth.StoreOptions) (*auth.Store, *sql.DB) {
	t.Helper()
	db := openDB(t)
	if opts.Params == (auth.Params{}) {
		opts.Params = fast
	}
	return auth.NewStore(db, opts), db
}

func mustAdd(t *testing.T, st *auth.Store, u auth.User) auth.User {
	t.Helper()
	if u.Password == "" {
		u.Password = "correct horse battery"
	}
	got, err := st.AddUser(context.Background(), u)
	if err != nil {
		t.Fatalf("AddUser(%+v): %v", u, err)
	}
	return got
}

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword("s3cret-passw0rd", auth.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") || strings.Count(h, "$") != 5 {
		t.Errorf("hash %q is not an argon2id PHC string with the default parameters", h)
	}
	if ok, err := auth.VerifyPassword("s3cret-passw0rd", h); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	if ok, err := auth.VerifyPassword("s3cret-passw0rD", h); ok || err != nil {
		t.Errorf("wrong password: %v %v", ok, err)
	}
	h2, _ := auth.HashPassword("s3cret-passw0rd", auth.DefaultParams)
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	if _, err := auth.VerifyPassword("x", "$2a$10$bcrypt"); err == nil {
		t.Error("a non-argon2id hash must be an error")
	}
	if _, err := auth.VerifyPassword("x", "$argon2id$v=19$m=99999999,t=3,p=4$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5"); err == nil {
		t.Error("absurd memory must be refused, not allocated")
	}
}

func TestStoreAuthenticate(t *testing.T) {
	ctx := context.Background()
	st, db := newStore(t, auth.StoreOptions{Params: auth.DefaultParams})
	const pw = "Tr0ub4dor&3-horse"
	u := mustAdd(t, st, auth.User{Login: " Alice ", DisplayName: "Alice A.", Role: auth.RoleAnalyst, Password: pw})
	if u.Login != "alice" || u.ID == 0 {
		t.Errorf("added %+v", u)
	}
	var stored string
	if err := db.QueryRow(`SELECT password_hash FROM ops.users WHERE login = 'alice'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=65536,t=3,p=4$") || strings.Contains(stored, pw) {
		t.Errorf("stored hash %q", stored)
	}
	p, err := st.Authenticate(ctx, "ALICE", pw)
	if err != nil || p.Login != "alice" || p.Role != auth.RoleAnalyst || p.UserID != u.ID {
		t.Errorf("Authenticate: %+v %v", p, err)
	}
	if _, err := st.Authenticate(ctx, "alice", pw+"x"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := st.Authenticate(ctx, "bob", pw); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("unknown user: %v", err)
	}
	// An unknown login costs an argon2id computation too (loosely: at least
	// a third of a known one's, best of 3, so that scheduling noise cannot
	// fail it; without the dummy hash it is a thousand times faster).
	best := func(login string) time.Duration {
		b := time.Hour
		for range 3 {
			start := time.Now()
			st.Authenticate(ctx, login, "not the password")
			b = min(b, time.Since(start))
		}
		return b
	}
	known, unknown := best("alice"), best("nobody")
	if unknown < known/3 {
		t.Errorf("unknown login answered in %v, known in %v: timing leaks which logins exist", unknown, known)
	}

	// A hash with old parameters is upgraded on the next sign-in.
	st2 := auth.NewStore(db, auth.StoreOptions{Params: fast})
	if _, err := st2.Authenticate(ctx, "alice", pw); err != nil {
		t.Fatal(err)
	}
	db.QueryRow(`SELECT password_hash FROM ops.users WHERE login = 'alice'`).Scan(&stored)
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("not rehashed: %q", stored)
	}
	if _, err := st.Authenticate(ctx, "alice", pw); err != nil {
		t.Errorf("after rehash: %v", err)
	}

	// SetPassword.
	if err := st.SetPassword(ctx, "alice", "a new password!"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate(ctx, "alice", pw); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("old password after SetPassword: %v", err)
	}
	if _, err := st.Authenticate(ctx, "alice", "a new password!"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestAddUserValidation(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t, auth.StoreOptions{})
	mustAdd(t, st, auth.User{Login: "boss", Role: auth.RoleExecutive})
	mustAdd(t, st, auth.User{Login: "m1", Role: auth.RoleManager, EmployeeID: "E0003"})
	for _, c := range []struct {
		u    auth.User
		want error
	}{
		{auth.User{Login: "x", Role: "god", Password: "long enough pw"}, auth.ErrInvalid},
		{auth.User{Login: "x", Role: auth.RoleManager, Password: "long enough pw"}, auth.ErrInvalid},
		{auth.User{Login: "x", Role: auth.RoleEmployee, Password: "long enough pw"}, auth.ErrInvalid},
		{auth.User{Login: "x", Role: auth.RoleAnalyst, Password: "short"}, auth.ErrInvalid},
		{auth.User{Login: "a b", Role: auth.RoleAnalyst, Password: "long enough pw"}, auth.ErrInvalid},
		{auth.User{Login: "", Role: auth.RoleAnalyst, Password: "long enough pw"}, auth.ErrInvalid},
		{auth.User{Login: "BOSS", Role: auth.RoleAnalyst, Password: "long enough pw"}, auth.ErrExists},
	} {
		if _, err := st.AddUser(ctx, c.u); !errors.Is(err, c.want) {
			t.Errorf("AddUser(%+v): %v, want %v", c.u, err, c.want)
		}
	}
	users, err := st.ListUsers(ctx)
	if err != nil || len(users) != 2 || users[0].Login != "boss" || users[1].EmployeeID != "E0003" || users[1].DisplayName != "m1" {
		t.Errorf("ListUsers: %+v %v", users, err)
	}
	if err := st.RemoveUser(ctx, "boss"); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveUser(ctx, "boss"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("removing twice: %v", err)
	}
	if err := st.SetPassword(ctx, "nobody", "long enough pw"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SetPassword of nobody: %v", err)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st, db := newStore(t, auth.StoreOptions{Now: clk.Now})
	mustAdd(t, st, auth.User{Login: "m1", Role: auth.RoleManager, EmployeeID: "E0003"})
	tok, err := st.CreateToken(ctx, "m1", "nightly export")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, auth.TokenPrefix) || len(tok) != len(auth.TokenPrefix)+43 {
		t.Errorf("token %q: want pulse_ and 32 random bytes in base64url", tok)
	}
	var hash string
	var n int
	db.QueryRow(`SELECT any_value(token_hash), count(*) FROM ops.api_tokens`).Scan(&hash, &n)
	if n != 1 || len(hash) != 64 || strings.Contains(hash, tok) || strings.Contains(tok, hash) {
		t.Errorf("stored %d tokens, hash %q", n, hash)
	}
	var leaked int
	db.QueryRow(`SELECT count(*) FROM ops.api_tokens WHERE name = ? OR token_hash = ?`, tok, tok).Scan(&leaked)
	if leaked != 0 {
		t.Error("the token itself is stored")
	}
	p, err := st.AuthenticateToken(ctx, tok)
	if err != nil || p.Login != "m1" || p.Via != auth.ViaToken || p.EmployeeID != "E0003" || p.Role != auth.RoleManager {
		t.Errorf("AuthenticateToken: %+v %v", p, err)
	}
	toks, _ := st.ListTokens(ctx, "m1")
	if len(toks) != 1 || toks[0].LastUsedAt == nil || !toks[0].LastUsedAt.Equal(clk.Now()) {
		t.Errorf("tokens: %+v", toks)
	}
	if _, err := st.AuthenticateToken(ctx, tok+"x"); !errors.Is(err, auth.ErrBadToken) {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := st.CreateToken(ctx, "m1", "nightly export"); !errors.Is(err, auth.ErrExists) {
		t.Errorf("same name twice: %v", err)
	}
	if err := st.RevokeToken(ctx, "m1", "nightly export"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AuthenticateToken(ctx, tok); !errors.Is(err, auth.ErrBadToken) {
		t.Errorf("revoked token: %v", err)
	}
	if err := st.RevokeToken(ctx, "m1", "nightly export"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("revoking twice: %v", err)
	}
	tok2, err := st.CreateToken(ctx, "m1", "nightly export")
	if err != nil || tok2 == tok {
		t.Fatalf("a revoked token's name is free again: %v", err)
	}
	if err := st.RemoveUser(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AuthenticateToken(ctx, tok2); !errors.Is(err, auth.ErrBadToken) {
		t.Errorf("token of a removed user: %v", err)
	}
}

func TestSessionsExpireAndIdleOut(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st, db := newStore(t, auth.StoreOptions{Now: clk.Now, SessionTTL: 2 * time.Hour, IdleTimeout: 30 * time.Minute})
	mustAdd(t, st, auth.User{Login: "e1", Role: auth.RoleEmployee, EmployeeID: "E0010"})
	p, err := st.Authenticate(ctx, "e1", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tok, sess, err := st.CreateSession(ctx, p, "10.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	db.QueryRow(`SELECT session_hash FROM ops.sessions`).Scan(&stored)
	if stored == tok || len(stored) != 64 {
		t.Errorf("session stored as %q", stored)
	}
	if sess.CSRFToken == "" || sess.CSRFToken == tok {
		t.Errorf("CSRF token %q", sess.CSRFToken)
	}
	// Used every 20 minutes, it lives past the idle timeout...
	for range 5 {
		clk.Add(20 * time.Minute)
		got, err := st.GetSession(ctx, tok)
		if err != nil {
			t.Fatalf("at %v: %v", clk.Now(), err)
		}
		if got.Login != "e1" || got.CSRFToken != sess.CSRFToken || got.EmployeeID != "E0010" {
			t.Errorf("session %+v", got)
		}
	}
	// ...but not past its absolute lifetime (2h after creation).
	clk.Add(20 * time.Minute)
	if _, err := st.GetSession(ctx, tok); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("after 2h: %v", err)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM ops.sessions`).Scan(&n)
	if n != 0 {
		t.Errorf("%d sessions left after expiry", n)
	}
	// Unused for the idle timeout, it ends.
	tok, _, _ = st.CreateSession(ctx, p, "", "")
	clk.Add(29 * time.Minute)
	if _, err := st.GetSession(ctx, tok); err != nil {
		t.Errorf("after 29 idle minutes: %v", err)
	}
	clk.Add(30 * time.Minute)
	if _, err := st.GetSession(ctx, tok); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("after 30 idle minutes: %v", err)
	}
	// Signing out deletes; so does a password change.
	tok, _, _ = st.CreateSession(ctx, p, "", "")
	if err := st.DeleteSession(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSession(ctx, tok); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("after sign-out: %v", err)
	}
	tok, _, _ = st.CreateSession(ctx, p, "", "")
	st.SetPassword(ctx, "e1", "another long one")
	if _, err := st.GetSession(ctx, tok); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("after a password change: %v", err)
	}
	if _, err := st.GetSession(ctx, "made-up"); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("made-up session: %v", err)
	}
}

func TestDemoUsers(t *testing.T) {
	ctx := context.Background()
	st, db := newStore(t, auth.StoreOptions{})
	creds, err := auth.DemoUsers(ctx, st, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 5 || creds[3].Role != auth.RoleManager || creds[3].EmployeeID == "" || creds[4].EmployeeID == "" {
		t.Fatalf("demo users without employees: %+v", creds)
	}
	// With employees, the manager is someone who manages someone.
	st2, db2 := newStore(t, auth.StoreOptions{})
	hierarchy(t, db2)
	creds, err = auth.DemoUsers(ctx, st2, db2)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[auth.Role]bool{}
	for _, c := range creds {
		roles[c.Role] = true
		if _, err := st2.Authenticate(ctx, c.Login, c.Password); err != nil {
			t.Errorf("%s: %v", c.Login, err)
		}
	}
	if len(roles) != 5 {
		t.Errorf("roles %v", roles)
	}
	m := creds[3]
	var reports int
	db2.QueryRow(`SELECT count(*) FROM staging.employees WHERE manager_id = ?`, m.EmployeeID).Scan(&reports)
	if reports == 0 {
		t.Errorf("demo manager %s manages nobody", m.EmployeeID)
	}
	p, _ := st2.Authenticate(ctx, "employee", creds[4].Password)
	mp, _ := st2.Authenticate(ctx, "manager", m.Password)
	if sc, _ := st2.Scope(ctx, mp); !sc.CanSeeEmployee(p.EmployeeID) {
		t.Errorf("the demo manager cannot see the demo employee %s", p.EmployeeID)
	}
	// Again: same users, new passwords.
	again, err := auth.DemoUsers(ctx, st2, db2)
	if err != nil || len(again) != 5 || again[0].Password == creds[0].Password {
		t.Fatalf("demo users again: %v", err)
	}
	if _, err := st2.Authenticate(ctx, "admin", creds[0].Password); err == nil {
		t.Error("the old demo password still works")
	}
	if users, _ := st2.ListUsers(ctx); len(users) != 5 {
		t.Errorf("%d users after a second demo", len(users))
	}
}
