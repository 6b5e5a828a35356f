package webhooks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestRetries(t *testing.T) {
	t.Run("a failing receiver is retried until it answers 2xx, with the same webhook-id", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n < 3 {
				w.WriteHeader(500)
				w.Write([]byte("not yet"))
				return
			}
			w.WriteHeader(204)
		})
		createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
		startDispatcher(t, s, testConfig())
		u := createUser(t, s, models.Sandbox)

		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliverySucceeded, 3)
		for i, a := range d.Attempts {
			if a.Number != i+1 || a.Trigger != models.TriggerAutomatic {
				t.Fatalf("attempt %d: got number %d trigger %s", i, a.Number, a.Trigger)
			}
		}
		if got := []int{d.Attempts[0].ResponseStatus, d.Attempts[1].ResponseStatus, d.Attempts[2].ResponseStatus}; got[0] != 500 || got[1] != 500 || got[2] != 204 {
			t.Fatalf("statuses: got %v", got)
		}
		if got, want := d.Attempts[0].ResponseBody, "not yet"; got != want {
			t.Fatalf("response body: got %q, want %q", got, want)
		}
		for _, r := range rc.requests() {
			if got := r.Header.Get("webhook-id"); got != u.Event.ID {
				t.Fatalf("webhook-id changed between retries: got %s, want %s", got, u.Event.ID)
			}
		}
		if d.Delivery.AttemptCount != 3 || d.Delivery.LastError != "" || d.Delivery.CompletedAt == nil {
			t.Fatalf("delivery: %+v", d.Delivery)
		}
	})

	t.Run("a delivery is marked failed after the last try, never dropped", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		rc := newReceiver(t, status(500))
		createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
		cfg := testConfig()
		cfg.Schedule = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
		startDispatcher(t, s, cfg)
		u := createUser(t, s, models.Sandbox)

		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryFailed, 3)
		if !strings.Contains(d.Delivery.LastError, "gave up after attempt 3") || d.Delivery.LastStatusCode != 500 {
			t.Fatalf("delivery: %+v", d.Delivery)
		}
		time.Sleep(50 * time.Millisecond)
		if got := rc.count(); got != 3 {
			t.Fatalf("receiver got %d requests, want 3", got)
		}
	})

	t.Run("the attempt names the kind of a connection failure", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		createEndpoint(t, s, models.Sandbox, "http://"+addr+"/", "secret")
		cfg := testConfig()
		cfg.Schedule = []time.Duration{}
		startDispatcher(t, s, cfg)
		u := createUser(t, s, models.Sandbox)
		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryFailed, 1)
		if got := d.Attempts[0].Error; !strings.HasPrefix(got, "connect: ") {
			t.Fatalf("got %q, want a connect error", got)
		}
	})

	t.Run("a receiver slower than the timeout is a timeout", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		release := make(chan struct{})
		defer close(release)
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
		cfg := testConfig()
		cfg.Schedule, cfg.Timeout, cfg.Lease = []time.Duration{}, 100*time.Millisecond, 10*time.Second
		startDispatcher(t, s, cfg)
		u := createUser(t, s, models.Sandbox)
		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryFailed, 1)
		if got := d.Attempts[0].Error; !strings.HasPrefix(got, "timeout: ") {
			t.Fatalf("got %q, want a timeout", got)
		}
	})

	t.Run("an unknown host is a DNS error", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		createEndpoint(t, s, models.Sandbox, "http://no-such-host.invalid/", "secret")
		cfg := testConfig()
		cfg.Schedule = []time.Duration{}
		startDispatcher(t, s, cfg)
		u := createUser(t, s, models.Sandbox)
		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryFailed, 1)
		if got := d.Attempts[0].Error; !strings.HasPrefix(got, "DNS: ") {
			t.Fatalf("got %q, want a DNS error", got)
		}
	})

	t.Run("an untrusted certificate is a TLS error", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
		defer srv.Close()
		createEndpoint(t, s, models.Sandbox, srv.URL, "secret")
		cfg := testConfig()
		cfg.Schedule = []time.Duration{}
		startDispatcher(t, s, cfg)
		u := createUser(t, s, models.Sandbox)
		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryFailed, 1)
		if got := d.Attempts[0].Error; !strings.HasPrefix(got, "TLS: ") {
			t.Fatalf("got %q, want a TLS error", got)
		}
	})

	t.Run("a redirect is not followed", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		target := newReceiver(t, status(200))
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
		})
		createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
		cfg := testConfig()
		cfg.Schedule = []time.Duration{}
		startDispatcher(t, s, cfg)
		u := createUser(t, s, models.Sandbox)
		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryFailed, 1)
		if d.Attempts[0].ResponseStatus != 307 || d.Attempts[0].ResponseHeaders["Location"] != target.URL || target.count() != 0 {
			t.Fatalf("got %+v; redirect target got %d requests", d.Attempts[0], target.count())
		}
	})
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		header   string
		wantWait time.Duration
	}{
		{"a 503 with Retry-After in seconds waits that long", 503, "7", 7 * time.Second},
		{"a 429 with a Retry-After of days waits at most a day", 429, "999999", 24 * time.Hour},
		{"a 429 with Retry-After 0 waits at least a second", 429, "0", time.Second},
		{"a 500 with Retry-After follows the schedule", 500, "7", time.Minute},
		{"a 503 with a garbled Retry-After follows the schedule", 503, "soon", time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := modelstest.MustOpenStore(t)
			clk := newClock(time.Now())
			s.Now = clk.Now
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", tt.header)
				w.WriteHeader(tt.status)
			})
			createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
			cfg := testConfig()
			cfg.Schedule = []time.Duration{time.Minute, time.Minute}
			startDispatcher(t, s, cfg)
			u := createUser(t, s, models.Sandbox)
			d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryPending, 1)
			if got, want := d.Delivery.NextAttemptAt.Sub(clk.Now()), tt.wantWait; got != want {
				t.Fatalf("next attempt in %s, want %s", got, want)
			}
		})
	}
}

