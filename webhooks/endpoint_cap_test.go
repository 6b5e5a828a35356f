package webhooks

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestPerEndpointCap(t *testing.T) {
	t.Run("a receiver that hangs holds only its cap, and another endpoint's deliveries still complete", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		unblock := make(chan struct{})
		var unblockOnce sync.Once
		release := func() { unblockOnce.Do(func() { close(unblock) }) }
		var inFlight, most atomic.Int64
		slow := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			select {
			case <-unblock:
			case <-r.Context().Done():
			}
		})
		t.Cleanup(release) // runs before the receiver closes, which waits for its handlers
		fast := newReceiver(t, nil)

		// The slow endpoint's deliveries are due first, so without a cap
		// the first claim would hand every worker one of them.
		createEndpoint(t, s, models.Sandbox, slow.URL, "secret")
		for range 6 {
			createUser(t, s, models.Sandbox)
		}
		createEndpoint(t, s, models.Sandbox, fast.URL, "secret")
		const users = 10
		for range users {
			createUser(t, s, models.Sandbox)
		}

		cfg := testConfig()
		cfg.InFlight, cfg.PerEndpoint = 4, 2
		cfg.Timeout, cfg.Lease = 20*time.Second, 45*time.Second
		d := startDispatcher(t, s, cfg)

		// Well within the attempt timeout: the fast endpoint is not
		// waiting for the slow one's attempts to time out. (2 s against a
		// 5 s timeout was too little for a loaded PostgreSQL run; what
		// tells the two apart is the timeout, so it is long.)
		eventually(t, 10*time.Second, "fast endpoint's deliveries did not all arrive while the slow one hung", func() bool {
			return fast.count() == users && d.Stats().Succeeded == users
		})
		// The slow endpoint's two attempts were claimed before the fast
		// ones, but on a loaded machine a request can still be on its way
		// to the receiver: wait for both to arrive, then check that no
		// third one follows while they hang.
		eventually(t, 2*time.Second, "the slow receiver never held its cap of 2 requests", func() bool {
			return inFlight.Load() == 2
		})
		time.Sleep(200 * time.Millisecond)
		if got, want := most.Load(), int64(2); got != want {
			t.Fatalf("most requests in flight at the slow receiver while it hung: got %d, want %d (its cap)", got, want)
		}
		if got, want := slow.count(), 2; got != want {
			t.Fatalf("slow receiver's requests so far: got %d, want %d", got, want)
		}

		// Once it answers, the rest of its deliveries are claimed as slots
		// free, none dropped, never more than the cap at once.
		release()
		eventually(t, 10*time.Second, "slow endpoint's deliveries did not all arrive once it answered", func() bool {
			st := d.Stats()
			return st.Succeeded == 6+2*users && st.Outstanding == 0
		})
		if got, want := slow.count(), 6+users; got != want {
			t.Fatalf("slow receiver's requests: got %d, want %d", got, want)
		}
		if got, want := most.Load(), int64(2); got != want {
			t.Fatalf("most requests in flight at the slow receiver: got %d, want %d", got, want)
		}
		if got, want := d.Stats().Failed, int64(0); got != want {
			t.Fatalf("failed attempts: got %d, want %d", got, want)
		}
	})
}
