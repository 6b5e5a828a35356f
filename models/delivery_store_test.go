package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// settle records one attempt of a claimed delivery as the dispatcher would.
func settle(t *testing.T, s *models.Store, owner string, c *models.Claim, ok bool, retryAt *time.Time) {
	t.Helper()
	status := 200
	if !ok {
		status = 500
	}
	err := s.RecordAttempt(context.Background(), owner, models.AttemptResult{
		Claim: c, Succeeded: ok, RetryAt: retryAt,
		Attempt: models.Attempt{DeliveryID: c.Delivery.ID, Mode: c.Delivery.Mode, Number: c.Number,
			Trigger: c.Trigger, TriggeredBy: c.TriggeredBy, URL: c.Endpoint.URL, ResponseStatus: status, StartedAt: s.Now()},
	})
	if err != nil {
		t.Fatalf("record attempt: %v", err)
	}
}

func claimAll(t *testing.T, s *models.Store, owner string) []models.Claim {
	t.Helper()
	claims, err := s.ClaimDue(context.Background(), owner, 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestListDeliveries(t *testing.T) {
	ctx := context.Background()
	s := modelstest.MustOpenStore(t)
	s.Now = steppingClock(time.Millisecond)
	a := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
	b := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/b")
	mustCreateEndpoint(t, s, models.Production, "https://example.com/p")
	var users []string
	for range 6 {
		u, err := s.CreateUser(ctx, models.Sandbox, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u.User.ID)
	}
	if _, err := s.CreateUser(ctx, models.Production, nil, "test"); err != nil {
		t.Fatal(err)
	}
	// Endpoint a's deliveries fail for good, b's succeed.
	for _, c := range claimAll(t, s, "test") {
		settle(t, s, "test", &c, c.Endpoint.ID == b.ID, nil)
	}

	str := func(v string) *string { return &v }
	tests := []struct {
		name   string
		filter models.DeliveryFilter
		want   int
	}{
		{"all of the mode's deliveries", models.DeliveryFilter{}, 12},
		{"one endpoint's", models.DeliveryFilter{EndpointID: &a.ID}, 6},
		{"the failed ones", models.DeliveryFilter{Status: str(models.DeliveryFailed)}, 6},
		{"one endpoint's succeeded ones", models.DeliveryFilter{EndpointID: &a.ID, Status: str(models.DeliverySucceeded)}, 0},
		{"one user's", models.DeliveryFilter{UserID: &users[2]}, 2},
		{"one event type's", models.DeliveryFilter{EventType: str(models.EventUserCreated)}, 12},
		{"another event type's", models.DeliveryFilter{EventType: str("ACCOUNT_CREATED")}, 0},
	}
	for _, tt := range tests {
		t.Run("lists "+tt.name, func(t *testing.T) {
			var got []models.Delivery
			f := tt.filter
			f.Size = 5
			for {
				page, err := s.ListDeliveries(ctx, models.Sandbox, f)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page.Items...)
				if page.NextCursor == "" {
					break
				}
				if f.Cursor, err = models.DecodeCursor(page.NextCursor); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != tt.want {
				t.Fatalf("got %d, want %d", len(got), tt.want)
			}
			for i := 1; i < len(got); i++ {
				if got[i].CreatedAt.After(got[i-1].CreatedAt) {
					t.Fatal("not newest first")
				}
			}
		})
	}

	t.Run("a date range keeps what was created inside it", func(t *testing.T) {
		// Two deliveries per user, made at the user's creation: items 2k and
		// 2k+1 share a time. From the 5th user's up to (not with) the 2nd's.
		all, _ := s.ListDeliveries(ctx, models.Sandbox, models.DeliveryFilter{Size: 100})
		from, before := all.Items[8].CreatedAt, all.Items[3].CreatedAt
		page, err := s.ListDeliveries(ctx, models.Sandbox, models.DeliveryFilter{Size: 100, CreatedFrom: &from, CreatedBefore: &before})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(page.Items), 6; got != want {
			t.Fatalf("got %d, want %d", got, want)
		}
	})

	t.Run("a delivery of the other mode is not found", func(t *testing.T) {
		all, _ := s.ListDeliveries(ctx, models.Production, models.DeliveryFilter{})
		if len(all.Items) != 1 {
			t.Fatalf("production has %d deliveries, want 1", len(all.Items))
		}
		if _, err := s.GetDelivery(ctx, models.Sandbox, all.Items[0].ID); models.ErrorCode(err) != models.CodeMissingResource {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("an event lists its deliveries", func(t *testing.T) {
		evs, err := s.ListEvents(ctx, models.Sandbox, models.EventFilter{UserID: &users[0]})
		if err != nil || len(evs.Items) != 1 {
			t.Fatalf("got %v, %v", evs, err)
		}
		ev, err := s.GetEvent(ctx, models.Sandbox, evs.Items[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Deliveries) != 2 {
			t.Fatalf("got %d deliveries, want one per endpoint", len(ev.Deliveries))
		}
		if _, err := s.GetEvent(ctx, models.Production, ev.Event.ID); models.ErrorCode(err) != models.CodeMissingResource {
			t.Fatalf("other mode: got %v", err)
		}
	})

	t.Run("bad filters name their field", func(t *testing.T) {
		if _, err := models.ParseDeliveryStatus("LOST"); err == nil {
			t.Fatal("accepted status LOST")
		}
		if _, err := models.ParseEventType("eventType", "NOPE"); err == nil {
			t.Fatal("accepted event type NOPE")
		}
		if st, err := models.ParseDeliveryStatus("failed"); err != nil || *st != models.DeliveryFailed {
			t.Fatalf("got %v, %v", st, err)
		}
	})
}

func TestResendAndRecover(t *testing.T) {
	ctx := context.Background()

	t.Run("a resend asked for in flight is made as soon as the attempt is recorded", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
		claims := claimAll(t, s, "w")
		if _, err := s.ResendDelivery(ctx, models.Sandbox, claims[0].Delivery.ID, "ops"); err != nil {
			t.Fatalf("resend in flight: %v", err)
		}
		settle(t, s, "w", &claims[0], true, nil)
		d, err := s.GetDelivery(ctx, models.Sandbox, claims[0].Delivery.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Delivery; got.Status != models.DeliveryPending || !got.ManualPending || got.ManualBy != "ops" ||
			got.ReturnStatus != models.DeliverySucceeded || got.NextAttemptAt == nil || got.NextAttemptAt.After(s.Now()) {
			t.Fatalf("got %+v", got)
		}
		again := claimAll(t, s, "w")
		if len(again) != 1 || again[0].Trigger != models.TriggerManual || again[0].TriggeredBy != "ops" || again[0].Number != 2 {
			t.Fatalf("got %+v", again)
		}
	})

	t.Run("a manual attempt on a pending delivery does not use up its schedule", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
		later := s.Now().Add(time.Hour)
		c := claimAll(t, s, "w")[0]
		settle(t, s, "w", &c, false, &later)
		if _, err := s.ResendDelivery(ctx, models.Sandbox, c.Delivery.ID, "ops"); err != nil {
			t.Fatal(err)
		}
		m := claimAll(t, s, "w")[0]
		settle(t, s, "w", &m, false, &later)
		d, _ := s.GetDelivery(ctx, models.Sandbox, c.Delivery.ID)
		if d.Delivery.Status != models.DeliveryPending || d.Delivery.AutoAttempts != 1 || d.Delivery.AttemptCount != 2 || d.Delivery.ManualPending {
			t.Fatalf("got %+v", d.Delivery)
		}
	})

	t.Run("recovery re-queues only failed deliveries created since the time given", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		s.Now = steppingClock(time.Second)
		ep := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		for range 4 {
			if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
				t.Fatal(err)
			}
		}
		claims := claimAll(t, s, "w")
		for i := range claims {
			settle(t, s, "w", &claims[i], i == 3, nil) // three fail for good, the last succeeds
		}
		second, err := s.GetDelivery(ctx, models.Sandbox, claims[1].Delivery.ID)
		if err != nil {
			t.Fatal(err)
		}
		since := second.Delivery.CreatedAt
		n, err := s.CountRecoverable(ctx, models.Sandbox, ep.ID, since)
		if err != nil || n != 2 {
			t.Fatalf("count: got %d, %v; want 2", n, err)
		}
		if got, err := s.RecoverFailed(ctx, models.Sandbox, ep.ID, since, "ops"); err != nil || got != 2 {
			t.Fatalf("recover: got %d, %v; want 2", got, err)
		}
		again := claimAll(t, s, "w")
		if len(again) != 2 || again[0].Trigger != models.TriggerManual || again[0].Delivery.AutoAttempts != 0 {
			t.Fatalf("got %+v", again)
		}
		if _, err := s.CountRecoverable(ctx, models.Production, ep.ID, since); models.ErrorCode(err) != models.CodeMissingResource {
			t.Fatalf("other mode: got %v", err)
		}
	})
}

func TestDispatchQueue(t *testing.T) {
	ctx := context.Background()

	t.Run("two processes claiming at once never get the same delivery", func(t *testing.T) {
		opts := modelstest.Options(t) // one database, two stores
		var stores []*models.Store
		for range 2 {
			s, err := models.Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores = append(stores, s)
		}
		mustCreateEndpoint(t, stores[0], models.Sandbox, "http://localhost/a")
		for range 200 {
			if _, err := stores[0].CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		for i, owner := range []string{"a", "b"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					claims, err := stores[i].ClaimDue(ctx, owner, 7, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if len(claims) == 0 {
						return
					}
					mu.Lock()
					for _, c := range claims {
						if other, dup := seen[c.Delivery.ID]; dup {
							t.Errorf("delivery %s claimed by %s and %s", c.Delivery.ID, other, owner)
						}
						seen[c.Delivery.ID] = owner
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != 200 {
			t.Fatalf("claimed %d, want 200", len(seen))
		}
	})

	t.Run("a claim carries the endpoint and the exact payload", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		ep := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		u, err := s.CreateUser(ctx, models.Sandbox, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		c := claimAll(t, s, "w")[0]
		if string(c.Payload) != u.Event.Payload || c.Endpoint.Secret != ep.Secret || c.Number != 1 || c.Trigger != models.TriggerAutomatic {
			t.Fatalf("got %+v", c)
		}
		if len(claimAll(t, s, "other")) != 0 {
			t.Fatal("a held delivery was claimed again")
		}
	})

	t.Run("released leases are due again at once", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
		c := claimAll(t, s, "w")[0]
		if n, err := s.ReleaseLeases(ctx, "someone else", []string{c.Delivery.ID}); err != nil || n != 0 {
			t.Fatalf("another owner released %d, %v", n, err)
		}
		if n, err := s.ReleaseLeases(ctx, "w", []string{c.Delivery.ID}); err != nil || n != 1 {
			t.Fatalf("released %d, %v", n, err)
		}
		if got := claimAll(t, s, "other"); len(got) != 1 {
			t.Fatalf("claimed %d after release, want 1", len(got))
		}
	})

	t.Run("old attempts are pruned and recent ones kept", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		for range 3 {
			if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
				t.Fatal(err)
			}
		}
		claims := claimAll(t, s, "w")
		for i := range claims {
			settle(t, s, "w", &claims[i], true, nil)
		}
		if n, err := s.PruneAttempts(ctx, s.Now().Add(-time.Second)); err != nil || n != 0 {
			t.Fatalf("pruned %d, %v before the attempts started; want 0", n, err)
		}
		n, err := s.PruneAttempts(ctx, s.Now().Add(time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("pruned %d, %v; want 3", n, err)
		}
		d, _ := s.GetDelivery(ctx, models.Sandbox, claims[0].Delivery.ID)
		if len(d.Attempts) != 0 || d.Delivery.Status != models.DeliverySucceeded {
			t.Fatalf("got %+v", d)
		}
	})
}
