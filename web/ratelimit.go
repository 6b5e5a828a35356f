package web

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

// rateLimiter is a token bucket per client IP: a steady rate with a burst
// of one second's worth.
type rateLimiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond float64, now func() time.Time) *rateLimiter {
	return &rateLimiter{rate: perSecond, burst: math.Max(1, perSecond), now: now, buckets: map[string]*bucket{}}
}

// allow takes one token for ip, or says how long until one is free.
func (l *rateLimiter) allow(ip string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.swept) > time.Minute {
		// Forget idle clients so the map cannot grow without bound.
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[ip]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

func (l *rateLimiter) handler(c *fiber.Ctx) error {
	// Cloned: behind a trusted proxy c.IP() points into the request's
	// header buffer, which is reused, and the bucket map keeps its key.
	allowed, wait := l.allow(strings.Clone(c.IP()))
	if !allowed {
		secs := int(math.Ceil(wait.Seconds()))
		if secs < 1 {
			secs = 1
		}
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		return models.Errorf(models.CodeRequestLimitExceeded, "more than %g requests per second from this address; retry after %d s", l.rate, secs)
	}
	return c.Next()
}
