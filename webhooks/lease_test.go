package webhooks

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// openShared opens n stores on one database file, as n processes would.
func openShared(t *testing.T, n int) []*models.Store {
	t.Helper()
	opts := modelstest.Options(t) // one database, two stores
	var stores []*models.Store
	for range n {
		s, err := models.Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	return stores
}

func TestTwoDispatchersShareOneDatabase(t *testing.T) {
	stores := openShared(t, 2)

	var mu sync.Mutex
	inFlight := map[string]bool{}
	arrivals := map[string]int{}
	var overlaps []string
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		mu.Lock()
		if inFlight[id] {
			overlaps = append(overlaps, id)
		}
		inFlight[id] = true
		arrivals[id]++
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // widen the window in which a double send would overlap
		mu.Lock()
		delete(inFlight, id)
		mu.Unlock()
	})
	createEndpoint(t, stores[0], models.Sandbox, rc.URL, "secret")

	var ds []*Dispatcher
	for i, owner := range []string{"process-a", "process-b"} {
		cfg := testConfig()
		cfg.Owner, cfg.InFlight, cfg.PollInterval = owner, 8, 5*time.Millisecond
		ds = append(ds, startDispatcher(t, stores[i], cfg))
	}

	const n = 300
	ids := make([]string, 0, n)
	for i := range n {
		ids = append(ids, createUser(t, stores[i%2], models.Sandbox).Event.ID)
	}
	eventually(t, 10*time.Second, "not every delivery arrived", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(arrivals) == n
	})
	eventually(t, 5*time.Second, "not every attempt was recorded", func() bool {
		return ds[0].Stats().Succeeded+ds[1].Stats().Succeeded == n
	})

	mu.Lock()
	defer mu.Unlock()
	if len(overlaps) > 0 {
		t.Fatalf("%d deliveries were sent by both processes at once, e.g. %s", len(overlaps), overlaps[0])
	}
	for _, id := range ids {
		if arrivals[id] != 1 {
			t.Fatalf("event %s arrived %d times, want once (no lease expired)", id, arrivals[id])
		}
	}
	t.Logf("process-a sent %d, process-b sent %d", ds[0].Stats().Succeeded, ds[1].Stats().Succeeded)
}

func TestExpiredLeaseIsTakenOver(t *testing.T) {
	ctx := context.Background()
	stores := openShared(t, 2)
	rc := newReceiver(t, status(200))
	createEndpoint(t, stores[0], models.Sandbox, rc.URL, "secret")
	u := createUser(t, stores[0], models.Sandbox)

	// A process claims the delivery and dies before sending it. The lease
	// starts inside ClaimDue, so the time taken just before it is the
	// earliest the lease can have started (taken after it, a slow commit
	// made a send at the lease's end look early); the store keeps times in
	// whole milliseconds, hence one of slack.
	claimedAt := time.Now().Add(-time.Millisecond)
	claims, err := stores[0].ClaimDue(ctx, "dead-process", 10, 150*time.Millisecond)
	if err != nil || len(claims) != 1 {
		t.Fatalf("claim: got %d, %v", len(claims), err)
	}

	cfg := testConfig()
	cfg.Owner = "survivor"
	d := startDispatcher(t, stores[1], cfg)
	d.Wake()

	t.Run("nobody sends it while the lease holds", func(t *testing.T) {
		// Judged by when requests arrived, not by a count read at some
		// moment: on a slow machine starting the dispatcher can take the
		// whole lease, and a send after it is what should happen.
		time.Sleep(time.Until(claimedAt.Add(120 * time.Millisecond)))
		for _, r := range rc.requests() {
			if since := r.At.Sub(claimedAt); since < 150*time.Millisecond {
				t.Fatalf("sent %s after the claim, during another process's lease", since)
			}
		}
	})

	t.Run("another process sends it once the lease runs out", func(t *testing.T) {
		dd := settled(t, stores[1], models.Sandbox, u.Event.ID, models.DeliverySucceeded, 1)
		if since := rc.requests()[0].At.Sub(claimedAt); since < 150*time.Millisecond {
			t.Fatalf("sent %s after the claim, inside the lease", since)
		}
		if dd.Attempts[0].Number != 1 {
			t.Fatalf("attempt number %d", dd.Attempts[0].Number)
		}
	})

	t.Run("the late holder's report is logged but changes nothing", func(t *testing.T) {
		late := models.AttemptResult{Attempt: models.Attempt{
			DeliveryID: claims[0].Delivery.ID, Mode: models.Sandbox, Number: 1, URL: rc.URL,
			ResponseStatus: 500, StartedAt: stores[0].Now(),
		}}
		if err := stores[0].RecordAttempt(ctx, "dead-process", late); err != nil {
			t.Fatal(err)
		}
		dd := deliveryOf(t, stores[0], models.Sandbox, u.Event.ID)
		if dd.Delivery.Status != models.DeliverySucceeded || len(dd.Attempts) != 2 {
			t.Fatalf("got status %s with %d attempts", dd.Delivery.Status, len(dd.Attempts))
		}
	})
}

