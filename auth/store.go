// Package auth is Pulse's users and roles: accounts with argon2id
// passwords, server-side sessions behind an HttpOnly cookie with a CSRF
// token, bearer tokens for scripts, the admin token for automation, the
// scope of what each role may see, and Echo middleware and handlers that
// put it together.
//
// Roles: admin, executive and analyst see everything (analysts and admins
// may also run ad-hoc SQL); a manager sees their team and every team under
// them through manager_id; an employee sees their own figures.
//
// Everything lives in the warehouse's DuckDB file (migration
// 0007_users.sql): ops.users, ops.sessions, ops.api_tokens. No secret is
// stored: passwords as argon2id, session cookies and tokens as SHA-256.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Role is what a user may see and do.
type Role string

const (
	RoleAdmin     Role = "admin"     // everything, user management, ad-hoc SQL
	RoleExecutive Role = "executive" // sees everything
	RoleAnalyst   Role = "analyst"   // sees everything, ad-hoc SQL
	RoleManager   Role = "manager"   // their team and the teams under them
	RoleEmployee  Role = "employee"  // their own figures
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleExecutive, RoleAnalyst, RoleManager, RoleEmployee}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, k := range Roles {
		if r == k {
			return true
		}
	}
	return false
}

// NeedsEmployee reports whether users of the role must be linked to an
// employee (their scope is computed from it).
func (r Role) NeedsEmployee() bool { return r == RoleManager || r == RoleEmployee }

// Errors of the store. Validation errors wrap ErrInvalid with the reason.
var (
	ErrNotFound       = errors.New("not found")
	ErrExists         = errors.New("already exists")
	ErrInvalid        = errors.New("invalid")
	ErrBadCredentials = errors.New("wrong login or password")
	ErrBadToken       = errors.New("invalid or revoked token")
	ErrNoSession      = errors.New("no session, or it expired")
)

// User is an account. Password is input only (AddUser); it is never read
// back.
type User struct {
	ID                int64     `json:"user_id"`
	Login             string    `json:"login"`
	DisplayName       string    `json:"display_name"`
	Role              Role      `json:"role"`
	EmployeeID        string    `json:"employee_id,omitempty"`
	Password          string    `json:"-"`
	CreatedAt         time.Time `json:"created_at"`
	PasswordChangedAt time.Time `json:"password_changed_at"`
	Tokens            int       `json:"tokens"` // tokens not revoked (ListUsers)
}

// Principal is who is calling.
type Principal struct {
	UserID      int64  `json:"user_id,omitempty"` // 0 for the admin token
	Login       string `json:"login"`
	DisplayName string `json:"display_name,omitempty"`
	Role        Role   `json:"role"`
	EmployeeID  string `json:"employee_id,omitempty"`
	Via         string `json:"via"` // ViaSession, ViaToken or ViaAdminToken
}

// How a principal authenticated.
const (
	ViaSession    = "session"
	ViaToken      = "token"
	ViaAdminToken = "admin-token"
)

// String names the principal for the records of who did what.
func (p Principal) String() string {
	if p.Via == ViaAdminToken {
		return ViaAdminToken
	}
	return p.Login
}

// StoreOptions configure NewStore. Zero values get defaults.
type StoreOptions struct {
	Params      Params        // argon2id parameters of new hashes (DefaultParams)
	SessionTTL  time.Duration // a session's absolute lifetime (12h)
	IdleTimeout time.Duration // a session unused this long ends (1h)
	// CacheTTL is how long a checked token or session is believed without
	// asking the database again (5s); negative turns the cache off.
	CacheTTL time.Duration
	Now      func() time.Time
}

// Store keeps users, sessions and tokens in the warehouse.
type Store struct {
	db   *sql.DB
	opts StoreOptions
	// mu serialises writes to ops.users and ops.api_tokens, which keep
	// logins and token names unique without an index.
	mu sync.Mutex

	dummyOnce sync.Once
	dummy     string

	creds credCache
}

