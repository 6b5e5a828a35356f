package models

import "time"

// The sign-in throttle slows down guessing: after a few failures for one
// key (an e-mail from one address, or one address for any e-mail), each
// further try must wait twice as long as the last, up to a limit.
//
// A try takes its place before the password is checked (BeginLoginTry) and
// settles it after (FailLoginTry or SucceedLoginTry). Counting only settled
// failures would let a burst sent at once be checked whole before the first
// failure is counted: bcrypt takes tens of milliseconds, so 100 concurrent
// guesses would all be evaluated. With the place taken first, at most the
// free tries plus the ones in flight are evaluated, and once the free tries
// are spent only one try at a time is, after its wait.
//
// The counts live in the database, so every instance on one database
// counts the same guesses. A place taken and never settled (the instance
// stopped in between) counts only until its lease ends.

// ThrottleKey is one count a sign-in try is held to, with the failures it
// forgives before each try must wait.
type ThrottleKey struct {
	Key  string
	Free int
}

const (
	// MaxLoginDelay is the longest wait one failure imposes.
	MaxLoginDelay = 15 * time.Minute
	// forgetFailuresAfter is how long a key without tries is remembered.
	forgetFailuresAfter = time.Hour
	// LoginBusyRetry is the wait given to a try refused because the one try
	// its spent budget allows is still being checked.
	LoginBusyRetry = time.Second
	// loginTryLease is how long a place taken counts when it is never
	// settled; a password or code check takes well under a second.
	loginTryLease = time.Minute
	// throttlePruneEvery is how often one instance deletes forgotten keys.
	throttlePruneEvery = time.Minute
)

// loginFailures is one key's row.
type loginFailures struct {
	Key           string `gorm:"primaryKey"`
	Failures      int
	InFlight      int
	InFlightUntil int64 // ms
	LastAt        int64 // ms
	UntilAt       int64 // ms
}

func (loginFailures) TableName() string { return "login_throttle" }

// inFlightAt is the tries in flight, zero once their lease has ended.
func (f *loginFailures) inFlightAt(now int64) int {
	if f.InFlightUntil <= now {
		return 0
	}
	return f.InFlight
}

// stale says the key is forgotten: nothing in flight and no try for a while.
func (f *loginFailures) stale(now int64) bool {
	return f.inFlightAt(now) == 0 && now-f.LastAt > forgetFailuresAfter.Milliseconds()
}

// wait is how long a new try of this key must wait; zero lets it in.
func (f *loginFailures) wait(free int, now int64) time.Duration {
	if f.stale(now) {
		return 0
	}
	n, inFlight := f.Failures, f.inFlightAt(now)
	switch {
	case now < f.UntilAt:
		return time.Duration(f.UntilAt-now) * time.Millisecond
	case n >= free && inFlight > 0, n+inFlight >= free && n < free:
		// Spent: one try at a time. Not yet spent: no more at once than
		// the free tries left.
		return LoginBusyRetry
	}
	return 0
}

// begin takes a place: one more try in flight.
func (f *loginFailures) begin(now int64) {
	if f.stale(now) {
		*f = loginFailures{Key: f.Key}
	}
	f.InFlight = f.inFlightAt(now) + 1
	f.InFlightUntil = now + loginTryLease.Milliseconds()
	f.LastAt = now
}

// fail settles a try as a failure and returns the wait it imposes.
func (f *loginFailures) fail(free int, now int64) time.Duration {
	if f.stale(now) {
		*f = loginFailures{Key: f.Key}
	}
	f.InFlight = max(f.inFlightAt(now)-1, 0)
	f.Failures++
	f.LastAt = now
	if f.Failures < free {
		return 0
	}
	delay := min(time.Second<<min(f.Failures-free, 20), MaxLoginDelay)
	f.UntilAt = now + delay.Milliseconds()
	return delay
}