func TestShutdown(t *testing.T) {
	ctx := context.Background()

	t.Run("an attempt that outlives the deadline is cut off and its lease released", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		block := make(chan struct{})
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		})
		defer close(block)
		createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
		cfg := testConfig()
		cfg.InFlight = 2
		d, err := New(s, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.OnDeliveriesQueued = d.Wake
		d.Start(ctx)
		for range 5 {
			createUser(t, s, models.Sandbox)
		}
		eventually(t, 2*time.Second, "the receiver never got two requests", func() bool { return rc.count() == 2 })

		sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if err := d.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want the deadline error", err)
		}
		page, err := s.ListDeliveries(ctx, models.Sandbox, models.DeliveryFilter{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, dl := range page.Items {
			if dl.Status != models.DeliveryPending || dl.LeaseOwner != "" || dl.AttemptCount != 0 || dl.NextAttemptAt.After(s.Now()) {
				t.Fatalf("after shutdown: %+v", dl)
			}
		}
		if st := d.Stats(); st.Released != st.Claimed || st.Succeeded+st.Failed != 0 || st.Outstanding != 0 {
			t.Fatalf("stats: %+v", st)
		}

		t.Run("and the next process sends everything at once", func(t *testing.T) {
			rc.setRespond(status(200))
			next := startDispatcher(t, s, testConfig())
			eventually(t, 2*time.Second, "not everything was sent", func() bool { return next.Stats().Succeeded == 5 })
		})
	})

	t.Run("deliveries over a hanging endpoint's cap stay unclaimed, and the one in flight is released", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		block := make(chan struct{})
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		})
		defer close(block)
		createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
		for range 5 {
			createUser(t, s, models.Sandbox)
		}
		cfg := testConfig()
		cfg.InFlight, cfg.PerEndpoint = 4, 1
		d, err := New(s, cfg)
		if err != nil {
			t.Fatal(err)
		}
		d.Start(ctx)
		eventually(t, 2*time.Second, "the first delivery was not sent", func() bool { return rc.count() == 1 })
		time.Sleep(100 * time.Millisecond) // room for a wrongly sent second request to arrive
		if got, want := rc.count(), 1; got != want {
			t.Fatalf("requests at the receiver: got %d, want %d (its cap)", got, want)
		}
		if got := d.Stats().Claimed; got != 1 {
			t.Fatalf("claimed %d deliveries; those over the cap must stay in the database", got)
		}

		sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if err := d.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want the deadline error", err)
		}
		page, err := s.ListDeliveries(ctx, models.Sandbox, models.DeliveryFilter{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(page.Items), 5; got != want {
			t.Fatalf("deliveries: got %d, want %d", got, want)
		}
		for _, dl := range page.Items {
			if dl.Status != models.DeliveryPending || dl.LeaseOwner != "" || dl.AttemptCount != 0 {
				t.Fatalf("after shutdown: %+v", dl)
			}
		}
		if st := d.Stats(); st.Released != 1 || st.Outstanding != 0 {
			t.Fatalf("stats: %+v", st)
		}
	})

	t.Run("an attempt that ends before the deadline is recorded", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		started := make(chan struct{}, 1)
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			started <- struct{}{}
			time.Sleep(100 * time.Millisecond)
		})
		createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
		d, err := New(s, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		s.OnDeliveriesQueued = d.Wake
		d.Start(ctx)
		u := createUser(t, s, models.Sandbox)
		<-started
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := d.Shutdown(sctx); err != nil {
			t.Fatal(err)
		}
		dd := deliveryOf(t, s, models.Sandbox, u.Event.ID)
		if dd.Delivery.Status != models.DeliverySucceeded || len(dd.Attempts) != 1 {
			t.Fatalf("got %s with %d attempts", dd.Delivery.Status, len(dd.Attempts))
		}
	})
}

