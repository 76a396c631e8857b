package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsekpi/pulse/alert"
)

// Contact is how to reach a person: a manager added to a notification.
type Contact struct {
	Name     string
	Email    string
	Mobile   string
	FeishuID string
}

// Options configure New. Zero values get defaults.
type Options struct {
	Destinations []Destination
	// Contacts by employee_id; they take precedence over the email and
	// mobile fields an employee.upserted event may carry among its extra
	// fields.
	Contacts map[string]Contact
	// ExternalURL is where users reach Pulse (https://pulse.example.com);
	// messages link to the alert there. Empty: no link.
	ExternalURL string
	// Poll is how often due notifications are looked for; default 1s.
	Poll time.Duration
	// BackoffMin and BackoffMax bound the wait between attempts, doubling
	// from min to max (with ±20% jitter); default 1s and 5m.
	BackoffMin, BackoffMax time.Duration
	// GiveUpAfter is how long a notification is retried after its first
	// attempt; default 24h.
	GiveUpAfter time.Duration
	// Now is the clock; default time.Now.
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics *Metrics
}

func (o *Options) defaults() {
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = max(5*time.Minute, o.BackoffMin)
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
}

// Notifier delivers the notifications the alert evaluator queues in
// ops.alert_notifications: each once, retrying with backoff, holding back
// those an active silence covers, and logging every attempt in
// ops.alert_deliveries.
type Notifier struct {
	db       *sql.DB
	opts     Options
	channels map[string]Channel
	log      *slog.Logger
	// mu serialises the bookkeeping writes of concurrent channel workers.
	mu sync.Mutex
	// flushing holds a token during a pass: passes never overlap.
	flushing chan struct{}
	wake     chan struct{}
	// unrecorded holds the deliveries the receiver accepted but that could
	// not be recorded (a full disk, a database error), by notification id:
	// they are recorded at the next pass, never sent again.
	umu        sync.Mutex
	unrecorded map[int64]*accepted
}

// accepted is a delivery the receiver accepted, not yet recorded.
type accepted struct {
	attempt int
	at      time.Time
	took    time.Duration
	att     Attempt
	logged  bool // in ops.alert_deliveries already
}

// New builds a notifier over db.
func New(db *sql.DB, opts Options) (*Notifier, error) {
	opts.defaults()
	chans := map[string]Channel{}
	for _, d := range opts.Destinations {
		name := d.Channel.Name()
		if _, dup := chans[name]; dup {
			return nil, fmt.Errorf("channel %q defined twice", name)
		}
		chans[name] = d.Channel
	}
	return &Notifier{db: db, opts: opts, channels: chans, log: opts.Logger,
		flushing: make(chan struct{}, 1), wake: make(chan struct{}, 1), unrecorded: map[int64]*accepted{}}, nil
}

// Wake asks for a pass now (after an evaluation queued notifications).
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Run delivers due notifications every Poll (or when woken) until ctx is
// done, then makes a last pass.
func (n *Notifier) Run(ctx context.Context) error {
	t := time.NewTicker(n.opts.Poll)
	defer t.Stop()
	for {
		if _, err := n.Flush(context.WithoutCancel(ctx)); err != nil {
			n.log.Warn("delivering alerts", "err", err)
		}
		select {
		case <-ctx.Done():
			// One last pass for what the last evaluation queued; what a
			// slow receiver leaves is delivered after the restart.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer cancel()
			if _, err := n.Flush(fctx); err != nil {
				n.log.Warn("delivering alerts", "err", err)
			}
			return nil
		case <-t.C:
		case <-n.wake:
		}
	}
}

// Pass counts what one pass did.
type Pass struct {
	Sent, Retried, Failed, Dropped, Held int
}

// due is a notification to deliver now.
type due struct {
	id       int64
	key      string
	episode  int
	kind     string
	channel  string
	manager  bool
	attempts int
	// firstAttempt is zero before the first attempt.
	firstAttempt time.Time
}

