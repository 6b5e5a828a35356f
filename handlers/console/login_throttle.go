package console

import (
	"strings"
	"sync"
	"time"
)

// loginThrottle slows down guessing: after a few failures for one email from
// one address (or many from one address), each further try must wait twice
// as long as the last, up to a limit. It lives in memory: a restart forgives,
// which costs an attacker a restart they cannot cause.
type loginThrottle struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]*loginFailures
}

type loginFailures struct {
	n     int
	last  time.Time
	until time.Time
}

const (
	freeFailuresPerEmail = 3
	freeFailuresPerIP    = 20
	maxLoginDelay        = 15 * time.Minute
	forgetFailuresAfter  = time.Hour
	maxThrottleEntries   = 100_000
)

func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{now: now, entries: map[string]*loginFailures{}}
}

func throttleKeys(ip, email string) (perEmail, perIP string) {
	return "e|" + ip + "|" + strings.ToLower(strings.TrimSpace(email)), "i|" + ip
}

// wait says how long the caller must wait before trying this email from this address.
func (t *loginThrottle) wait(ip, email string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var longest time.Duration
	ke, ki := throttleKeys(ip, email)
	for _, k := range []string{ke, ki} {
		if f, ok := t.entries[k]; ok && now.Before(f.until) {
			longest = max(longest, f.until.Sub(now))
		}
	}
	return longest
}

// fail records a failed try and returns the wait it imposes on the next.
func (t *loginThrottle) fail(ip, email string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.entries) >= maxThrottleEntries {
		for k, f := range t.entries {
			if now.Sub(f.last) > forgetFailuresAfter {
				delete(t.entries, k)
			}
		}
	}
	ke, ki := throttleKeys(ip, email)
	var longest time.Duration
	for _, k := range []struct {
		key  string
		free int
	}{{ke, freeFailuresPerEmail}, {ki, freeFailuresPerIP}} {
		f, ok := t.entries[k.key]
		if !ok || now.Sub(f.last) > forgetFailuresAfter {
			f = &loginFailures{}
			t.entries[k.key] = f
		}
		f.n++
		f.last = now
		if f.n >= k.free {
			delay := time.Second << min(f.n-k.free, 20)
			delay = min(delay, maxLoginDelay)
			f.until = now.Add(delay)
			longest = max(longest, delay)
		}
	}
	return longest
}

// succeed forgets the failures for this email from this address.
func (t *loginThrottle) succeed(ip, email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ke, _ := throttleKeys(ip, email)
	delete(t.entries, ke)
}