// NewStore is a store over the warehouse's database (migrated to 0007).
func NewStore(db *sql.DB, opts StoreOptions) *Store {
	if opts.Params == (Params{}) {
		opts.Params = DefaultParams
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 5 * time.Second
	}
	s := &Store{db: db, opts: opts, creds: credCache{ttl: opts.CacheTTL}}
	go s.dummyHash() // ready before the first unknown login
	return s
}

// DB is the store's database.
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) now() time.Time { return s.opts.Now().UTC() }

// dummyHash is a hash of a random password with the current parameters,
// verified against when the login is unknown, so that unknown and known
// logins take the same time.
func (s *Store) dummyHash() string {
	s.dummyOnce.Do(func() {
		h, err := HashPassword(RandomPassword(), s.opts.Params)
		if err != nil {
			h, _ = HashPassword(RandomPassword(), DefaultParams)
		}
		s.dummy = h
	})
	return s.dummy
}

// NormalizeLogin is the stored form of a login: trimmed, lower case.
func NormalizeLogin(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

func validLogin(login string) error {
	if login == "" || len(login) > 64 {
		return fmt.Errorf("%w: login must be 1 to 64 characters", ErrInvalid)
	}
	for _, r := range login {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r)) {
			return fmt.Errorf("%w: login %q: only letters, digits and . _ @ - are allowed", ErrInvalid, login)
		}
	}
	return nil
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

func validPassword(pw string) error {
	if len([]rune(pw)) < MinPasswordLen {
		return fmt.Errorf("%w: password must have at least %d characters", ErrInvalid, MinPasswordLen)
	}
	if len(pw) > 1024 {
		return fmt.Errorf("%w: password longer than 1024 bytes", ErrInvalid)
	}
	return nil
}

// RandomPassword is a new random password: 128 bits in 22 characters.
func RandomPassword() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// AddUser creates a user with u's login, display name (the login if
// empty), role, employee and password, and returns it with its id.
func (s *Store) AddUser(ctx context.Context, u User) (User, error) {
	u.Login = NormalizeLogin(u.Login)
	u.DisplayName = strings.TrimSpace(u.DisplayName)
	u.EmployeeID = strings.TrimSpace(u.EmployeeID)
	if err := validLogin(u.Login); err != nil {
		return User{}, err
	}
	if !u.Role.Valid() {
		return User{}, fmt.Errorf("%w: role %q: want one of %v", ErrInvalid, u.Role, Roles)
	}
	if u.Role.NeedsEmployee() && u.EmployeeID == "" {
		return User{}, fmt.Errorf("%w: a %s must be linked to an employee (employee id)", ErrInvalid, u.Role)
	}
	if err := validPassword(u.Password); err != nil {
		return User{}, err
	}
	if u.DisplayName == "" {
		u.DisplayName = u.Login
	}
	hash, err := HashPassword(u.Password, s.opts.Params)
	if err != nil {
		return User{}, err
	}
	u.Password = ""
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.userID(ctx, u.Login); err == nil {
		return User{}, fmt.Errorf("user %q: %w", u.Login, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	now := s.now()
	err = s.db.QueryRowContext(ctx, `INSERT INTO ops.users
		(login, display_name, role, employee_id, password_hash, created_at, password_changed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING user_id`,
		u.Login, u.DisplayName, string(u.Role), nullString(u.EmployeeID), hash, now, now).Scan(&u.ID)
	if err != nil {
		return User{}, fmt.Errorf("adding user %q: %w", u.Login, err)
	}
	u.CreatedAt, u.PasswordChangedAt = now, now
	return u, nil
}

func (s *Store) userID(ctx context.Context, login string) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT user_id FROM ops.users WHERE login = ?`, NormalizeLogin(login)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("user %q: %w", NormalizeLogin(login), ErrNotFound)
	}
	return id, err
}

// GetUser returns one user.
func (s *Store) GetUser(ctx context.Context, login string) (User, error) {
	users, err := s.listUsers(ctx, NormalizeLogin(login))
	if err != nil {
		return User{}, err
	}
	if len(users) == 0 {
		return User{}, fmt.Errorf("user %q: %w", NormalizeLogin(login), ErrNotFound)
	}
	return users[0], nil
}

// ListUsers returns every user by login.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) { return s.listUsers(ctx, "") }

func (s *Store) listUsers(ctx context.Context, login string) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT u.user_id, u.login, u.display_name, u.role,
			coalesce(u.employee_id, ''), u.created_at, u.password_changed_at,
			(SELECT count(*) FROM ops.api_tokens AS t WHERE t.user_id = u.user_id AND t.revoked_at IS NULL)
		FROM ops.users AS u WHERE ? = '' OR u.login = ? ORDER BY u.login`, login, login)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var role string
		if err := rows.Scan(&u.ID, &u.Login, &u.DisplayName, &role, &u.EmployeeID, &u.CreatedAt, &u.PasswordChangedAt, &u.Tokens); err != nil {
			return nil, err
		}
		u.Role = Role(role)
		out = append(out, u)
	}
	return out, rows.Err()
}