func TestPrune(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	clk := newClock(time.Now().Add(-40 * 24 * time.Hour))
	s.Now = clk.Now
	rc := newReceiver(t, status(200))
	createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
	cfg := testConfig()
	cfg.Retention = -1 // pruned by hand below
	startDispatcher(t, s, cfg)

	old := createUser(t, s, models.Sandbox)
	settled(t, s, models.Sandbox, old.Event.ID, models.DeliverySucceeded, 1)
	clk.Advance(39 * 24 * time.Hour)
	recent := createUser(t, s, models.Sandbox)
	settled(t, s, models.Sandbox, recent.Event.ID, models.DeliverySucceeded, 1)
	clk.Advance(24 * time.Hour)

	pruner, err := New(s, testConfig()) // default retention, never started
	if err != nil {
		t.Fatal(err)
	}
	defer pruner.Shutdown(context.Background())
	pruner.Prune()
	if got := len(deliveryOf(t, s, models.Sandbox, old.Event.ID).Attempts); got != 0 {
		t.Fatalf("an attempt of 40 days ago survived pruning (%d left)", got)
	}
	if got := len(deliveryOf(t, s, models.Sandbox, recent.Event.ID).Attempts); got != 1 {
		t.Fatalf("an attempt of a day ago was pruned (%d left)", got)
	}
	if dd := deliveryOf(t, s, models.Sandbox, old.Event.ID); dd.Delivery.Status != models.DeliverySucceeded {
		t.Fatalf("pruning changed the delivery: %+v", dd.Delivery)
	}
}

func TestClaimsNeverWaitBehindAnEndpointsCap(t *testing.T) {
	// One attempt at a time to a receiver that takes 400ms, and a lease
	// that leaves an attempt 3s (6s lease, 1s timeout, 2s margin). Had the
	// dispatcher claimed the twelve deliveries at once, the later ones
	// would wait past that; it claims one at a time instead, each sent as
	// soon as it is claimed, each once.
	s := modelstest.MustOpenStore(t)
	var mu sync.Mutex
	inFlight, most := 0, 0
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(400 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
	})
	createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
	const n = 12
	for range n {
		createUser(t, s, models.Sandbox)
	}
	cfg := testConfig()
	cfg.InFlight, cfg.PerEndpoint, cfg.Timeout, cfg.Lease = 4, 1, time.Second, 6*time.Second
	d := startDispatcher(t, s, cfg)
	d.Wake()

	eventually(t, 20*time.Second, "not every delivery succeeded", func() bool { return d.Stats().Succeeded == n })
	t.Run("each delivery was claimed once, when it could be sent", func(t *testing.T) {
		if st := d.Stats(); st.Released != 0 || st.Claimed != n {
			t.Fatalf("stats %+v: want %d claims and no releases", st, n)
		}
	})
	t.Run("each delivery reached the receiver once, one at a time", func(t *testing.T) {
		if got := rc.count(); got != n {
			t.Fatalf("receiver got %d requests, want %d", got, n)
		}
		mu.Lock()
		defer mu.Unlock()
		if most != 1 {
			t.Fatalf("%d requests at once, want the cap of 1", most)
		}
	})
	t.Run("each delivery has one attempt, numbered 1", func(t *testing.T) {
		page, err := s.ListDeliveries(context.Background(), models.Sandbox, models.DeliveryFilter{Size: n})
		if err != nil {
			t.Fatal(err)
		}
		for _, dl := range page.Items {
			if dl.Status != models.DeliverySucceeded || dl.AttemptCount != 1 {
				t.Fatalf("delivery %s: status %s after %d attempts", dl.ID, dl.Status, dl.AttemptCount)
			}
		}
	})
}
