package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestCreateTestEvent(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	ctx := context.Background()
	target := mustCreateEndpoint(t, s, models.Sandbox, "http://127.0.0.1:9/a")
	other := mustCreateEndpoint(t, s, models.Sandbox, "http://127.0.0.1:9/b")
	woken := 0
	s.OnDeliveriesQueued = func() { woken++ }

	t.Run("queues one delivery to the chosen endpoint only, naming the test user", func(t *testing.T) {
		ev, d, err := s.CreateTestEvent(ctx, models.Sandbox, target.ID, "console:a@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ev.Type, models.EventUserCreated; got != want {
			t.Fatalf("type %s, want %s", got, want)
		}
		if !strings.Contains(ev.Payload, `"data":{"userId":"`+models.TestEventUserID+`"}`) || !strings.HasPrefix(ev.Payload, `{"id":"`+ev.ID+`","version":1,"type":"USER_CREATED"`) {
			t.Fatalf("payload %s is not the contract's shape naming the test user", ev.Payload)
		}
		detail, err := s.GetEvent(ctx, models.Sandbox, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(detail.Deliveries); got != 1 || detail.Deliveries[0].EndpointID != target.ID || detail.Deliveries[0].ID != d.ID {
			t.Fatalf("event fanned out to %d deliveries (%+v), want one to %s", got, detail.Deliveries, target.ID)
		}
		if !d.ManualPending || d.ManualBy != "console:a@example.com" || d.Status != models.DeliveryPending {
			t.Fatalf("delivery %+v is not a pending manual attempt by the operator", d)
		}
		if woken != 1 {
			t.Fatalf("the dispatcher was woken %d times, want 1", woken)
		}
		page, err := s.ListDeliveries(ctx, models.Sandbox, models.DeliveryFilter{EndpointID: &other.ID})
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("the other endpoint got %d deliveries (%v)", len(page.Items), err)
		}
	})
	t.Run("refused for an endpoint of the other mode", func(t *testing.T) {
		if _, _, err := s.CreateTestEvent(ctx, models.Production, target.ID, "x"); err == nil || !strings.Contains(err.Error(), "no webhook") && !strings.Contains(err.Error(), target.ID) {
			t.Fatalf("got %v, want not found", err)
		}
	})
	t.Run("refused for an inactive endpoint, saying why", func(t *testing.T) {
		if _, err := s.UpdateWebhookEndpoint(ctx, models.Sandbox, other.ID, models.WebhookInput{Active: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.CreateTestEvent(ctx, models.Sandbox, other.ID, "x")
		if e, ok := models.AsError(err); !ok || e.Code != models.CodeConflict || !strings.Contains(e.Message, "inactive") {
			t.Fatalf("got %v, want a conflict saying the endpoint is inactive", err)
		}
	})
}

func TestWebhookHealth(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	s.Now = steppingClock(time.Millisecond)
	ctx := context.Background()
	ep := mustCreateEndpoint(t, s, models.Sandbox, "http://127.0.0.1:9/a")

	t.Run("has no rate before anything finished", func(t *testing.T) {
		h, err := s.WebhookHealth(ctx, models.Sandbox, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := h.SuccessRate(); ok || h.LastSuccessAt != nil || h.LastFailureAt != nil {
			t.Fatalf("health %+v of a new endpoint", h)
		}
	})
	t.Run("counts the window's deliveries by status and finds the last of each", func(t *testing.T) {
		var ids []string
		for range 4 {
			_, d, err := s.CreateTestEvent(ctx, models.Sandbox, ep.ID, "x")
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, d.ID)
		}
		// Three succeed, one fails; the dispatcher's own path records them.
		claims, err := s.ClaimDue(ctx, "w", 10, time.Minute)
		if err != nil || len(claims) != 4 {
			t.Fatalf("claimed %d (%v)", len(claims), err)
		}
		var rs []models.AttemptResult
		for _, c := range claims {
			ok := c.Delivery.ID != ids[3]
			status := 200
			if !ok {
				status = 500
			}
			rs = append(rs, models.AttemptResult{Succeeded: ok, Attempt: models.Attempt{DeliveryID: c.Delivery.ID, Mode: models.Sandbox, Number: c.Number,
				Trigger: c.Trigger, ResponseStatus: status, StartedAt: s.Now()}})
		}
		if err := s.RecordAttempts(ctx, "w", rs); err != nil {
			t.Fatal(err)
		}
		h, err := s.WebhookHealth(ctx, models.Sandbox, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if h.Succeeded != 3 || h.Failed != 1 || h.Pending != 0 {
			t.Fatalf("health %+v, want 3 succeeded and 1 failed", h)
		}
		if rate, ok := h.SuccessRate(); !ok || rate != 75 {
			t.Fatalf("rate %v, want 75", rate)
		}
		if h.LastSuccessAt == nil || h.LastFailureAt == nil {
			t.Fatalf("health %+v lacks the last success or failure", h)
		}
	})
	t.Run("does not know an endpoint of another mode", func(t *testing.T) {
		if _, err := s.WebhookHealth(ctx, models.Production, ep.ID); err == nil {
			t.Fatal("production read the health of a sandbox endpoint")
		}
	})
}