// RemoveUser deletes a user with their sessions and tokens.
func (s *Store) RemoveUser(ctx context.Context, login string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.userID(ctx, login)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{
		`DELETE FROM ops.sessions WHERE user_id = ?`,
		`DELETE FROM ops.api_tokens WHERE user_id = ?`,
		`DELETE FROM ops.users WHERE user_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("removing user %q: %w", NormalizeLogin(login), err)
		}
	}
	defer s.creds.clear()
	return tx.Commit()
}

// SetPassword replaces a user's password and ends their sessions.
func (s *Store) SetPassword(ctx context.Context, login, password string) error {
	if err := validPassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password, s.opts.Params)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.userID(ctx, login)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE ops.users SET password_hash = ?, password_changed_at = ? WHERE user_id = ?`, hash, s.now(), id); err != nil {
		return fmt.Errorf("setting password: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM ops.sessions WHERE user_id = ?`, id); err != nil {
		return fmt.Errorf("ending sessions: %w", err)
	}
	defer s.creds.clear()
	return tx.Commit()
}

// Authenticate checks a login and password. Unknown logins cost the same
// argon2id computation as known ones, and both fail with
// ErrBadCredentials. A hash made with other parameters than the store's
// is replaced after a successful check.
func (s *Store) Authenticate(ctx context.Context, login, password string) (Principal, error) {
	login = NormalizeLogin(login)
	var p Principal
	var role, hash string
	var emp sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT user_id, login, display_name, role, employee_id, password_hash
		FROM ops.users WHERE login = ?`, login).Scan(&p.UserID, &p.Login, &p.DisplayName, &role, &emp, &hash)
	if errors.Is(err, sql.ErrNoRows) || len(password) > 1024 {
		_, _ = VerifyPassword(password, s.dummyHash())
		return Principal{}, ErrBadCredentials
	}
	if err != nil {
		return Principal{}, fmt.Errorf("reading user: %w", err)
	}
	ok, err := VerifyPassword(password, hash)
	if err != nil {
		return Principal{}, fmt.Errorf("user %q: stored password hash: %w", login, err)
	}
	if !ok {
		return Principal{}, ErrBadCredentials
	}
	if needsRehash(hash, s.opts.Params) {
		if h, err := HashPassword(password, s.opts.Params); err == nil {
			_, _ = s.db.ExecContext(ctx, `UPDATE ops.users SET password_hash = ? WHERE user_id = ? AND password_hash = ?`, h, p.UserID, hash)
		}
	}
	p.Role, p.EmployeeID, p.Via = Role(role), emp.String, ViaSession
	return p, nil
}

// Token is an API token as listed (never its secret).
type Token struct {
	ID         int64      `json:"token_id"`
	Login      string     `json:"login"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// TokenPrefix starts every user API token.
const TokenPrefix = "pulse_"

// CreateToken makes a bearer token for the user, named name (unique among
// the user's live tokens), and returns it: this is the only time it is
// seen, only its SHA-256 is kept.
func (s *Store) CreateToken(ctx context.Context, login, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", fmt.Errorf("%w: a token needs a name of 1 to 100 characters", ErrInvalid)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.userID(ctx, login)
	if err != nil {
		return "", err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM ops.api_tokens WHERE user_id = ? AND name = ? AND revoked_at IS NULL`, id, name).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return "", fmt.Errorf("token %q of %q: %w", name, NormalizeLogin(login), ErrExists)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO ops.api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)`,
		id, name, sha256Hex(token), s.now()); err != nil {
		return "", fmt.Errorf("creating token: %w", err)
	}
	return token, nil
}

// RevokeToken revokes the user's live token of that name.
func (s *Store) RevokeToken(ctx context.Context, login, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.userID(ctx, login)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE ops.api_tokens SET revoked_at = ? WHERE user_id = ? AND name = ? AND revoked_at IS NULL`,
		s.now(), id, strings.TrimSpace(name))
	if err != nil {
		return fmt.Errorf("revoking token: %w", err)
	}
	s.creds.clear()
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %q of %q: %w", name, NormalizeLogin(login), ErrNotFound)
	}
	return nil
}

// ListTokens lists a user's tokens, or everyone's when login is "".
func (s *Store) ListTokens(ctx context.Context, login string) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.token_id, u.login, t.name, t.created_at, t.last_used_at, t.revoked_at
		FROM ops.api_tokens AS t JOIN ops.users AS u USING (user_id)
		WHERE ? = '' OR u.login = ? ORDER BY u.login, t.created_at`, NormalizeLogin(login), NormalizeLogin(login))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var used, revoked sql.NullTime
		if err := rows.Scan(&t.ID, &t.Login, &t.Name, &t.CreatedAt, &used, &revoked); err != nil {
			return nil, err
		}
		if used.Valid {
			t.LastUsedAt = &used.Time
		}
		if revoked.Valid {
			t.RevokedAt = &revoked.Time
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// touchEvery is how stale last_seen_at / last_used_at may get before a
// request writes it again: requests should not each write to DuckDB.
func (s *Store) touchEvery() time.Duration { return min(s.opts.IdleTimeout/10, time.Minute) }

// AuthenticateToken resolves a user API token.
func (s *Store) AuthenticateToken(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 200 {
		return Principal{}, ErrBadToken
	}
	hash, now := sha256Hex(token), s.now()
	e, gen, ok := s.creds.get(hash, now)
	if ok {
		return e.p, nil
	}
	var p Principal
	var tokenID int64
	var role string
	var emp sql.NullString
	var used sql.NullTime
	err := s.db.QueryRowContext(ctx, `SELECT t.token_id, t.last_used_at, u.user_id, u.login, u.display_name, u.role, u.employee_id
		FROM ops.api_tokens AS t JOIN ops.users AS u USING (user_id)
		WHERE t.token_hash = ? AND t.revoked_at IS NULL`, hash).
		Scan(&tokenID, &used, &p.UserID, &p.Login, &p.DisplayName, &role, &emp)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrBadToken
	}
	if err != nil {
		return Principal{}, fmt.Errorf("reading token: %w", err)
	}
	if !used.Valid || now.Sub(used.Time) >= s.touchEvery() {
		// Best effort: a concurrent touch of the same row may conflict.
		_, _ = s.db.ExecContext(ctx, `UPDATE ops.api_tokens SET last_used_at = ? WHERE token_id = ?`, now, tokenID)
	}
	p.Role, p.EmployeeID, p.Via = Role(role), emp.String, ViaToken
	s.creds.put(hash, credEntry{p: p}, now, gen)
	return p, nil
}
