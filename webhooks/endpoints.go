package webhooks

import (
	"slices"
	"time"

	"tokendesk/models"
)

// endpoints keeps, per endpoint with work in flight or a pace in force,
// what the dispatcher may still send it: a cap on attempts in flight (the
// endpoint's own MaxInFlight or the default), lowered while the receiver
// answers 429 or 503, a pause after such an answer (its Retry-After), and
// a rate limit in requests a second. The pump applies them when claiming:
// a delivery over a limit is given back to the database in the same
// transaction (due as it was, or, over the rate, moved to the endpoint's
// next free slot), and an endpoint held back is left out of the next
// claims, so no delivery waits in memory for its turn and the limits hold
// across retries and resends, which are claimed like any other attempt.
// Only the pump goroutine touches it.
type endpoints struct {
	perEndpoint int
	m           map[string]*endpointPace
	// journal undoes the admissions of a claim whose transaction failed.
	journal []admitted
}

type endpointPace struct {
	inFlight    int
	cap         int // the endpoint's own cap or the default, as last read
	backoff     int // the cap while backing off after 429/503; 0 when none
	pausedUntil time.Time
	rate        int       // requests a second; 0 for none
	tat         time.Time // the rate's next theoretical send time (GCRA)
}

type admitted struct {
	id  string
	tat time.Time
}

// Pauses after a 429 or 503 that gave no usable Retry-After, and the
// longest one honoured for the endpoint as a whole.
const (
	throttlePause    = time.Second
	maxThrottlePause = 10 * time.Minute
)

func newEndpoints(perEndpoint int) *endpoints {
	return &endpoints{perEndpoint: perEndpoint, m: map[string]*endpointPace{}}
}

func (p *endpointPace) limit() int {
	if p.backoff > 0 {
		return min(p.backoff, p.cap)
	}
	return p.cap
}

// interval and burst of the rate: one request every interval, up to a
// second's worth at once.
func (p *endpointPace) interval() (every, burst time.Duration) {
	every = time.Second / time.Duration(p.rate)
	return every, time.Second - every
}

// admit decides for a delivery of ep claimed at now.
func (e *endpoints) admit(ep *models.WebhookEndpoint, now time.Time) models.Admission {
	p := e.m[ep.ID]
	if p == nil {
		p = &endpointPace{}
		e.m[ep.ID] = p
	}
	p.cap, p.rate = e.perEndpoint, ep.RateLimit
	if ep.MaxInFlight > 0 {
		p.cap = ep.MaxInFlight
	}
	if now.Before(p.pausedUntil) || p.inFlight >= p.limit() {
		return models.Admission{} // stays due; the endpoint is left out until it has room
	}
	e.journal = append(e.journal, admitted{ep.ID, p.tat})
	if p.rate > 0 {
		every, burst := p.interval()
		tat := p.tat
		if tat.Before(now) {
			tat = now
		}
		if tat.Sub(now) > burst {
			e.journal = e.journal[:len(e.journal)-1]
			return models.Admission{Defer: tat.Add(-burst)}
		}
		p.tat = tat.Add(every)
	}
	p.inFlight++
	return models.Admission{Take: true}
}

// admitted forgets the journal: the claim was committed.
func (e *endpoints) admitted() { e.journal = e.journal[:0] }

// unadmit undoes the claim's admissions: its transaction was rolled back.
func (e *endpoints) unadmit() {
	for i := len(e.journal) - 1; i >= 0; i-- {
		a := e.journal[i]
		if p := e.m[a.id]; p != nil {
			p.inFlight--
			p.tat = a.tat
		}
	}
	e.journal = e.journal[:0]
}

// finished frees the slot of an attempt to endpoint id and applies what
// its answer says about the endpoint's pace.
func (e *endpoints) finished(id string, r *result, now time.Time) {
	p := e.m[id]
	if p == nil {
		return
	}
	p.inFlight--
	switch {
	case r.release:
	case r.throttled:
		// The receiver asks to slow down: half the concurrency, and a
		// pause for the endpoint as a whole, never for the others.
		p.backoff = max(1, p.limit()/2)
		wait := r.wait
		if wait <= 0 {
			wait = throttlePause
		}
		if until := now.Add(min(wait, maxThrottlePause)); until.After(p.pausedUntil) {
			p.pausedUntil = until
		}
	case r.res.Succeeded && p.backoff > 0:
		if p.backoff++; p.backoff >= p.cap {
			p.backoff = 0
		}
	}
}

// heldBack lists, sorted, the endpoints none of whose deliveries may be
// claimed now, and returns the earliest time one of them is freed by the
// clock (a pause or a rate slot; a freed slot comes with a result). It
// forgets endpoints with nothing in force.
func (e *endpoints) heldBack(now time.Time) (ids []string, until time.Time) {
	soonest := func(t time.Time) {
		if until.IsZero() || t.Before(until) {
			until = t
		}
	}
	for id, p := range e.m {
		paused := now.Before(p.pausedUntil)
		var rateFree time.Time
		if p.rate > 0 {
			_, burst := p.interval()
			if free := p.tat.Add(-burst); free.After(now) {
				rateFree = free
			}
		}
		switch {
		case paused:
			soonest(p.pausedUntil)
		case !rateFree.IsZero():
			soonest(rateFree)
		case p.inFlight >= p.limit() && p.cap > 0:
		default:
			if p.inFlight == 0 && p.backoff == 0 && !p.tat.After(now) {
				delete(e.m, id)
			}
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, until
}
