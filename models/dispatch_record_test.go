package models_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// outcome is one attempt's result as the dispatcher hands it over.
func outcome(s *models.Store, c *models.Claim, status int, retryAt *time.Time) models.AttemptResult {
	return models.AttemptResult{
		Claim: c, Succeeded: status >= 200 && status < 300, Gone: status == 410, RetryAt: retryAt,
		Attempt: models.Attempt{DeliveryID: c.Delivery.ID, Mode: c.Delivery.Mode, Number: c.Number,
			Trigger: c.Trigger, TriggeredBy: c.TriggeredBy, URL: c.Endpoint.URL, ResponseStatus: status,
			RequestHeaders: map[string]string{"Webhook-Id": c.Delivery.EventID, "X-Quote": `"q" \ é`},
			RequestBody:    string(c.Payload), ResponseBody: "answer\x00with a NUL and \"quotes\"",
			ResponseHeaders: map[string]string{"Content-Type": "text/plain"}, StartedAt: s.Now(), DurationMS: 3},
	}
}

// TestRecordRound records several attempts in one round, as the dispatcher
// does, and checks each delivery ends where it would have had the attempts
// been recorded one by one.
func TestRecordRound(t *testing.T) {
	ctx := context.Background()
	later := time.Now().Add(time.Hour)

	setup := func(t *testing.T, users int) (*models.Store, []models.Claim) {
		t.Helper()
		s := modelstest.MustOpenStore(t)
		s.Now = steppingClock(time.Millisecond)
		mustCreateEndpoint(t, s, models.Sandbox, "http://localhost/a")
		for range users {
			if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
				t.Fatal(err)
			}
		}
		return s, claimAll(t, s, "w")
	}
	delivery := func(t *testing.T, s *models.Store, id string) *models.DeliveryDetail {
		t.Helper()
		d, err := s.GetDelivery(ctx, models.Sandbox, id)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	t.Run("every outcome of a round is settled and every attempt kept whole", func(t *testing.T) {
		s, claims := setup(t, 3)
		round := []models.AttemptResult{
			outcome(s, &claims[0], 200, nil), outcome(s, &claims[1], 500, &later), outcome(s, &claims[2], 500, nil),
		}
		if err := s.RecordAttempts(ctx, "w", round); err != nil {
			t.Fatal(err)
		}
		want := []string{models.DeliverySucceeded, models.DeliveryPending, models.DeliveryFailed}
		for i, c := range claims {
			d := delivery(t, s, c.Delivery.ID)
			if d.Delivery.Status != want[i] || d.Delivery.AttemptCount != 1 || d.Delivery.LeaseOwner != "" {
				t.Fatalf("delivery %d: got %+v, want %s after one attempt, lease given back", i, d.Delivery, want[i])
			}
			if len(d.Attempts) != 1 {
				t.Fatalf("delivery %d: %d attempts, want 1", i, len(d.Attempts))
			}
			a, sent := d.Attempts[0], round[i].Attempt
			// A NUL is stored as U+FFFD: PostgreSQL's text refuses it, and
			// both databases keep the same.
			if a.RequestBody != sent.RequestBody || a.ResponseBody != strings.ReplaceAll(sent.ResponseBody, "\x00", "\uFFFD") ||
				a.RequestHeaders["X-Quote"] != sent.RequestHeaders["X-Quote"] || a.ResponseStatus != sent.ResponseStatus ||
				a.DurationMS != 3 || a.Trigger != models.TriggerAutomatic || a.Number != 1 {
				t.Fatalf("delivery %d: attempt stored as %+v, sent %+v", i, a, sent)
			}
		}
		if d := delivery(t, s, claims[1].Delivery.ID); d.Delivery.NextAttemptAt == nil || !d.Delivery.NextAttemptAt.Equal(later.Truncate(time.Millisecond)) {
			t.Fatalf("retry: got %v, want %v", d.Delivery.NextAttemptAt, later)
		}
	})

	t.Run("a round over several endpoints notes the last success of those that had one, and fails the one that answered 410", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		s.Now = steppingClock(time.Millisecond)
		var eps []string
		for _, u := range []string{"http://localhost/a", "http://localhost/b", "http://localhost/c"} {
			eps = append(eps, mustCreateEndpoint(t, s, models.Sandbox, u).ID)
		}
		if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
		claims := claimAll(t, s, "w")
		if len(claims) != 3 {
			t.Fatalf("%d claims, want one per endpoint", len(claims))
		}
		status := map[string]int{eps[0]: 200, eps[1]: 410, eps[2]: 204}
		var round []models.AttemptResult
		for i := range claims {
			round = append(round, outcome(s, &claims[i], status[claims[i].Delivery.EndpointID], nil))
		}
		if err := s.RecordAttempts(ctx, "w", round); err != nil {
			t.Fatal(err)
		}
		var succeeded, disabled []string
		if err := s.W.Raw("SELECT id FROM webhook_endpoints WHERE last_success_at IS NOT NULL ORDER BY id").Scan(&succeeded).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.W.Raw("SELECT id FROM webhook_endpoints WHERE disabled_at IS NOT NULL").Scan(&disabled).Error; err != nil {
			t.Fatal(err)
		}
		want := []string{eps[0], eps[2]}
		slices.Sort(want)
		if !slices.Equal(succeeded, want) {
			t.Errorf("endpoints with a last success %v, want %v", succeeded, want)
		}
		if !slices.Equal(disabled, []string{eps[1]}) {
			t.Errorf("endpoints disabled %v, want %v", disabled, eps[1:2])
		}
	})
	t.Run("outcomes before a 410 in the same round are settled before the endpoint is disabled", func(t *testing.T) {
		s, claims := setup(t, 4)
		round := []models.AttemptResult{outcome(s, &claims[0], 200, nil), outcome(s, &claims[1], 500, &later),
			outcome(s, &claims[2], 410, &later)}
		if err := s.RecordAttempts(ctx, "w", round); err != nil {
			t.Fatal(err)
		}
		if d := delivery(t, s, claims[0].Delivery.ID); d.Delivery.Status != models.DeliverySucceeded {
			t.Fatalf("the success: got %s, want SUCCEEDED", d.Delivery.Status)
		}
		// The retry was scheduled, counting its attempt, then given up
		// with the endpoint.
		if d := delivery(t, s, claims[1].Delivery.ID); d.Delivery.Status != models.DeliveryFailed ||
			d.Delivery.AutoAttempts != 1 || d.Delivery.AttemptCount != 1 {
			t.Fatalf("the failure before the 410: got %+v, want FAILED after one automatic attempt", d.Delivery)
		}
		for _, c := range claims[2:] { // the 410 itself, and the one still in flight
			if d := delivery(t, s, c.Delivery.ID); d.Delivery.Status != models.DeliveryFailed {
				t.Fatalf("after the 410: got %s, want FAILED", d.Delivery.Status)
			}
		}
		// An attempt in flight when the endpoint was disabled that got
		// through still counts: the receiver has the event.
		if err := s.RecordAttempts(ctx, "w", []models.AttemptResult{outcome(s, &claims[3], 200, nil)}); err != nil {
			t.Fatal(err)
		}
		if d := delivery(t, s, claims[3].Delivery.ID); d.Delivery.Status != models.DeliverySucceeded || len(d.Attempts) != 1 {
			t.Fatalf("in flight: got %s with %d attempts, want SUCCEEDED with 1", d.Delivery.Status, len(d.Attempts))
		}
	})

	t.Run("a delivery taken over by another process is left to it", func(t *testing.T) {
		s, claims := setup(t, 2)
		if _, err := s.ReleaseLeases(ctx, "w", []string{claims[1].Delivery.ID}); err != nil {
			t.Fatal(err)
		}
		other := claimAll(t, s, "x")
		if len(other) != 1 {
			t.Fatalf("takeover claimed %d, want 1", len(other))
		}
		round := []models.AttemptResult{outcome(s, &claims[0], 200, nil), outcome(s, &claims[1], 200, nil)}
		if err := s.RecordAttempts(ctx, "w", round); err != nil {
			t.Fatal(err)
		}
		d := delivery(t, s, claims[1].Delivery.ID)
		if d.Delivery.Status != models.DeliveryPending || d.Delivery.LeaseOwner != "x" || len(d.Attempts) != 1 {
			t.Fatalf("got %+v with %d attempts, want still x's and pending, the attempt logged", d.Delivery, len(d.Attempts))
		}
		if d := delivery(t, s, claims[0].Delivery.ID); d.Delivery.Status != models.DeliverySucceeded {
			t.Fatalf("the other delivery: got %s, want SUCCEEDED", d.Delivery.Status)
		}
	})

	t.Run("attempts without a claim at hand mix with held ones in one round", func(t *testing.T) {
		s, claims := setup(t, 3)
		loose := outcome(s, &claims[1], 200, nil)
		loose.Claim = nil
		round := []models.AttemptResult{outcome(s, &claims[0], 500, &later), loose, outcome(s, &claims[2], 200, nil)}
		if err := s.RecordAttempts(ctx, "w", round); err != nil {
			t.Fatal(err)
		}
		want := []string{models.DeliveryPending, models.DeliverySucceeded, models.DeliverySucceeded}
		for i, c := range claims {
			if d := delivery(t, s, c.Delivery.ID); d.Delivery.Status != want[i] {
				t.Fatalf("delivery %d: got %s, want %s", i, d.Delivery.Status, want[i])
			}
		}
	})

	t.Run("a body that is the event's payload is stored once, with the event, and read back whole", func(t *testing.T) {
		s, claims := setup(t, 2)
		other := outcome(s, &claims[1], 200, nil)
		other.Attempt.RequestBody = `{"not":"the payload"}`
		if err := s.RecordAttempts(ctx, "w", []models.AttemptResult{outcome(s, &claims[0], 200, nil), other}); err != nil {
			t.Fatal(err)
		}
		for i, want := range []struct {
			stored, read string
		}{{"", string(claims[0].Payload)}, {other.Attempt.RequestBody, other.Attempt.RequestBody}} {
			var stored string
			if err := s.R.Raw(`SELECT request_body FROM attempts WHERE delivery_id = ?`, claims[i].Delivery.ID).Row().Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if stored != want.stored {
				t.Errorf("delivery %d: attempt row holds %q, want %q", i, stored, want.stored)
			}
			if got := delivery(t, s, claims[i].Delivery.ID).Attempts[0].RequestBody; got != want.read || got == "" {
				t.Errorf("delivery %d: attempt reads back %q, want %q", i, got, want.read)
			}
		}
	})

	t.Run("the same delivery twice in a round keeps both attempts and the last outcome", func(t *testing.T) {
		s, claims := setup(t, 1)
		first, second := outcome(s, &claims[0], 500, &later), outcome(s, &claims[0], 200, nil)
		if err := s.RecordAttempts(ctx, "w", []models.AttemptResult{first, second}); err != nil {
			t.Fatal(err)
		}
		d := delivery(t, s, claims[0].Delivery.ID)
		if len(d.Attempts) != 2 || d.Delivery.AttemptCount != 1 {
			t.Fatalf("got %d attempts, count %d; want both attempts logged, the second after the lease went back", len(d.Attempts), d.Delivery.AttemptCount)
		}
	})
}
