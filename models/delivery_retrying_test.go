package models_test

import (
	"context"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestRetryingDeliveriesCountAsFailing(t *testing.T) {
	ctx := context.Background()
	s := modelstest.MustOpenStore(t)
	s.Now = steppingClock(time.Millisecond)
	ep := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
	for range 4 {
		if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
	}
	later := s.Now().Add(time.Hour)
	claims := claimAll(t, s, "w")
	// 0 and 1 fail with retries left, 2 fails for good, 3 succeeds.
	settle(t, s, "w", &claims[0], false, &later)
	settle(t, s, "w", &claims[1], false, &later)
	settle(t, s, "w", &claims[2], false, nil)
	settle(t, s, "w", &claims[3], true, nil)
	retrying := models.DeliveryRetrying

	t.Run("a pending delivery whose attempt failed is shown as retrying", func(t *testing.T) {
		d, err := s.GetDelivery(ctx, models.Sandbox, claims[0].Delivery.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := d.Delivery.Shown(), models.DeliveryRetrying; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("the delivery log filters retrying deliveries", func(t *testing.T) {
		page, err := s.ListDeliveries(ctx, models.Sandbox, models.DeliveryFilter{Status: &retrying})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(page.Items), 2; got != want {
			t.Fatalf("got %d, want %d", got, want)
		}
		page, err = s.ListDeliveries(ctx, models.Sandbox, models.DeliveryFilter{Status: &retrying, EndpointID: &ep.ID})
		if err != nil || len(page.Items) != 2 {
			t.Fatalf("by endpoint: got %v, %v", page, err)
		}
	})
	t.Run("the dashboard counts them as failing", func(t *testing.T) {
		d, err := s.LoadDashboard(ctx, models.Sandbox)
		if err != nil {
			t.Fatal(err)
		}
		if d.Retrying24h != 2 || d.Deliveries24h[models.DeliveryFailed] != 1 {
			t.Fatalf("retrying %d, failed %d; want 2 and 1", d.Retrying24h, d.Deliveries24h[models.DeliveryFailed])
		}
	})
	t.Run("the endpoint's health counts them as failing", func(t *testing.T) {
		h, err := s.WebhookHealth(ctx, models.Sandbox, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if h.Retrying != 2 || h.Failed != 1 || h.Succeeded != 1 || h.Pending != 0 || h.Failing() != 3 {
			t.Fatalf("got %+v", h)
		}
		if rate, ok := h.SuccessRate(); !ok || rate != 25 {
			t.Fatalf("rate %v %v, want 25%%", rate, ok)
		}
	})
	t.Run("recovery includes retrying deliveries only when asked", func(t *testing.T) {
		only, err := s.CountRecoverableIn(ctx, models.Sandbox, ep.ID, models.RecoverScope{})
		if err != nil || only.Failed != 1 || only.Retrying != 0 {
			t.Fatalf("failed only: got %+v, %v", only, err)
		}
		both, err := s.CountRecoverableIn(ctx, models.Sandbox, ep.ID, models.RecoverScope{Retrying: true})
		if err != nil || both.Failed != 1 || both.Retrying != 2 {
			t.Fatalf("with retrying: got %+v, %v", both, err)
		}
		before, err := s.WebhookHealth(ctx, models.Sandbox, ep.ID)
		if err != nil || before.LastFailureAt == nil {
			t.Fatalf("no last failure before recovery: %+v, %v", before, err)
		}
		done, err := s.RecoverIn(ctx, models.Sandbox, ep.ID, models.RecoverScope{Retrying: true}, "ops")
		if err != nil || done.Total() != 3 {
			t.Fatalf("recover: got %+v, %v", done, err)
		}
		again := claimAll(t, s, "w")
		if len(again) != 3 {
			t.Fatalf("claimed %d, want 3 due now", len(again))
		}
		for i := range again {
			if again[i].Trigger != models.TriggerManual {
				t.Fatalf("claim %d is %s, want MANUAL", i, again[i].Trigger)
			}
			settle(t, s, "w", &again[i], true, nil)
		}
		after, err := s.WebhookHealth(ctx, models.Sandbox, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.LastFailureAt == nil || after.LastFailureAt.Before(*before.LastFailureAt) {
			t.Fatalf("last failure after recovery %v, want at least %v", after.LastFailureAt, before.LastFailureAt)
		}
		if after.Retrying != 0 || after.Failed != 0 || after.Succeeded != 4 {
			t.Fatalf("after recovery: %+v", after)
		}
	})
	t.Run("a resent succeeded delivery is not retrying", func(t *testing.T) {
		if _, err := s.ResendDelivery(ctx, models.Sandbox, claims[3].Delivery.ID, "ops"); err != nil {
			t.Fatal(err)
		}
		d, _ := s.GetDelivery(ctx, models.Sandbox, claims[3].Delivery.ID)
		if got := d.Delivery.Shown(); got != models.DeliveryPending {
			t.Fatalf("got %q, want PENDING", got)
		}
	})
}
