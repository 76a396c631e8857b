package alert

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Store answers questions about alerts, their notifications and silences,
// for the API.
type Store struct {
	db       *sql.DB
	lang     string
	now      func() time.Time
	silences *Silences
}

// StoreOptions configure NewStore.
type StoreOptions struct {
	// Rules lists the rule names silences may name.
	Rules func() []string
	// Language of Summary when a request does not ask: en or zh-CN.
	Language string
	Now      func() time.Time
}

// NewStore reads and writes alerts in db.
func NewStore(db *sql.DB, opts StoreOptions) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Language == "" {
		opts.Language = LangEN
	}
	if opts.Rules == nil {
		opts.Rules = func() []string { return nil }
	}
	return &Store{db: db, lang: opts.Language, now: opts.Now, silences: NewSilences(db, opts.Rules, opts.Now)}
}

// Alerts lists alerts (see Filter); Summary is in f.Lang or the store's
// language.
func (s *Store) Alerts(ctx context.Context, f Filter) ([]Alert, error) {
	if f.Lang == "" {
		f.Lang = s.lang
	}
	if f.At.IsZero() {
		f.At = s.now()
	}
	return List(ctx, s.db, f)
}

// Silences lists the active silences, or all.
func (s *Store) Silences(ctx context.Context, all bool) ([]Silence, error) {
	return s.silences.List(ctx, all)
}

// Silence creates a silence.
func (s *Store) Silence(ctx context.Context, in Silence) (*Silence, error) {
	return s.silences.Create(ctx, in)
}

// Unsilence ends a silence now.
func (s *Store) Unsilence(ctx context.Context, id int64, by string) (*Silence, error) {
	return s.silences.End(ctx, id, by)
}

// Notification is one queued notification with its delivery attempts.
type Notification struct {
	ID            int64      `json:"id"`
	Key           string     `json:"key"`
	Episode       int        `json:"episode"`
	Kind          string     `json:"kind"`
	Channel       string     `json:"channel"`
	Manager       bool       `json:"manager"`
	Status        string     `json:"status"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	SentAt        *time.Time `json:"sent_at"`
	SilencedBy    *int64     `json:"silenced_by"`
	LastError     string     `json:"last_error,omitempty"`
	Attempts      []Delivery `json:"attempts"`
}

// Delivery is one attempt to deliver a notification.
type Delivery struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	DurationMS float64   `json:"duration_ms"`
	OK         bool      `json:"ok"`
	Code       *int      `json:"code"`
	Response   string    `json:"response,omitempty"`
	Error      string    `json:"error,omitempty"`
	Permanent  bool      `json:"permanent"`
}

// Notifications lists the notifications of an alert key (all keys when
// empty), newest first, with their attempts.
func (s *Store) Notifications(ctx context.Context, key string, limit int) ([]Notification, error) {
	if limit <= 0 || limit > 10000 {
		return nil, fmt.Errorf("%w: limit %d is not between 1 and 10000", ErrBadQuery, limit)
	}
	where, args := "", []any{}
	if key != "" {
		where, args = "WHERE alert_key = ?", append(args, key)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT notification_id, alert_key, episode, kind, channel, manager, status,
		epoch_us(created_at), CASE WHEN status = 'pending' THEN epoch_us(next_attempt_at) END, epoch_us(sent_at),
		silenced_by, coalesce(last_error, '')
		FROM ops.alert_notifications `+where+fmt.Sprintf(` ORDER BY notification_id DESC LIMIT %d`, limit), args...)
	if err != nil {
		return nil, fmt.Errorf("reading notifications: %w", err)
	}
	out := []Notification{}
	index := map[int64]int{}
	for rows.Next() {
		var n Notification
		var created int64
		var next, sent, silenced sql.NullInt64
		if err := rows.Scan(&n.ID, &n.Key, &n.Episode, &n.Kind, &n.Channel, &n.Manager, &n.Status,
			&created, &next, &sent, &silenced, &n.LastError); err != nil {
			rows.Close()
			return nil, err
		}
		n.CreatedAt, n.NextAttemptAt, n.SentAt = time.UnixMicro(created).UTC(), micros(next), micros(sent)
		if silenced.Valid {
			n.SilencedBy = &silenced.Int64
		}
		n.Attempts = []Delivery{}
		index[n.ID] = len(out)
		out = append(out, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	drows, err := s.db.QueryContext(ctx, `SELECT d.notification_id, d.attempt, epoch_us(d.attempted_at), d.duration_ms, d.ok, d.code,
		coalesce(d.response, ''), coalesce(d.error, ''), d.permanent
		FROM ops.alert_deliveries AS d JOIN (SELECT notification_id FROM ops.alert_notifications `+where+
		fmt.Sprintf(` ORDER BY notification_id DESC LIMIT %d`, limit)+`) USING (notification_id)
		ORDER BY d.notification_id, d.attempt`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading deliveries: %w", err)
	}
	defer drows.Close()
	for drows.Next() {
		var id int64
		var d Delivery
		var at int64
		var code sql.NullInt64
		if err := drows.Scan(&id, &d.Attempt, &at, &d.DurationMS, &d.OK, &code, &d.Response, &d.Error, &d.Permanent); err != nil {
			return nil, err
		}
		d.At = time.UnixMicro(at).UTC()
		if code.Valid {
			c := int(code.Int64)
			d.Code = &c
		}
		if i, ok := index[id]; ok {
			out[i].Attempts = append(out[i].Attempts, d)
		}
	}
	return out, drows.Err()
}
