package web

import (
	"net/url"
	"strings"
	"testing"

	"tokendesk/models"
)

func TestConsoleWebhookLimits(t *testing.T) {
	a := newConsoleApp(t)
	b := a.signedIn(t, models.RoleDeveloper)
	form := func(rate, inFlight string) url.Values {
		return url.Values{"name": {"Limited"}, "url": {"http://127.0.0.1:9/hook"}, "eventTypes": {"USER_CREATED"},
			"active": {"true"}, "rateLimit": {rate}, "maxInFlight": {inFlight}}
	}
	t.Run("a limit that is not a number comes back beside its box, typed values kept", func(t *testing.T) {
		resp, doc, _ := b.post("/webhooks", form("fast", "7"))
		if resp.StatusCode != 400 {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
		if msg := doc.Find(`#wh-rate`).Parent().Text(); !strings.Contains(msg, "whole number") {
			t.Errorf("no message beside the rate box: %q", msg)
		}
		if v, _ := doc.Find(`#wh-rate`).Attr("value"); v != "fast" {
			t.Errorf("rate box holds %q, want what was typed", v)
		}
		if v, _ := doc.Find(`#wh-inflight`).Attr("value"); v != "7" {
			t.Errorf("in-flight box holds %q, want what was typed", v)
		}
		if v, _ := doc.Find(`#wh-name`).Attr("value"); v != "Limited" {
			t.Errorf("name box holds %q", v)
		}
	})
	t.Run("a limit out of range is refused by the store's rule", func(t *testing.T) {
		resp, doc, _ := b.post("/webhooks", form("5", "5000"))
		if resp.StatusCode != 400 || !strings.Contains(doc.Find(`#wh-inflight`).Parent().Text(), "1000") {
			t.Fatalf("status %d; message %q", resp.StatusCode, doc.Find(`#wh-inflight`).Parent().Text())
		}
	})
	t.Run("limits are saved and shown on the endpoint's form", func(t *testing.T) {
		resp, _, _ := b.post("/webhooks", form("5", "3"))
		if resp.StatusCode != 200 && resp.StatusCode != 303 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		page, err := a.store.ListWebhookEndpoints(t.Context(), models.Sandbox, models.WebhookFilter{})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("endpoints: %v %v", page, err)
		}
		ep := page.Items[0]
		if ep.RateLimit != 5 || ep.MaxInFlight != 3 {
			t.Fatalf("stored limits %d/s, %d at once; want 5 and 3", ep.RateLimit, ep.MaxInFlight)
		}
		_, doc, _ := b.page("GET", "/webhooks/"+ep.ID, nil)
		if v, _ := doc.Find(`#wh-rate`).Attr("value"); v != "5" {
			t.Errorf("rate box on the endpoint page holds %q, want 5", v)
		}
	})
}
