package models_test

import (
	"context"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestClaimPerEndpointCap(t *testing.T) {
	ctx := context.Background()
	s := modelstest.MustOpenStore(t)
	s.Now = steppingClock(time.Millisecond)
	busy := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/busy")
	for range 4 {
		if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
	}
	other := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/other")
	if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
		t.Fatal(err)
	}
	q, err := s.OpenDispatchQueue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()

	t.Run("takes only an endpoint's free slots and leaves the rest due", func(t *testing.T) {
		claims, more, err := q.Exchange(ctx, "a", nil, nil, models.ClaimRequest{Limit: 10, Lease: time.Minute,
			PerEndpoint: 3, InFlight: map[string]int{busy.ID: 1}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, c := range claims {
			got[c.Endpoint.ID]++
		}
		if got[busy.ID] != 2 || got[other.ID] != 1 || more {
			t.Fatalf("got %v (more %v), want 2 of the busy endpoint and 1 of the other", got, more)
		}
		for i := 1; i < len(claims); i++ {
			if claims[i].Delivery.CreatedAt.Before(claims[i-1].Delivery.CreatedAt) {
				t.Fatalf("claims out of due order: %v", claims)
			}
		}
	})

	var left []models.Claim
	t.Run("what was left over is free for the next claim", func(t *testing.T) {
		claims, err := s.ClaimDue(ctx, "b", 10, time.Minute)
		left = claims
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(claims), 3; got != want {
			t.Fatalf("got %d claims, want %d", got, want)
		}
		for _, c := range claims {
			if c.Endpoint.ID != busy.ID {
				t.Fatalf("claimed a delivery of %s, held by the first claim", c.Endpoint.ID)
			}
		}
	})

	t.Run("an endpoint at its cap is left out entirely", func(t *testing.T) {
		var ids []string
		for _, c := range left {
			ids = append(ids, c.Delivery.ID)
		}
		if n, err := s.ReleaseLeases(ctx, "b", ids); err != nil || n != 3 {
			t.Fatalf("release: %d, %v", n, err)
		}
		claims, _, err := q.Exchange(ctx, "c", nil, nil, models.ClaimRequest{Limit: 10, Lease: time.Minute,
			PerEndpoint: 1, InFlight: map[string]int{busy.ID: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(claims), 0; got != want {
			t.Fatalf("got %d claims, want %d (the due deliveries are all of the capped endpoint)", got, want)
		}
	})
}
