package webhooks

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// arrivals records when each request reaches a receiver.
type arrivals struct {
	mu sync.Mutex
	at []time.Time
}

func (a *arrivals) add() {
	a.mu.Lock()
	a.at = append(a.at, time.Now())
	a.mu.Unlock()
}

func (a *arrivals) list() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.at)
}

func setLimits(t *testing.T, s *models.Store, id string, rate, inFlight int) {
	t.Helper()
	if _, err := s.UpdateWebhookEndpoint(context.Background(), models.Sandbox, id,
		models.WebhookInput{RateLimit: &rate, MaxInFlight: &inFlight}); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointRateLimit(t *testing.T) {
	// 5 a second, a second's worth at once: after the first 5, one every
	// 200 ms. Twelve attempts (three deliveries failing four times each,
	// retries 20 ms apart) take at least 7×200 ms from the first
	// admission; unlimited, they take well under 100 ms.
	s := modelstest.MustOpenStore(t)
	var seen arrivals
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		seen.add()
		w.WriteHeader(500)
	})
	ep := createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
	setLimits(t, s, ep.ID, 5, 0)
	cfg := testConfig()
	cfg.InFlight = 50
	d := startDispatcher(t, s, cfg)
	var events []string
	beforeEvents := time.Now() // no attempt can be admitted before this
	for range 3 {
		events = append(events, createUser(t, s, models.Sandbox).Event.ID)
	}

	// Meanwhile what waits for its slot is in the database: unleased, due
	// at its slot, well after the 20 ms retry its last attempt set. Looked
	// for until it is seen, not once at a fixed moment: on a loaded
	// machine the attempts may not have got that far by then.
	eventually(t, 10*time.Second, "no delivery waits for its slot in the database", func() bool {
		if got := d.Stats().Outstanding; got > 3 {
			t.Fatalf("%d claims outstanding; work over the rate must not be held", got)
		}
		for _, id := range events {
			dd := deliveryOf(t, s, models.Sandbox, id)
			dl := dd.Delivery
			if n := len(dd.Attempts); n > 0 && dl.Status == models.DeliveryPending && dl.LeaseOwner == "" && dl.NextAttemptAt != nil &&
				dl.NextAttemptAt.Sub(dd.Attempts[n-1].StartedAt) > 100*time.Millisecond {
				return true
			}
		}
		return false
	})

	for _, id := range events {
		settled(t, s, models.Sandbox, id, models.DeliveryFailed, 4)
	}
	at := seen.list()
	if len(at) != 12 {
		t.Fatalf("receiver got %d requests, want 12", len(at))
	}
	// The seven after the burst of five go one per 200 ms: the twelfth is
	// admitted 7×200 ms after the first at the earliest. Measured from
	// before the events were made, which no admission can precede, and
	// not between two arrivals: an arrival comes late on a loaded machine
	// (the first connections, on PostgreSQL round trips, a round's wait for
	// the database), and a late first one shortened the span between them
	// without any request coming early. Lateness can only lengthen this
	// one; 10 ms is for the store's millisecond clock.
	if span := at[11].Sub(beforeEvents); span < 7*200*time.Millisecond-10*time.Millisecond {
		t.Errorf("the 12 attempts, at 5/s after a burst of 5, ended %s after the events were made, want at least 1.4s", span)
	}
	// In any window, at most the burst and the rate: 5 + 1 per 200 ms.
	for i := range at {
		for j := i + 6; j < len(at); j++ {
			if min := time.Duration(j-i-5) * 200 * time.Millisecond; at[j].Sub(at[i]) < min-100*time.Millisecond {
				t.Errorf("requests %d to %d came %s apart, want at least %s", i, j, at[j].Sub(at[i]), min)
			}
		}
	}
}

func TestEndpointOwnInFlightLimit(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	var now, most atomic.Int64
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		n := now.Add(1)
		defer now.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(30 * time.Millisecond)
	})
	ep := createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
	setLimits(t, s, ep.ID, 0, 2)
	cfg := testConfig()
	cfg.InFlight, cfg.PerEndpoint = 50, 20
	d := startDispatcher(t, s, cfg)
	for range 12 {
		createUser(t, s, models.Sandbox)
	}
	eventually(t, 10*time.Second, "not every delivery succeeded", func() bool { return d.Stats().Succeeded == 12 })
	if got := most.Load(); got != 2 {
		t.Errorf("at most %d requests at once, want the endpoint's own limit of 2", got)
	}
}

func TestThrottlingSlowsOnlyThatEndpoint(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	var throttled arrivals
	busy := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		throttled.add()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	fast := newReceiver(t, nil)
	createEndpoint(t, s, models.Sandbox, busy.URL, "secret")
	createEndpoint(t, s, models.Sandbox, fast.URL, "secret")
	cfg := testConfig()
	cfg.InFlight, cfg.PerEndpoint = 50, 1 // one at a time: the 429 comes before the next is claimed
	d := startDispatcher(t, s, cfg)
	for range 5 {
		createUser(t, s, models.Sandbox)
	}
	eventually(t, 5*time.Second, "the other endpoint's deliveries were held up", func() bool { return fast.count() == 5 })
	// Its first request may still be on its way on a slow machine (CI saw
	// 0); more than one within the Retry-After is the failure.
	if got := busy.count(); got > 1 {
		t.Errorf("the endpoint that answered 429 with Retry-After: 1 got %d requests while the other got all of its", got)
	}
	eventually(t, 10*time.Second, "the throttled endpoint's deliveries did not all arrive", func() bool { return d.Stats().Succeeded == 10 })
	at := throttled.list()
	if gap := at[1].Sub(at[0]); gap < 900*time.Millisecond {
		t.Errorf("next request %s after a 429 with Retry-After: 1, want at least a second", gap)
	}
}

