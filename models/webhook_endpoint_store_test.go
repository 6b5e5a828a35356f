package models_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func ptr[T any](v T) *T { return &v }

// steppingClock moves on by step at every reading, so rows made in a loop
// get distinct creation times.
func steppingClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	t := time.Now().UTC()
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(step)
		return t
	}
}

func validInput(url string) models.WebhookInput {
	return models.WebhookInput{
		Name: ptr("Orders"), URL: ptr(url), EventTypes: []string{"USER_CREATED"},
		Active: ptr(true), Secret: ptr("a little secret"),
	}
}

func mustCreateEndpoint(t *testing.T, s *models.Store, mode models.Mode, url string) *models.WebhookEndpoint {
	t.Helper()
	ep, err := s.CreateWebhookEndpoint(context.Background(), mode, validInput(url))
	if err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	return ep
}

func TestWebhookInputValidation(t *testing.T) {
	tests := []struct {
		name      string
		mode      models.Mode
		change    func(in *models.WebhookInput)
		create    bool
		wantField string // empty: valid
	}{
		{"a complete sandbox request is valid", models.Sandbox, func(*models.WebhookInput) {}, true, ""},
		{"http is allowed in sandbox", models.Sandbox, func(in *models.WebhookInput) { in.URL = ptr("http://localhost:8080/hook") }, true, ""},
		{"http is refused in production", models.Production, func(in *models.WebhookInput) { in.URL = ptr("http://example.com/hook") }, true, "url"},
		{"https is accepted in production", models.Production, func(in *models.WebhookInput) { in.URL = ptr("https://example.com/hook") }, true, ""},
		{"a missing name is refused on create", models.Sandbox, func(in *models.WebhookInput) { in.Name = nil }, true, "name"},
		{"a missing name is fine in a patch", models.Sandbox, func(in *models.WebhookInput) { in.Name = nil }, false, ""},
		{"a blank name is refused", models.Sandbox, func(in *models.WebhookInput) { in.Name = ptr("   ") }, true, "name"},
		{"a name of 200 characters is accepted", models.Sandbox, func(in *models.WebhookInput) { in.Name = ptr(strings.Repeat("é", 200)) }, true, ""},
		{"a name of 201 characters is refused", models.Sandbox, func(in *models.WebhookInput) { in.Name = ptr(strings.Repeat("a", 201)) }, true, "name"},
		{"a url of 501 characters is refused", models.Sandbox, func(in *models.WebhookInput) { in.URL = ptr("https://e.com/" + strings.Repeat("a", 487)) }, true, "url"},
		{"a relative url is refused", models.Sandbox, func(in *models.WebhookInput) { in.URL = ptr("/hook") }, true, "url"},
		{"an ftp url is refused", models.Sandbox, func(in *models.WebhookInput) { in.URL = ptr("ftp://example.com/") }, true, "url"},
		{"a url without a host is refused", models.Sandbox, func(in *models.WebhookInput) { in.URL = ptr("https:///path") }, true, "url"},
		{"an empty event type list is refused", models.Sandbox, func(in *models.WebhookInput) { in.EventTypes = []string{} }, true, "eventTypes"},
		{"an unknown event type is refused", models.Sandbox, func(in *models.WebhookInput) { in.EventTypes = []string{"USER_DELETED"} }, true, "eventTypes"},
		{"ALL_EVENTS is accepted", models.Sandbox, func(in *models.WebhookInput) { in.EventTypes = []string{"ALL_EVENTS"} }, true, ""},
		{"active is required on create", models.Sandbox, func(in *models.WebhookInput) { in.Active = nil }, true, "active"},
		{"an empty secret is refused", models.Sandbox, func(in *models.WebhookInput) { in.Secret = ptr("") }, true, "secret"},
		{"a secret of 65 characters is refused", models.Sandbox, func(in *models.WebhookInput) { in.Secret = ptr(strings.Repeat("s", 65)) }, true, "secret"},
		{"a secret of 64 characters is accepted", models.Sandbox, func(in *models.WebhookInput) { in.Secret = ptr(strings.Repeat("s", 64)) }, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput("https://example.com/hook")
			tt.change(&in)
			var err error
			if tt.create {
				err = in.ValidateCreate(tt.mode)
			} else {
				err = in.Validate(tt.mode)
			}
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			e, ok := models.AsError(err)
			if !ok {
				t.Fatalf("got %v, want a field error on %s", err, tt.wantField)
			}
			if got, want := e.Code, models.CodeInvalidParameters; got != want {
				t.Fatalf("code: got %v, want %v", got, want)
			}
			if got, want := e.Field, tt.wantField; got != want {
				t.Fatalf("field: got %q, want %q (%s)", got, want, e.Message)
			}
		})
	}
}

