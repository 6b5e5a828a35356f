package webhooks

import (
	"context"
	"net/http"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// holdingReceiver answers codes[n-1] to its nth request (200 past the end),
// and holds request number hold until release is closed, after telling
// arrived that it came.
func holdingReceiver(t *testing.T, hold int, codes ...int) (rc *receiver, arrived chan struct{}, release chan struct{}) {
	arrived, release = make(chan struct{}), make(chan struct{})
	rc = newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == hold {
			close(arrived)
			<-release
		}
		code := http.StatusOK
		if n <= len(codes) {
			code = codes[n-1]
		}
		w.WriteHeader(code)
	})
	return rc, arrived, release
}

func waitArrived(t *testing.T, arrived chan struct{}) {
	t.Helper()
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the held request never arrived")
	}
}

func TestResendWhileInFlight(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		codes    []int           // the in-flight attempt's answer, then the resend's
		schedule []time.Duration // retry waits; long, so no automatic retry comes in between
		want     string
	}{
		{name: "a success in flight then a successful resend ends succeeded",
			codes: []int{200, 200}, schedule: []time.Duration{time.Hour}, want: models.DeliverySucceeded},
		{name: "a success in flight then a failed resend goes back to succeeded",
			codes: []int{200, 500}, schedule: []time.Duration{time.Hour}, want: models.DeliverySucceeded},
		{name: "a failure with retries left then a failed resend carries on with the schedule",
			codes: []int{500, 500}, schedule: []time.Duration{time.Hour, time.Hour}, want: models.DeliveryPending},
		{name: "a last failure then a failed resend goes back to failed",
			codes: []int{500, 500}, schedule: []time.Duration{}, want: models.DeliveryFailed},
		{name: "a last failure then a successful resend ends succeeded",
			codes: []int{500, 200}, schedule: []time.Duration{}, want: models.DeliverySucceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := modelstest.MustOpenStore(t)
			rc, arrived, release := holdingReceiver(t, 1, tt.codes...)
			createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
			cfg := testConfig()
			cfg.Schedule = tt.schedule
			startDispatcher(t, s, cfg)
			u := createUser(t, s, models.Sandbox)
			waitArrived(t, arrived)

			d := deliveryOf(t, s, models.Sandbox, u.Event.ID)
			if _, err := s.ResendDelivery(ctx, models.Sandbox, d.Delivery.ID, "support@example.com"); err != nil {
				t.Fatalf("resend while in flight: %v", err)
			}
			close(release)

			d = settled(t, s, models.Sandbox, u.Event.ID, tt.want, 2)
			first, second := d.Attempts[0], d.Attempts[1]
			if first.Trigger != models.TriggerAutomatic || first.ResponseStatus != tt.codes[0] {
				t.Fatalf("first attempt: %+v", first)
			}
			if second.Trigger != models.TriggerManual || second.TriggeredBy != "support@example.com" ||
				second.Number != 2 || second.ResponseStatus != tt.codes[1] {
				t.Fatalf("second attempt: %+v", second)
			}
			if got := d.Delivery; got.ManualPending || got.ManualBy != "" || got.ReturnStatus != "" || got.AutoAttempts != 1 {
				t.Fatalf("delivery after the resend: %+v", got)
			}
			if tt.want == models.DeliveryPending {
				if next := d.Delivery.NextAttemptAt; next == nil || next.Before(s.Now().Add(30*time.Minute)) {
					t.Fatalf("next attempt at %v, want the schedule's hour", next)
				}
			}
			reqs := rc.requests()
			if len(reqs) != 2 || reqs[1].Header.Get("webhook-id") != u.Event.ID || string(reqs[1].Body) != u.Event.Payload {
				t.Fatalf("got %d requests, want the same event twice", len(reqs))
			}
			// Nothing more follows.
			time.Sleep(100 * time.Millisecond)
			if n := rc.count(); n != 2 {
				t.Fatalf("got %d requests, want 2", n)
			}
		})
	}

	t.Run("a resend asked for during a manual attempt makes one more", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		rc, arrived, release := holdingReceiver(t, 2, 200, 500, 200)
		createEndpoint(t, s, models.Sandbox, rc.URL, "secret")
		startDispatcher(t, s, testConfig())
		u := createUser(t, s, models.Sandbox)
		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliverySucceeded, 1)
		if _, err := s.ResendDelivery(ctx, models.Sandbox, d.Delivery.ID, "first@example.com"); err != nil {
			t.Fatal(err)
		}
		waitArrived(t, arrived)
		if _, err := s.ResendDelivery(ctx, models.Sandbox, d.Delivery.ID, "second@example.com"); err != nil {
			t.Fatalf("resend during a manual attempt: %v", err)
		}
		close(release)
		d = settled(t, s, models.Sandbox, u.Event.ID, models.DeliverySucceeded, 3)
		if a := d.Attempts[1]; a.Trigger != models.TriggerManual || a.TriggeredBy != "first@example.com" || a.ResponseStatus != 500 {
			t.Fatalf("second attempt: %+v", a)
		}
		if a := d.Attempts[2]; a.Trigger != models.TriggerManual || a.TriggeredBy != "second@example.com" || a.Number != 3 {
			t.Fatalf("third attempt: %+v", a)
		}
		if got := d.Delivery; got.ManualPending || got.ReturnStatus != "" {
			t.Fatalf("delivery after the resends: %+v", got)
		}
	})

	t.Run("a resend to a disabled endpoint is still refused", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		ep := createEndpoint(t, s, models.Sandbox, "http://127.0.0.1:1/", "secret")
		u := createUser(t, s, models.Sandbox)
		d := deliveryOf(t, s, models.Sandbox, u.Event.ID)
		if _, err := s.UpdateWebhookEndpoint(ctx, models.Sandbox, ep.ID, models.WebhookInput{Active: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ResendDelivery(ctx, models.Sandbox, d.Delivery.ID, "x"); models.ErrorCode(err) != models.CodeConflict {
			t.Fatalf("got %v, want CONFLICT", err)
		}
	})
}
