package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"tokendesk/models"
)

func TestBulkResendFromTheDeliveryLog(t *testing.T) {
	a := newConsoleApp(t)
	ctx := t.Context()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer recv.Close()
	name, u, secret, yes := "crm", recv.URL+"/hooks", "a-secret-of-some-length", true
	if _, err := a.store.CreateWebhookEndpoint(ctx, models.Sandbox, models.WebhookInput{Name: &name, URL: &u,
		EventTypes: []string{models.EventUserCreated}, Active: &yes, Secret: &secret}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := a.store.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
	}
	waitForDeliveries(t, a, models.DeliveryRetrying, 3)
	b := a.signedIn(t, models.RoleSupport)

	t.Run("the log offers a tick box per delivery and the bulk buttons", func(t *testing.T) {
		_, doc, _ := b.page(http.MethodGet, "/deliveries?status=RETRYING", nil)
		if n := doc.Find(`[data-testid=select-delivery]`).Length(); n != 3 {
			t.Fatalf("%d tick boxes, want 3", n)
		}
		if doc.Find(`[data-testid=bulk-resend] input[name=status][value=RETRYING]`).Length() != 1 {
			t.Fatal("the bulk form does not carry the filter")
		}
	})
	t.Run("resending everything matching says how many first", func(t *testing.T) {
		_, doc, _ := b.post("/deliveries/resend", url.Values{"scope": {"matching"}, "status": {"RETRYING"}})
		if got := doc.Find(`[data-testid=confirm]`).Text(); !strings.Contains(got, "Resend 3 deliveries?") || !strings.Contains(got, "status RETRYING") {
			t.Fatalf("confirm says %q", got)
		}
	})
	t.Run("ticked deliveries are counted as ticked", func(t *testing.T) {
		page, err := a.store.ListDeliveries(ctx, models.Sandbox, models.DeliveryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"scope": {"selected"}, "id": {page.Items[0].ID, page.Items[1].ID}}
		_, doc, _ := b.post("/deliveries/resend", form)
		if got := doc.Find(`[data-testid=confirm]`).Text(); !strings.Contains(got, "Resend 2 deliveries?") {
			t.Fatalf("confirm says %q", got)
		}
		if got := doc.Find(`[data-testid=confirm] input[name=ids]`).AttrOr("value", ""); got != page.Items[0].ID+","+page.Items[1].ID {
			t.Fatalf("the confirmation carries ids %q", got)
		}
	})
	t.Run("once confirmed they are queued, audited, and the log says so", func(t *testing.T) {
		resp, _, _ := b.post("/deliveries/resend", url.Values{"scope": {"matching"}, "status": {"RETRYING"}, "confirm": {"yes"}})
		if got, want := resp.Header.Get("Location"), "/deliveries?status=RETRYING"; resp.StatusCode != http.StatusSeeOther || got != want {
			t.Fatalf("status %d to %q, want a redirect to %q", resp.StatusCode, got, want)
		}
		_, doc, _ := b.page(http.MethodGet, resp.Header.Get("Location"), nil)
		if got := doc.Find(`[data-testid=flash]`).Text(); !strings.Contains(got, "3 deliveries queued again") {
			t.Fatalf("flash %q", got)
		}
		audit, err := a.store.ListAudit(ctx, models.AuditFilter{Action: models.AuditBulkResent})
		if err != nil || len(audit.Items) != 1 || !strings.Contains(audit.Items[0].Detail, "3 resent") {
			t.Fatalf("audit %+v, %v", audit, err)
		}
	})
	t.Run("nothing ticked says so", func(t *testing.T) {
		resp, _, _ := b.post("/deliveries/resend", url.Values{"scope": {"selected"}})
		_, doc, _ := b.page(http.MethodGet, resp.Header.Get("Location"), nil)
		if got := doc.Find(`[data-testid=flash]`).Text(); !strings.Contains(got, "Tick the deliveries") {
			t.Fatalf("flash %q", got)
		}
	})
}