func TestWebhookEndpointLifecycle(t *testing.T) {
	ctx := context.Background()
	s := modelstest.MustOpenStore(t)

	t.Run("a created endpoint is found in its mode only", func(t *testing.T) {
		ep := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		if _, err := s.GetWebhookEndpoint(ctx, models.Sandbox, ep.ID); err != nil {
			t.Fatalf("get in sandbox: %v", err)
		}
		_, err := s.GetWebhookEndpoint(ctx, models.Production, ep.ID)
		if got, want := models.ErrorCode(err), models.CodeMissingResource; got != want {
			t.Fatalf("get in production: got %v, want %v", got, want)
		}
	})

	t.Run("the list pages newest first with a cursor", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		s.Now = steppingClock(time.Millisecond)
		var ids []string
		for i := 0; i < 5; i++ {
			ids = append(ids, mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/x").ID)
		}
		mustCreateEndpoint(t, s, models.Production, "https://example.com/x")
		var got []string
		var cur *models.Cursor
		for {
			page, err := s.ListWebhookEndpoints(ctx, models.Sandbox, models.WebhookFilter{Size: 2, Cursor: cur})
			if err != nil {
				t.Fatal(err)
			}
			for _, ep := range page.Items {
				got = append(got, ep.ID)
			}
			if page.NextCursor == "" {
				break
			}
			if cur, err = models.DecodeCursor(page.NextCursor); err != nil {
				t.Fatal(err)
			}
		}
		if len(got) != 5 {
			t.Fatalf("got %d endpoints, want 5", len(got))
		}
		for i := range got {
			if got[i] != ids[len(ids)-1-i] {
				t.Fatalf("order: got %v, want the reverse of %v", got, ids)
			}
		}
	})

	t.Run("a patch changes only the fields given", func(t *testing.T) {
		ep := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		up, err := s.UpdateWebhookEndpoint(ctx, models.Sandbox, ep.ID, models.WebhookInput{
			Name: ptr("Renamed"), EventTypes: []string{"ALL_EVENTS", "ALL_EVENTS"},
		})
		if err != nil {
			t.Fatal(err)
		}
		back, err := s.GetWebhookEndpoint(ctx, models.Sandbox, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if back.Name != "Renamed" || back.URL != ep.URL || back.Secret != ep.Secret || !back.Active {
			t.Fatalf("got %+v", back)
		}
		if got, want := strings.Join(back.EventTypes, ","), "ALL_EVENTS"; got != want {
			t.Fatalf("event types: got %s, want %s", got, want)
		}
		if !up.UpdatedAt.Equal(back.UpdatedAt) {
			t.Fatalf("returned updatedAt %v differs from stored %v", up.UpdatedAt, back.UpdatedAt)
		}
	})

	t.Run("a patch in production refuses an http url", func(t *testing.T) {
		ep := mustCreateEndpoint(t, s, models.Production, "https://example.com/a")
		_, err := s.UpdateWebhookEndpoint(ctx, models.Production, ep.ID, models.WebhookInput{URL: ptr("http://example.com/a")})
		if e, ok := models.AsError(err); !ok || e.Field != "url" {
			t.Fatalf("got %v, want a url field error", err)
		}
	})

	t.Run("rotating keeps the old secret signing for a day", func(t *testing.T) {
		ep := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		rot, err := s.RotateWebhookSecret(ctx, models.Sandbox, ep.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if rot.Secret == ep.Secret || rot.PreviousSecret != ep.Secret || len(rot.Secret) > models.MaxWebhookSecretLen {
			t.Fatalf("got secret %q previous %q", rot.Secret, rot.PreviousSecret)
		}
		now := s.Now()
		if got := rot.SigningSecrets(now); len(got) != 2 || got[0] != rot.Secret || got[1] != ep.Secret {
			t.Fatalf("signing secrets now: %q", got)
		}
		if got := rot.SigningSecrets(now.Add(25 * time.Hour)); len(got) != 1 {
			t.Fatalf("signing secrets after the grace: %q", got)
		}
	})

	t.Run("a secret set by patch replaces the old one at once", func(t *testing.T) {
		ep := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		if _, err := s.RotateWebhookSecret(ctx, models.Sandbox, ep.ID, "second"); err != nil {
			t.Fatal(err)
		}
		up, err := s.UpdateWebhookEndpoint(ctx, models.Sandbox, ep.ID, models.WebhookInput{Secret: ptr("third")})
		if err != nil {
			t.Fatal(err)
		}
		if got := up.SigningSecrets(s.Now()); len(got) != 1 || got[0] != "third" {
			t.Fatalf("signing secrets: %q", got)
		}
	})

	t.Run("deleting fails pending deliveries with a reason and hides the endpoint", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		ep := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		u, err := s.CreateUser(ctx, models.Sandbox, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		if u.QueuedDeliveries != 1 {
			t.Fatalf("queued %d deliveries, want 1", u.QueuedDeliveries)
		}
		if err := s.DeleteWebhookEndpoint(ctx, models.Sandbox, ep.ID); err != nil {
			t.Fatal(err)
		}
		page, err := s.ListDeliveries(ctx, models.Sandbox, models.DeliveryFilter{EndpointID: &ep.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || page.Items[0].Status != models.DeliveryFailed || page.Items[0].LastError != "endpoint deleted" {
			t.Fatalf("got %+v", page.Items)
		}
		if _, err := s.GetWebhookEndpoint(ctx, models.Sandbox, ep.ID); models.ErrorCode(err) != models.CodeMissingResource {
			t.Fatalf("get after delete: %v", err)
		}
		if err := s.DeleteWebhookEndpoint(ctx, models.Sandbox, ep.ID); models.ErrorCode(err) != models.CodeMissingResource {
			t.Fatalf("second delete: %v", err)
		}
		detail, err := s.GetDelivery(ctx, models.Sandbox, page.Items[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if detail.Endpoint.ID != ep.ID || detail.Endpoint.DeletedAt == nil {
			t.Fatalf("a delivery still names its deleted endpoint: got %+v", detail.Endpoint)
		}
	})

	t.Run("setting an endpoint inactive fails its pending deliveries", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		ep := mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateWebhookEndpoint(ctx, models.Sandbox, ep.ID, models.WebhookInput{Active: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		page, err := s.ListDeliveries(ctx, models.Sandbox, models.DeliveryFilter{EndpointID: &ep.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || page.Items[0].Status != models.DeliveryFailed || page.Items[0].LastError != "endpoint set inactive" {
			t.Fatalf("got %+v", page.Items)
		}
		if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
		page, _ = s.ListDeliveries(ctx, models.Sandbox, models.DeliveryFilter{EndpointID: &ep.ID})
		if len(page.Items) != 1 {
			t.Fatalf("an inactive endpoint got %d deliveries, want the 1 from before", len(page.Items))
		}
	})
}