func TestEndpointHealth(t *testing.T) {
	ctx := context.Background()

	t.Run("a 410 Gone disables the endpoint and fails what waits for it", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		gone := newReceiver(t, status(410))
		ep := createEndpoint(t, s, models.Sandbox, gone.URL, "secret")
		startDispatcher(t, s, testConfig())
		u := createUser(t, s, models.Sandbox)

		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryFailed, 1)
		if !strings.Contains(d.Delivery.LastError, "410 Gone") {
			t.Fatalf("delivery: %+v", d.Delivery)
		}
		back, err := s.GetWebhookEndpoint(ctx, models.Sandbox, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if back.DisabledAt == nil || !strings.Contains(back.DisabledReason, "410 Gone") {
			t.Fatalf("endpoint: disabled at %v because %q", back.DisabledAt, back.DisabledReason)
		}
		if u := createUser(t, s, models.Sandbox); u.QueuedDeliveries != 0 {
			t.Fatalf("a disabled endpoint got %d new deliveries", u.QueuedDeliveries)
		}

		t.Run("and recovering it re-enables it and re-sends the failed deliveries", func(t *testing.T) {
			gone.setRespond(nil)
			if _, err := s.RecoverFailed(ctx, models.Sandbox, ep.ID, time.Time{}, "ops@example.com"); models.ErrorCode(err) != models.CodeConflict {
				t.Fatalf("recovering deliveries of a disabled endpoint: got %v, want CONFLICT", err)
			}
			if _, err := s.RecoverEndpoint(ctx, models.Sandbox, ep.ID); err != nil {
				t.Fatal(err)
			}
			n, err := s.CountRecoverable(ctx, models.Sandbox, ep.ID, time.Time{})
			if err != nil || n != 1 {
				t.Fatalf("count: got %d, %v; want 1", n, err)
			}
			if n, err := s.RecoverFailed(ctx, models.Sandbox, ep.ID, time.Time{}, "ops@example.com"); err != nil || n != 1 {
				t.Fatalf("recover: got %d, %v; want 1", n, err)
			}
			d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliverySucceeded, 2)
			if a := d.Attempts[1]; a.Trigger != models.TriggerManual || a.TriggeredBy != "ops@example.com" || a.Number != 2 {
				t.Fatalf("recovery attempt: %+v", a)
			}
		})
	})

	t.Run("an endpoint failing everything for five days is disabled with the reason and time", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		clk := newClock(time.Now())
		s.Now = clk.Now
		rc := newReceiver(t, status(500))
		ep := createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
		cfg := testConfig()
		cfg.Schedule = []time.Duration{time.Hour, time.Hour, time.Hour}
		d := startDispatcher(t, s, cfg)
		u := createUser(t, s, models.Sandbox)
		settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryPending, 1)

		back, _ := s.GetWebhookEndpoint(ctx, models.Sandbox, ep.ID)
		if back.FailingSince == nil || back.DisabledAt != nil {
			t.Fatalf("after one failure: failing since %v, disabled at %v", back.FailingSince, back.DisabledAt)
		}
		clk.Advance(4 * 24 * time.Hour)
		d.Wake()
		settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryPending, 2)
		if back, _ := s.GetWebhookEndpoint(ctx, models.Sandbox, ep.ID); back.DisabledAt != nil {
			t.Fatal("disabled after four days")
		}

		clk.Advance(24 * time.Hour)
		d.Wake()
		dd := settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryFailed, 3)
		back, _ = s.GetWebhookEndpoint(ctx, models.Sandbox, ep.ID)
		if back.DisabledAt == nil || !back.DisabledAt.Equal(clk.Now()) || !strings.Contains(back.DisabledReason, "every attempt failed") {
			t.Fatalf("endpoint: disabled at %v because %q", back.DisabledAt, back.DisabledReason)
		}
		if !strings.Contains(dd.Delivery.LastError, "endpoint disabled") {
			t.Fatalf("delivery: %q", dd.Delivery.LastError)
		}
	})

	t.Run("one success clears the failing streak", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				w.WriteHeader(500)
			}
		})
		ep := createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
		startDispatcher(t, s, testConfig())
		u := createUser(t, s, models.Sandbox)
		settled(t, s, models.Sandbox, u.Event.ID, models.DeliverySucceeded, 2)
		if back, _ := s.GetWebhookEndpoint(ctx, models.Sandbox, ep.ID); back.FailingSince != nil {
			t.Fatalf("failing since %v after a success", back.FailingSince)
		}
	})
}

