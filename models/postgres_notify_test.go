package models_test

import (
	"context"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// On PostgreSQL instances announce what others must not wait for: a
// delivery queued (the dispatcher starts at once) and signing keys rotated
// (every instance signs with the new key at once, not at its ring's next
// reload).
func TestInstancesHearEachOther(t *testing.T) {
	if !modelstest.OnPostgres() {
		t.Skip("PostgreSQL only: instances on one SQLite file are the server and its command line, which read the keys when they need them")
	}
	ctx := context.Background()
	opts := modelstest.Options(t)
	open := func() *models.Store {
		s, err := models.Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()

	t.Run("a key rotated on one instance signs on the other at once", func(t *testing.T) {
		if _, err := b.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil { // b's ring is fresh
			t.Fatal(err)
		}
		rotated, err := a.RotateSigningKey(ctx, models.Sandbox)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for {
			u, err := b.CreateUser(ctx, models.Sandbox, nil, "test")
			if err != nil {
				t.Fatal(err)
			}
			if u.Token.Kid == rotated.Kid {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the other instance still signs with %s 2 s after the rotation to %s", u.Token.Kid, rotated.Kid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("deliveries queued on one instance wake the other", func(t *testing.T) {
		woken := make(chan struct{}, 16)
		b.OnDeliveriesQueued = func() {
			select {
			case woken <- struct{}{}:
			default:
			}
		}
		name, url, active, secret := "n", "https://example.com/hook", true, "s3cret"
		if _, err := a.CreateWebhookEndpoint(ctx, models.Sandbox, models.WebhookInput{Name: &name, URL: &url, Active: &active, Secret: &secret,
			EventTypes: []string{"USER_CREATED"}}); err != nil {
			t.Fatal(err)
		}
		for len(woken) > 0 {
			<-woken
		}
		if _, err := a.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-woken:
		case <-time.After(2 * time.Second):
			t.Fatal("the other instance was not told within 2 s")
		}
	})
}
