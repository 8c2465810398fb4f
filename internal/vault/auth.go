package vault

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/seedship/seedship/internal/meta"
)

// principal is an authenticated caller.
type principal struct {
	role      meta.Role
	keyID     string
	name      string
	accountID string
	vaultID   string // machines only
	machineID string // machines only
}

// bearer returns the credential of the Authorization header, or "".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

var errBadCredential = errors.New("invalid or expired credential")

// authenticate checks the request's API key. Failures count against the
// source IP's rate limit; a blocked IP is refused before any check.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	ip := remoteIP(r)
	if wait := s.limiter.wait(ip); wait > 0 {
		return nil, rateLimited(wait)
	}
	raw := bearer(r)
	if raw == "" {
		return nil, apiErr(http.StatusUnauthorized, CodeUnauthorized, "missing credential: send Authorization: Bearer <api key>")
	}
	p, err := s.checkKey(r, raw)
	if errors.Is(err, errBadCredential) {
		s.limiter.fail(ip)
		return nil, apiErr(http.StatusUnauthorized, CodeUnauthorized, "invalid or expired credential")
	}
	if err != nil {
		return nil, err
	}
	l := getReqLog(r.Context())
	l.role, l.keyID = p.role, p.keyID
	return p, nil
}

// checkKey resolves a bearer credential to its principal.
func (s *Server) checkKey(r *http.Request, raw string) (*principal, error) {
	c, err := parseCredential(raw)
	if err != nil || kindRole(c.Kind) == "" {
		return nil, errBadCredential
	}
	k, err := s.cfg.DB.GetKey(r.Context(), c.ID)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, errBadCredential
	}
	if err != nil {
		return nil, internalErr(err)
	}
	expired := !k.Expires.IsZero() && !s.cfg.Now().Before(k.Expires)
	if !c.Matches(k.Hash) || k.Role != kindRole(c.Kind) || k.Disabled || expired {
		return nil, errBadCredential
	}
	if k.AccountID != "" {
		if err := s.checkAccount(r, k.AccountID); err != nil {
			return nil, err
		}
	}
	return &principal{role: k.Role, keyID: k.ID, name: k.Name, accountID: k.AccountID,
		vaultID: k.VaultID, machineID: k.MachineID}, nil
}

func (s *Server) checkAccount(r *http.Request, id string) error {
	a, err := s.cfg.DB.GetAccount(r.Context(), id)
	if errors.Is(err, meta.ErrNotFound) {
		return errBadCredential
	}
	if err != nil {
		return internalErr(err)
	}
	if a.Disabled {
		return apiErr(http.StatusForbidden, CodeDisabled, "account %s is disabled", a.Name)
	}
	return nil
}

func rateLimited(wait time.Duration) *apiError {
	e := apiErr(http.StatusTooManyRequests, CodeRateLimited,
		"too many failed authentications from your address: retry in %d s", int(math.Ceil(wait.Seconds())))
	e.Retry = wait
	return e
}

// limiter is a token bucket per source IP, spent by failed
// authentications: capacity and refill are perMinute per minute.
type limiter struct {
	mu        sync.Mutex
	perMinute float64
	now       func() time.Time
	ips       map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxTracked bounds the map; full buckets are dropped beyond it.
const maxTracked = 10000

func newLimiter(perMinute int, now func() time.Time) *limiter {
	return &limiter{perMinute: float64(perMinute), now: now, ips: map[string]*bucket{}}
}

// refill brings b up to date and reports whether it is full.
func (l *limiter) refill(b *bucket, now time.Time) bool {
	b.tokens = min(l.perMinute, b.tokens+now.Sub(b.last).Minutes()*l.perMinute)
	b.last = now
	return b.tokens >= l.perMinute
}

// wait returns how long ip must wait before it may try again; 0: now.
func (l *limiter) wait(ip string) time.Duration {
	if l.perMinute <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.ips[ip]
	if !ok {
		return 0
	}
	l.refill(b, l.now())
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / l.perMinute * float64(time.Minute))
}

// fail spends one token of ip's bucket.
func (l *limiter) fail(ip string) {
	if l.perMinute <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.ips[ip]
	if !ok {
		if len(l.ips) >= maxTracked {
			l.prune(now)
		}
		b = &bucket{tokens: l.perMinute, last: now}
		l.ips[ip] = b
	}
	l.refill(b, now)
	b.tokens--
}

func (l *limiter) prune(now time.Time) {
	for ip, b := range l.ips {
		if l.refill(b, now) {
			delete(l.ips, ip)
		}
	}
}
