package auth

import (
	"math"
	"sync"
	"time"
)

// Bucket is a token bucket: Burst attempts at once, then one more every
// Every.
type Bucket struct {
	Burst int
	Every time.Duration
}

// Limits are the sign-in limits.
type Limits struct {
	PerLogin Bucket // attempts on one login, from anywhere
	PerIP    Bucket // attempts from one client address, on any login
}

// DefaultLimits: 5 attempts per login then one a minute; 20 per address
// then one every 10 seconds.
var DefaultLimits = Limits{
	PerLogin: Bucket{Burst: 5, Every: time.Minute},
	PerIP:    Bucket{Burst: 20, Every: 10 * time.Second},
}

// Limiter limits sign-in attempts per login and per client address, in
// memory (a restart forgets). Each attempt takes a token from both
// buckets up front (so parallel guesses cannot overdraw); a successful
// sign-in refills the login's bucket and gives the address its token back.
type Limiter struct {
	limits Limits
	now    func() time.Time
	mu     sync.Mutex
	login  map[string]*bucket
	ip     map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds each map; beyond it, full buckets are forgotten.
const maxBuckets = 10000

// NewLimiter makes a limiter; zero buckets get DefaultLimits', now nil is
// time.Now.
func NewLimiter(l Limits, now func() time.Time) *Limiter {
	if l.PerLogin.Burst <= 0 || l.PerLogin.Every <= 0 {
		l.PerLogin = DefaultLimits.PerLogin
	}
	if l.PerIP.Burst <= 0 || l.PerIP.Every <= 0 {
		l.PerIP = DefaultLimits.PerIP
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{limits: l, now: now, login: map[string]*bucket{}, ip: map[string]*bucket{}}
}

// level refills b to now and returns it (a new full bucket if absent).
func (l *Limiter) level(m map[string]*bucket, key string, cfg Bucket, now time.Time) *bucket {
	b, ok := m[key]
	if !ok {
		if len(m) >= maxBuckets {
			l.sweep(m, cfg, now)
		}
		b = &bucket{tokens: float64(cfg.Burst), at: now}
		m[key] = b
		return b
	}
	if now.After(b.at) {
		b.tokens = math.Min(float64(cfg.Burst), b.tokens+float64(now.Sub(b.at))/float64(cfg.Every))
		b.at = now
	}
	return b
}

func (l *Limiter) sweep(m map[string]*bucket, cfg Bucket, now time.Time) {
	for k, b := range m {
		if b.tokens+float64(now.Sub(b.at))/float64(cfg.Every) >= float64(cfg.Burst) {
			delete(m, k)
		}
	}
}

func wait(b *bucket, cfg Bucket) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(cfg.Every))
}

// Allow takes one attempt for login from ip. When either bucket is empty
// it takes nothing and returns false and how long to wait.
func (l *Limiter) Allow(login, ip string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	bl := l.level(l.login, login, l.limits.PerLogin, now)
	bi := l.level(l.ip, ip, l.limits.PerIP, now)
	if w := max(wait(bl, l.limits.PerLogin), wait(bi, l.limits.PerIP)); w > 0 {
		return false, w.Round(time.Second) + time.Second
	}
	bl.tokens--
	bi.tokens--
	return true, 0
}

// Succeeded records a successful sign-in: the login's bucket is refilled,
// the address gets its attempt back.
func (l *Limiter) Succeeded(login, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	delete(l.login, login)
	bi := l.level(l.ip, ip, l.limits.PerIP, now)
	bi.tokens = math.Min(float64(l.limits.PerIP.Burst), bi.tokens+1)
}
