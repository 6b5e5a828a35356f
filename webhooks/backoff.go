package webhooks

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultSchedule is the wait after each failed automatic attempt: eleven
// tries over about three days, the way the best webhook senders retry.
var DefaultSchedule = []time.Duration{
	5 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// DefaultJitter spreads retries by ±10% so a receiver that comes back is not
// hit by every delivery in the same second.
const DefaultJitter = 0.1

// Bounds on a receiver's Retry-After: a receiver may slow us down, not stop
// us for days nor make us spin.
const (
	MinRetryAfter = time.Second
	MaxRetryAfter = 24 * time.Hour
)

// Backoff computes when a failed delivery is tried again.
type Backoff struct {
	Schedule []time.Duration
	Jitter   float64        // fraction, 0.1 = ±10%
	Float    func() float64 // [0,1) source for jitter; math/rand when nil
}

// Next returns the wait before the next automatic attempt of a delivery that
// has made done automatic attempts, and false when the schedule is used up.
// A manual attempt on a pending delivery passes the automatic count so far:
// it neither advances nor shortens the schedule.
func (b Backoff) Next(done int) (time.Duration, bool) {
	i := done - 1
	if i < 0 {
		i = 0
	}
	if i >= len(b.Schedule) {
		return 0, false
	}
	d := b.Schedule[i]
	if b.Jitter > 0 {
		f := b.Float
		if f == nil {
			f = rand.Float64
		}
		d = time.Duration(float64(d) * (1 + b.Jitter*(2*f()-1)))
	}
	return d, true
}

// RetryAfter reads a Retry-After header on a 429 or 503 answer, as seconds
// or an HTTP date relative to now, clamped to [MinRetryAfter, MaxRetryAfter].
// ok is false for other statuses and for values that say nothing usable.
func RetryAfter(status int, h http.Header, now time.Time) (d time.Duration, ok bool) {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return 0, false
	}
	return ParseRetryAfter(h.Get("Retry-After"), now)
}

// ParseRetryAfter reads a Retry-After value (delay-seconds or HTTP-date),
// clamped to [MinRetryAfter, MaxRetryAfter].
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 64 {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || n > uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true
		}
		d = time.Duration(n) * time.Second
	} else {
		t, err := http.ParseTime(v)
		if err != nil {
			return 0, false
		}
		d = t.Sub(now)
	}
	return min(max(d, MinRetryAfter), MaxRetryAfter), true
}