// Flush makes one pass over the due notifications: each channel's in
// order, channels side by side.
func (n *Notifier) Flush(ctx context.Context) (Pass, error) {
	n.flushing <- struct{}{}
	defer func() { <-n.flushing }()
	now := n.opts.Now().UTC().Truncate(time.Microsecond)
	// Retries are counted from the first attempt: time held back by a
	// silence does not count.
	rows, err := n.db.QueryContext(ctx, `SELECT notification_id, alert_key, episode, kind, channel, manager, attempts,
		epoch_us((SELECT min(d.attempted_at) FROM ops.alert_deliveries AS d WHERE d.notification_id = n.notification_id))
		FROM ops.alert_notifications AS n WHERE status = 'pending' AND next_attempt_at <= `+tsLiteral(now)+`
		ORDER BY notification_id LIMIT 5000`)
	if err != nil {
		return Pass{}, fmt.Errorf("reading due notifications: %w", err)
	}
	byChannel := map[string][]due{}
	var order []string
	for rows.Next() {
		var d due
		var first sql.NullInt64
		if err := rows.Scan(&d.id, &d.key, &d.episode, &d.kind, &d.channel, &d.manager, &d.attempts, &first); err != nil {
			rows.Close()
			return Pass{}, err
		}
		if first.Valid {
			d.firstAttempt = time.UnixMicro(first.Int64).UTC()
		}
		if _, ok := byChannel[d.channel]; !ok {
			order = append(order, d.channel)
		}
		byChannel[d.channel] = append(byChannel[d.channel], d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Pass{}, err
	}
	var (
		pass Pass
		pmu  sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, ch := range order {
		wg.Go(func() {
			for _, d := range byChannel[ch] {
				outcome, err := n.deliver(ctx, d, now)
				pmu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				switch outcome {
				case statusSent:
					pass.Sent++
				case statusFailed:
					pass.Failed++
				case statusDropped:
					pass.Dropped++
				case "retry":
					pass.Retried++
				case "held":
					pass.Held++
				}
				pmu.Unlock()
			}
		})
	}
	wg.Wait()
	return pass, errors.Join(errs...)
}

// Statuses of a notification.
const (
	statusPending = "pending"
	statusSent    = "sent"
	statusFailed  = "failed"
	statusDropped = "dropped"
)

// deliver decides what becomes of one notification and records it.
func (n *Notifier) deliver(ctx context.Context, d due, now time.Time) (string, error) {
	n.umu.Lock()
	acc := n.unrecorded[d.id]
	n.umu.Unlock()
	if acc != nil {
		// Accepted by the receiver at an earlier pass: only record it.
		return n.record(ctx, d, acc)
	}
	a, err := alert.Get(ctx, n.db, d.key, d.episode, now)
	if errors.Is(err, alert.ErrNotFound) {
		return statusDropped, n.finish(ctx, d, d.attempts, statusDropped, "the alert is gone", nil)
	}
	if err != nil {
		return "", fmt.Errorf("notification %d: %w", d.id, err)
	}
	ch, ok := n.channels[d.channel]
	switch {
	case !ok:
		return statusFailed, n.finish(ctx, d, d.attempts, statusFailed, fmt.Sprintf("channel %q is no longer configured", d.channel), nil)
	case d.kind == alert.KindFiring && a.State == alert.StateResolved:
		return statusDropped, n.finish(ctx, d, d.attempts, statusDropped, "the alert resolved before it could be delivered", nil)
	case d.kind == alert.KindResolved:
		var sent int
		if err := n.db.QueryRowContext(ctx, `SELECT count(*) FROM ops.alert_notifications
			WHERE alert_key = ? AND episode = ? AND kind = 'firing' AND channel = ? AND status = 'sent'`,
			d.key, d.episode, d.channel).Scan(&sent); err != nil {
			return "", fmt.Errorf("notification %d: %w", d.id, err)
		}
		if sent == 0 {
			return statusDropped, n.finish(ctx, d, d.attempts, statusDropped, "its firing notice was never delivered", nil)
		}
	}
	if a.SilencedBy != nil {
		return "held", n.hold(ctx, d, *a.SilencedBy, now)
	}
	if !d.firstAttempt.IsZero() && now.Sub(d.firstAttempt) > n.opts.GiveUpAfter {
		return statusFailed, n.finish(ctx, d, d.attempts, statusFailed,
			fmt.Sprintf("gave up after %d attempts over %s", d.attempts, n.opts.GiveUpAfter), nil)
	}
	msg := n.message(ctx, a, d)
	start := time.Now()
	att, sendErr := ch.Send(ctx, msg)
	took := time.Since(start)
	permanent := sendErr != nil && Permanent(sendErr)
	n.opts.Metrics.observe(d.channel, took, sendErr, permanent)
	attempt := d.attempts + 1
	if sendErr == nil {
		n.log.Info("alert delivered", "channel", d.channel, "alert", d.key, "episode", d.episode, "kind", d.kind)
		return n.record(ctx, d, &accepted{attempt: attempt, at: now, took: took, att: att})
	}
	if err := n.logAttempt(ctx, d, attempt, now, took, att, sendErr, permanent); err != nil {
		return "", err
	}
	switch {
	case permanent:
		n.log.Error("alert delivery failed for good", "channel", d.channel, "alert", d.key, "err", sendErr)
		return statusFailed, n.finish(ctx, d, attempt, statusFailed, sendErr.Error(), nil)
	default:
		wait := n.backoff(attempt)
		if ra, ok := RetryAfter(sendErr); ok && ra > wait {
			wait = min(ra, n.opts.GiveUpAfter) // the receiver asked for longer
		}
		next := now.Add(wait)
		n.log.Warn("alert delivery failed; will retry", "channel", d.channel, "alert", d.key,
			"attempt", attempt, "next", next, "err", sendErr)
		n.mu.Lock()
		defer n.mu.Unlock()
		_, err := n.db.ExecContext(ctx, `UPDATE ops.alert_notifications SET attempts = ?, next_attempt_at = `+tsLiteral(next)+`,
			last_error = ?, silenced_by = NULL WHERE notification_id = ?`, attempt, truncate(sendErr.Error(), 1000), d.id)
		if err != nil {
			return "", fmt.Errorf("notification %d: %w", d.id, err)
		}
		return "retry", nil
	}
}

// record records a delivery the receiver accepted: its attempt, then the
// notification as sent. If either write fails, the delivery is kept in
// memory and recorded at the next pass instead of being sent again (only
// a crash before it is recorded sends it twice).
func (n *Notifier) record(ctx context.Context, d due, acc *accepted) (string, error) {
	err := func() error {
		if !acc.logged {
			if err := n.logAttempt(ctx, d, acc.attempt, acc.at, acc.took, acc.att, nil, false); err != nil {
				return err
			}
			acc.logged = true
		}
		return n.finish(ctx, d, acc.attempt, statusSent, "", &acc.at)
	}()
	n.umu.Lock()
	defer n.umu.Unlock()
	if err != nil {
		if n.unrecorded[d.id] == nil {
			n.log.Error("alert delivered but not recorded; recording it at the next pass, not sending it again",
				"channel", d.channel, "alert", d.key, "err", err)
		}
		n.unrecorded[d.id] = acc
		return "", fmt.Errorf("notification %d delivered, not recorded: %w", d.id, err)
	}
	delete(n.unrecorded, d.id)
	return statusSent, nil
}

// backoff is the wait after the attempt-th failure.
func (n *Notifier) backoff(attempt int) time.Duration {
	d := n.opts.BackoffMin
	for i := 1; i < attempt && d < n.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, n.opts.BackoffMax)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// finish ends a notification: sent, failed or dropped. attempts is the
// attempts made, this pass's included.
func (n *Notifier) finish(ctx context.Context, d due, attempts int, status, why string, sentAt *time.Time) error {
	sent := "NULL"
	if sentAt != nil {
		sent = tsLiteral(*sentAt)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	_, err := n.db.ExecContext(ctx, `UPDATE ops.alert_notifications SET status = ?, sent_at = `+sent+`,
		attempts = ?, last_error = ?, silenced_by = NULL WHERE notification_id = ?`,
		status, attempts, nullIfEmpty(why), d.id)
	if err != nil {
		return fmt.Errorf("notification %d: %w", d.id, err)
	}
	n.opts.Metrics.outcome(d.channel, status)
	return nil
}

// hold keeps a silenced notification pending until its silence ends (or
// is ended: Silences.End makes it due at once).
func (n *Notifier) hold(ctx context.Context, d due, silence int64, now time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, err := n.db.ExecContext(ctx, `UPDATE ops.alert_notifications AS n SET silenced_by = s.silence_id,
		next_attempt_at = greatest(s.ends_at, `+tsLiteral(now)+`)
		FROM ops.silences AS s WHERE s.silence_id = ? AND n.notification_id = ?`, silence, d.id)
	if err != nil {
		return fmt.Errorf("notification %d: holding for silence %d: %w", d.id, silence, err)
	}
	return nil
}

func (n *Notifier) logAttempt(ctx context.Context, d due, attempt int, at time.Time, took time.Duration, att Attempt, sendErr error, permanent bool) error {
	var code, errText any
	if att.Code != 0 {
		code = att.Code
	}
	if sendErr != nil {
		errText = truncate(sendErr.Error(), 1000)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	_, err := n.db.ExecContext(ctx, `INSERT INTO ops.alert_deliveries
		(notification_id, attempt, channel, attempted_at, duration_ms, ok, code, response, error, permanent)
		VALUES (?, ?, ?, `+tsLiteral(at)+`, ?, ?, ?, ?, ?, ?)`,
		d.id, attempt, d.channel, float64(took.Microseconds())/1000, sendErr == nil, code,
		nullIfEmpty(att.Response), errText, permanent)
	if err != nil {
		return fmt.Errorf("logging delivery of notification %d: %w", d.id, err)
	}
	return nil
}

// message builds what the channel sends.
func (n *Notifier) message(ctx context.Context, a *alert.Alert, d due) Message {
	m := Message{
		ID: fmt.Sprintf("%s#%d/%s", a.Key, a.Episode, d.kind), Kind: d.kind,
		Rule: a.Rule, Severity: a.Severity, Key: a.Key, Episode: a.Episode,
		SubjectType: a.SubjectType, SubjectID: a.Subject, SubjectName: a.SubjectName, TeamID: a.TeamID,
		Value: a.Value, Threshold: a.Threshold, SummaryEN: a.SummaryEN, SummaryZH: a.SummaryZH,
		FirstSeen: a.FirstSeen, ResolvedAt: a.ResolvedAt,
	}
	if a.FiredAt != nil {
		m.FiredAt = *a.FiredAt
	}
	if n.opts.ExternalURL != "" {
		m.URL = strings.TrimSuffix(n.opts.ExternalURL, "/") + "/alerts?key=" + url.QueryEscape(a.Key)
	}
	if d.manager {
		c, err := n.manager(ctx, a)
		if err != nil {
			n.log.Warn("looking up the manager of an alert's subject", "alert", a.Key, "err", err)
		}
		if c != nil {
			m.Mentions = Mentions{Names: nonEmpty(c.Name), Emails: nonEmpty(c.Email),
				Mobiles: nonEmpty(c.Mobile), UserIDs: nonEmpty(c.FeishuID)}
		}
	}
	return m
}

// manager finds the subject's manager: the manager_id of the employee
// concerned, or for a team the manager most of its active members have.
func (n *Notifier) manager(ctx context.Context, a *alert.Alert) (*Contact, error) {
	var id, name sql.NullString
	var err error
	switch {
	case a.EmployeeID != "":
		err = n.db.QueryRowContext(ctx, `SELECT e.manager_id, m.name FROM staging.employees AS e
			LEFT JOIN staging.employees AS m ON m.employee_id = e.manager_id WHERE e.employee_id = ?`, a.EmployeeID).Scan(&id, &name)
	case a.SubjectType == "team":
		err = n.db.QueryRowContext(ctx, `SELECT e.manager_id, any_value(m.name) FROM staging.employees AS e
			LEFT JOIN staging.employees AS m ON m.employee_id = e.manager_id
			WHERE e.team_id = ? AND e.active AND e.manager_id IS NOT NULL
			GROUP BY e.manager_id ORDER BY count(*) DESC, e.manager_id LIMIT 1`, a.Subject).Scan(&id, &name)
	default:
		return nil, nil
	}
	if errors.Is(err, sql.ErrNoRows) || err == nil && !id.Valid {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := n.opts.Contacts[id.String]
	if c.Name == "" {
		c.Name = name.String
	}
	if c.Email == "" || c.Mobile == "" {
		// The CRM may send them as extra fields of employee.upserted.
		var email, mobile sql.NullString
		err := n.db.QueryRowContext(ctx, `SELECT extra->>'email', coalesce(extra->>'mobile', extra->>'phone')
			FROM raw.employee_upserted WHERE employee_id = ?
			ORDER BY occurred_at DESC, recorded_at DESC, event_id DESC LIMIT 1`, id.String).Scan(&email, &mobile)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return &c, err
		}
		if c.Email == "" {
			c.Email = email.String
		}
		if c.Mobile == "" {
			c.Mobile = mobile.String
		}
	}
	return &c, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func tsLiteral(tm time.Time) string {
	return "TIMESTAMPTZ '" + tm.UTC().Format("2006-01-02 15:04:05.000000") + "+00'"
}

// Metrics are the notifier's Prometheus metrics.
type Metrics struct {
	attempts *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	outcomes *prometheus.CounterVec
}

// NewMetrics registers the metrics with reg; nil keeps them unregistered.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_alert_delivery_attempts_total", Help: "Delivery attempts by channel and result (ok, retry, permanent).",
		}, []string{"channel", "result"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pulse_alert_delivery_seconds", Help: "Time a channel took to answer a delivery.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"channel"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_alert_notifications_total", Help: "Notifications finished, by channel and status (sent, failed, dropped).",
		}, []string{"channel", "status"}),
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.seconds, m.outcomes)
	}
	return m
}

func (m *Metrics) observe(channel string, took time.Duration, err error, permanent bool) {
	result := "ok"
	switch {
	case err != nil && permanent:
		result = "permanent"
	case err != nil:
		result = "retry"
	}
	m.attempts.WithLabelValues(channel, result).Inc()
	m.seconds.WithLabelValues(channel).Observe(took.Seconds())
}

func (m *Metrics) outcome(channel, status string) { m.outcomes.WithLabelValues(channel, status).Inc() }
