package console

import (
	"strings"
	"sync"
	"time"
)

// loginThrottle slows down guessing: after a few failures for one email from
// one address (or many from one address), each further try must wait twice
// as long as the last, up to a limit.
//
// A try takes its place before the password is checked (begin) and settles
// it after (fail or succeed). Counting only settled failures would let a
// burst sent at once be checked whole before the first failure is counted:
// bcrypt takes tens of milliseconds, so 100 concurrent guesses would all be
// evaluated. With the place taken first, at most the free tries plus the
// ones in flight are evaluated, and once the free tries are spent only one
// try at a time is, after its wait.
//
// It lives in memory: a restart forgives, which costs an attacker a restart
// they cannot cause.
type loginThrottle struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]*loginFailures
}

type loginFailures struct {
	n        int // settled failures
	inFlight int // tries begun and not yet settled
	last     time.Time
	until    time.Time
}

const (
	freeFailuresPerEmail = 3
	freeFailuresPerIP    = 20
	maxLoginDelay        = 15 * time.Minute
	forgetFailuresAfter  = time.Hour
	maxThrottleEntries   = 100_000
	// busyRetry is the wait given to a try refused because the one try its
	// spent budget allows is still being checked.
	busyRetry = time.Second
)

func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{now: now, entries: map[string]*loginFailures{}}
}

type throttleKey struct {
	key  string
	free int
}

func throttleKeys(ip, email string) [2]throttleKey {
	return [2]throttleKey{
		{"e|" + ip + "|" + strings.ToLower(strings.TrimSpace(email)), freeFailuresPerEmail},
		{"i|" + ip, freeFailuresPerIP},
	}
}

// loginTry is a place taken by begin; exactly one of fail or succeed settles it.
type loginTry struct {
	t         *loginThrottle
	ip, email string
}

// begin takes a place for one try of this email from this address. When
// none is free it returns nil and how long to wait.
func (t *loginThrottle) begin(ip, email string) (*loginTry, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.forgetOld(now)
	keys := throttleKeys(ip, email)
	var wait time.Duration
	for _, k := range keys {
		f, ok := t.entries[k.key]
		if !ok || f.stale(now) {
			continue
		}
		switch {
		case now.Before(f.until):
			wait = max(wait, f.until.Sub(now))
		case f.n >= k.free && f.inFlight > 0, f.n+f.inFlight >= k.free && f.n < k.free:
			// Spent: one try at a time. Not yet spent: no more at once
			// than the free tries left.
			wait = max(wait, busyRetry)
		}
	}
	if wait > 0 {
		return nil, wait
	}
	for _, k := range keys {
		f := t.entry(k.key, now)
		f.inFlight++
		f.last = now
	}
	return &loginTry{t: t, ip: ip, email: email}, 0
}

// fail settles the try as a failure and returns the wait it imposes on the next.
func (a *loginTry) fail() time.Duration {
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var longest time.Duration
	for _, k := range throttleKeys(a.ip, a.email) {
		f := t.entry(k.key, now)
		f.inFlight = max(f.inFlight-1, 0)
		f.n++
		f.last = now
		if f.n >= k.free {
			delay := min(time.Second<<min(f.n-k.free, 20), maxLoginDelay)
			f.until = now.Add(delay)
			longest = max(longest, delay)
		}
	}
	return longest
}

// succeed settles the try and forgets the failures for this email from this
// address (the address's own count stays: many emails guessed from one
// address are still many guesses).
func (a *loginTry) succeed() {
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := throttleKeys(a.ip, a.email)
	delete(t.entries, keys[0].key)
	if f, ok := t.entries[keys[1].key]; ok {
		f.inFlight = max(f.inFlight-1, 0)
	}
}

func (t *loginThrottle) entry(key string, now time.Time) *loginFailures {
	f, ok := t.entries[key]
	if !ok || f.stale(now) {
		f = &loginFailures{last: now}
		t.entries[key] = f
	}
	return f
}

func (f *loginFailures) stale(now time.Time) bool {
	return f.inFlight == 0 && now.Sub(f.last) > forgetFailuresAfter
}

func (t *loginThrottle) forgetOld(now time.Time) {
	if len(t.entries) < maxThrottleEntries {
		return
	}
	for k, f := range t.entries {
		if f.stale(now) {
			delete(t.entries, k)
		}
	}
}