func TestResend(t *testing.T) {
	ctx := context.Background()

	t.Run("a succeeded delivery is sent again as a manual attempt with the same event id", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		rc := newReceiver(t, status(200))
		createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
		startDispatcher(t, s, testConfig())
		u := createUser(t, s, models.Sandbox)
		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliverySucceeded, 1)

		if _, err := s.ResendDelivery(ctx, models.Sandbox, d.Delivery.ID, "support@example.com"); err != nil {
			t.Fatal(err)
		}
		d = settled(t, s, models.Sandbox, u.Event.ID, models.DeliverySucceeded, 2)
		if a := d.Attempts[1]; a.Trigger != models.TriggerManual || a.TriggeredBy != "support@example.com" || a.Number != 2 {
			t.Fatalf("resend attempt: %+v", a)
		}
		reqs := rc.requests()
		if len(reqs) != 2 || reqs[1].Header.Get("webhook-id") != u.Event.ID || string(reqs[1].Body) != u.Event.Payload {
			t.Fatalf("resent request differs: %d requests", len(reqs))
		}
	})

	t.Run("a failed delivery that fails again on resend stays failed", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		rc := newReceiver(t, status(500))
		createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
		cfg := testConfig()
		cfg.Schedule = []time.Duration{}
		startDispatcher(t, s, cfg)
		u := createUser(t, s, models.Sandbox)
		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryFailed, 1)

		if _, err := s.ResendDelivery(ctx, models.Sandbox, d.Delivery.ID, "support@example.com"); err != nil {
			t.Fatal(err)
		}
		d = settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryFailed, 2)
		if d.Delivery.ManualPending || d.Delivery.ReturnStatus != "" || d.Delivery.AutoAttempts != 1 || d.Delivery.AttemptCount != 2 {
			t.Fatalf("delivery after a failed resend: %+v", d.Delivery)
		}
	})

	t.Run("a delivery of the other mode cannot be resent", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		createEndpoint(t, s, models.Sandbox, "http://127.0.0.1:1/", "secret")
		u := createUser(t, s, models.Sandbox)
		d := deliveryOf(t, s, models.Sandbox, u.Event.ID)
		if _, err := s.ResendDelivery(ctx, models.Production, d.Delivery.ID, "x"); models.ErrorCode(err) != models.CodeMissingResource {
			t.Fatalf("got %v, want MISSING_RESOURCE", err)
		}
	})
}

func TestReceiverDownThenUp(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // down: connections are refused

	createEndpoint(t, s, models.Sandbox, "http://"+addr+"/hook", "secret")
	// Retries 25 ms apart, enough of them (10 s) that none runs out while
	// the receiver is down: with 30 (750 ms), on a loaded machine the
	// first deliveries used them all up while the last users were still
	// being made and were never sent again.
	cfg := testConfig()
	cfg.Schedule = make([]time.Duration, 400)
	for i := range cfg.Schedule {
		cfg.Schedule[i] = 25 * time.Millisecond
	}
	const n = 40
	ids := map[string]bool{}
	for range n {
		ids[createUser(t, s, models.Sandbox).Event.ID] = true
	}
	startDispatcher(t, s, cfg)
	// Every delivery is refused at least once before the receiver comes up
	// (a fixed sleep was too short on a loaded machine).
	eventually(t, 10*time.Second, "not every delivery was tried while the receiver was down", func() bool {
		for id := range ids {
			if len(deliveryOf(t, s, models.Sandbox, id).Attempts) == 0 {
				return false
			}
		}
		return true
	})

	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("could not listen on %s again: %v", addr, err)
	}
	rc := &receiver{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	arrived := func() int {
		seen := map[string]bool{}
		for _, r := range rc.requests() {
			seen[r.Header.Get("webhook-id")] = true
		}
		return len(seen)
	}
	for deadline := time.Now().Add(10 * time.Second); arrived() < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			failed := 0
			for id := range ids {
				if deliveryOf(t, s, models.Sandbox, id).Delivery.Status == models.DeliveryFailed {
					failed++
				}
			}
			t.Fatalf("after 10s: %d of %d deliveries arrived; %d failed for good", arrived(), n, failed)
		}
	}
	for id := range ids {
		// However many tries it took: a count read before the delivery
		// settled could be passed by one more retry (they are 25 ms apart).
		var d *models.DeliveryDetail
		eventually(t, 5*time.Second, "delivery did not settle as SUCCEEDED", func() bool {
			d = deliveryOf(t, s, models.Sandbox, id)
			return d.Delivery.Status == models.DeliverySucceeded && d.Delivery.LeaseOwner == ""
		})
		if len(d.Attempts) < 2 || !strings.HasPrefix(d.Attempts[0].Error, "connect: ") {
			t.Fatalf("delivery %s: %d attempts, first error %q", d.Delivery.ID, len(d.Attempts), d.Attempts[0].Error)
		}
	}
}