func TestEndpointPaceRules(t *testing.T) {
	now := time.Unix(1000, 0)
	ep := &models.WebhookEndpoint{ID: "e"}
	t.Run("the cap holds, and a failed claim's admissions are undone", func(t *testing.T) {
		e := newEndpoints(3)
		for i := range 3 {
			if !e.admit(ep, now).Take {
				t.Fatalf("admission %d refused under the cap", i+1)
			}
		}
		if e.admit(ep, now).Take {
			t.Fatal("admitted past the cap")
		}
		if ids, _ := e.heldBack(now); !slices.Equal(ids, []string{"e"}) {
			t.Fatalf("held back %v, want the full endpoint", ids)
		}
		e.unadmit()
		if got := e.m["e"].inFlight; got != 0 {
			t.Fatalf("after undoing the claim, %d in flight", got)
		}
	})
	t.Run("a 429 halves the cap and pauses the endpoint; successes win it back", func(t *testing.T) {
		e := newEndpoints(8)
		for range 8 {
			e.admit(ep, now)
		}
		e.admitted()
		e.finished("e", &result{throttled: true, wait: 2 * time.Second}, now)
		if got := e.m["e"].limit(); got != 4 {
			t.Fatalf("limit after a 429: %d, want 4", got)
		}
		if e.admit(ep, now.Add(time.Second)).Take {
			t.Fatal("admitted during the pause")
		}
		ids, until := e.heldBack(now)
		if !slices.Equal(ids, []string{"e"}) || !until.Equal(now.Add(2*time.Second)) {
			t.Fatalf("held back %v until %s, want the endpoint until the Retry-After", ids, until)
		}
		for range 7 {
			e.finished("e", &result{res: models.AttemptResult{Succeeded: true}}, now)
		}
		if got := e.m["e"].limit(); got != 8 {
			t.Fatalf("limit after successes: %d, want 8 again", got)
		}
	})
	t.Run("the rate defers what is over it to the next free slot", func(t *testing.T) {
		e := newEndpoints(100)
		limited := &models.WebhookEndpoint{ID: "r", RateLimit: 10}
		taken := 0
		var deferred time.Time
		for range 20 {
			a := e.admit(limited, now)
			if a.Take {
				taken++
			} else if deferred.IsZero() {
				deferred = a.Defer
			}
		}
		if taken != 10 {
			t.Fatalf("took %d at once at 10/s, want a second's worth, 10", taken)
		}
		if want := now.Add(100 * time.Millisecond); !deferred.Equal(want) {
			t.Fatalf("deferred to %s, want %s", deferred, want)
		}
		if a := e.admit(limited, now.Add(100*time.Millisecond)); !a.Take {
			t.Fatal("refused at the next free slot")
		}
	})
}

func TestRecordingFailuresLoseNothingAndSendNothingTwice(t *testing.T) {
	// The database refuses every write (query_only on the single writer
	// connection: what a full disk or a broken volume looks like to the
	// dispatcher) from the moment an attempt is in flight until past its
	// lease. The attempt's result must be kept and recorded once writes
	// work again, and the delivery never sent a second time meanwhile.
	modelstest.SkipOnPostgres(t, "it refuses writes with SQLite's query_only")
	s := modelstest.MustOpenStore(t)
	gate := make(chan struct{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			<-gate
		}
	})
	createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
	cfg := testConfig()
	cfg.Timeout, cfg.Lease = 500*time.Millisecond, 5500*time.Millisecond
	d := startDispatcher(t, s, cfg)
	u := createUser(t, s, models.Sandbox)
	eventually(t, 2*time.Second, "the delivery was not sent", func() bool { return rc.count() == 1 })

	if err := s.W.Exec("PRAGMA query_only = ON").Error; err != nil {
		t.Fatal(err)
	}
	close(gate)
	eventually(t, 2*time.Second, "recording did not fail", func() bool { return d.Stats().RecordErrors > 0 })
	time.Sleep(cfg.Lease + 500*time.Millisecond) // past the lease: a careless dispatcher claims it again
	if got := rc.count(); got != 1 {
		t.Fatalf("receiver got %d requests while the first attempt was not recorded, want 1", got)
	}
	if err := s.W.Exec("PRAGMA query_only = OFF").Error; err != nil {
		t.Fatal(err)
	}
	dl := settled(t, s, models.Sandbox, u.Event.ID, models.DeliverySucceeded, 1)
	if dl.Attempts[0].ResponseStatus != 200 {
		t.Fatalf("recorded attempt: %+v", dl.Attempts[0])
	}
	if got := rc.count(); got != 1 {
		t.Fatalf("receiver got %d requests, want 1", got)
	}
}
