package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tokendesk/models"
)

// waitForDeliveries polls until n deliveries of mode show status, or fails.
func waitForDeliveries(t *testing.T, a *App, status string, n int) {
	t.Helper()
	for range 250 {
		page, err := a.store.ListDeliveries(t.Context(), models.Sandbox, models.DeliveryFilter{Status: &status})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) == n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("never saw %d %s deliveries", n, status)
}

func TestConsoleShowsRetryingDeliveriesAsFailing(t *testing.T) {
	a := newConsoleApp(t)
	ctx := t.Context()
	// A real receiver that is down (503) until it is fixed.
	var fixed atomic.Bool
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fixed.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer recv.Close()
	name, u, secret, yes := "crm", recv.URL+"/hooks", "a-secret-of-some-length", true
	ep, err := a.store.CreateWebhookEndpoint(ctx, models.Sandbox, models.WebhookInput{Name: &name, URL: &u,
		EventTypes: []string{models.EventUserCreated}, Active: &yes, Secret: &secret})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := a.store.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
	}
	waitForDeliveries(t, a, models.DeliveryRetrying, 3)
	b := a.signedIn(t, models.RoleAdmin)

	t.Run("the delivery log filters and marks them retrying", func(t *testing.T) {
		_, doc, _ := b.page(http.MethodGet, "/deliveries?status=retrying", nil)
		rows := doc.Find(`[data-testid="delivery-row"][data-status="RETRYING"]`)
		if got, want := rows.Length(), 3; got != want {
			t.Fatalf("%d retrying rows, want %d", got, want)
		}
		if !strings.Contains(rows.First().Text(), "RETRYING") {
			t.Fatalf("row %q has no RETRYING badge", rows.First().Text())
		}
		if doc.Find(`select[name=status] option[value=RETRYING]`).Length() != 1 {
			t.Fatal("the status filter does not offer RETRYING")
		}
		if got := doc.Find(`select[name=type] option`).Length(); got != 1+len(models.EmittedEventTypes) {
			t.Fatalf("the type filter offers %d choices, want Any and the types this server emits", got)
		}
	})
	t.Run("the dashboard counts them as failing", func(t *testing.T) {
		_, doc, _ := b.page(http.MethodGet, "/", nil)
		stat := doc.Find(`[data-testid="stat-failed"]`)
		if got := strings.TrimSpace(stat.Find(".value").Text()); got != "3" {
			t.Fatalf("failing 24 h shows %q, want 3", got)
		}
		if !strings.Contains(stat.Text(), "3 retrying") {
			t.Fatalf("stat %q does not say 3 retrying", stat.Text())
		}
		if got := doc.Find(`[data-testid="stat-failing-endpoints"]`).Text(); !strings.Contains(got, "of 1 endpoint") || strings.Contains(got, "1 endpoints") {
			t.Fatalf("failing endpoints say %q, want \"of 1 endpoint\"", got)
		}
	})
	t.Run("the endpoint list counts them as failing", func(t *testing.T) {
		_, doc, _ := b.page(http.MethodGet, "/webhooks", nil)
		if got := doc.Find(`[data-testid="health-retrying"]`).Text(); !strings.Contains(got, "3 retrying") {
			t.Fatalf("health says %q", got)
		}
		if got := doc.Find(`[data-testid="success-rate"]`).Text(); got != "0.0%" {
			t.Fatalf("success rate %q, want 0.0%%", got)
		}
	})
	t.Run("recover can include them and the endpoint keeps its last failure", func(t *testing.T) {
		fixed.Store(true)
		form := url.Values{"since": {"2000-01-01T00:00"}, "retrying": {"yes"}}
		_, doc, _ := b.post("/webhooks/"+ep.ID+"/recover", form)
		if got := doc.Find(`[data-testid="confirm"]`).Text(); !strings.Contains(got, "3 retrying deliveries") {
			t.Fatalf("confirm says %q", got)
		}
		form.Set("confirm", "yes")
		if resp, _, _ := b.post("/webhooks/"+ep.ID+"/recover", form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", resp.StatusCode)
		}
		waitForDeliveries(t, a, models.DeliverySucceeded, 3)
		_, doc, _ = b.page(http.MethodGet, "/webhooks", nil)
		last := doc.Find(`[data-testid="webhook-row"] [data-testid="last-failure"] time`)
		if _, ok := last.Attr("datetime"); !ok {
			t.Fatalf("the endpoint's last failure is gone after recovery: %q", doc.Find(`[data-testid="webhook-row"]`).Text())
		}
	})
}
