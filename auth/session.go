package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Session is a signed-in browser.
type Session struct {
	Principal
	CSRFToken  string    `json:"csrf_token"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// csrfToken is the session's CSRF token: an HMAC of a constant keyed by
// the session's secret, so it is stable for the session, differs between
// sessions, and cannot be derived from the database.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("pulse csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CreateSession starts a session for p and returns the cookie's value
// (32 random bytes; only its SHA-256 is stored). Expired sessions of
// anyone are deleted on the way.
func (s *Store) CreateSession(ctx context.Context, p Principal, clientIP, userAgent string) (string, Session, error) {
	if p.UserID == 0 {
		return "", Session{}, fmt.Errorf("%w: sessions are for users", ErrInvalid)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", Session{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM ops.sessions WHERE expires_at <= ? OR last_seen_at <= ?`,
		now, now.Add(-s.opts.IdleTimeout)); err != nil {
		return "", Session{}, fmt.Errorf("deleting expired sessions: %w", err)
	}
	sess := Session{Principal: p, CSRFToken: csrfToken(token), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.opts.SessionTTL)}
	sess.Via = ViaSession
	if _, err := s.db.ExecContext(ctx, `INSERT INTO ops.sessions
		(session_hash, user_id, created_at, last_seen_at, expires_at, client_ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sha256Hex(token), p.UserID, now, now, sess.ExpiresAt, nullString(clientIP), nullString(userAgent)); err != nil {
		return "", Session{}, fmt.Errorf("creating session: %w", err)
	}
	return token, sess, nil
}

// GetSession resolves a session cookie's value. A session past its expiry
// or idle longer than the idle timeout is deleted and ErrNoSession
// returned. The user is read afresh: a changed role applies at once.
func (s *Store) GetSession(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 100 {
		return Session{}, ErrNoSession
	}
	hash, now := sha256Hex(token), s.now()
	// A session believed from the cache still ends on time.
	e, gen, ok := s.creds.get(hash, now)
	if ok && now.Before(e.sess.ExpiresAt) && now.Sub(e.sess.LastSeenAt) < s.opts.IdleTimeout {
		return e.sess, nil
	}
	var sess Session
	var role string
	var emp sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT s.created_at, s.last_seen_at, s.expires_at,
			u.user_id, u.login, u.display_name, u.role, u.employee_id
		FROM ops.sessions AS s JOIN ops.users AS u USING (user_id) WHERE s.session_hash = ?`, hash).
		Scan(&sess.CreatedAt, &sess.LastSeenAt, &sess.ExpiresAt, &sess.UserID, &sess.Login, &sess.DisplayName, &role, &emp)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("reading session: %w", err)
	}
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.opts.IdleTimeout {
		_, _ = s.db.ExecContext(ctx, `DELETE FROM ops.sessions WHERE session_hash = ?`, hash)
		return Session{}, ErrNoSession
	}
	if now.Sub(sess.LastSeenAt) >= s.touchEvery() {
		// Best effort: two requests touching at once may conflict.
		if _, err := s.db.ExecContext(ctx, `UPDATE ops.sessions SET last_seen_at = ? WHERE session_hash = ?`, now, hash); err == nil {
			sess.LastSeenAt = now
		}
	}
	sess.Role, sess.EmployeeID, sess.Via = Role(role), emp.String, ViaSession
	sess.CSRFToken = csrfToken(token)
	s.creds.put(hash, credEntry{p: sess.Principal, sess: sess}, now, gen)
	return sess, nil
}

// DeleteSession ends a session (signing out). Deleting a session that
// does not exist is not an error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	hash := sha256Hex(token)
	// Dropped after the delete: a lookup that read the row before it
	// cannot put it back (the drop moves the generation on).
	defer s.creds.drop(hash)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM ops.sessions WHERE session_hash = ?`, hash); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}
