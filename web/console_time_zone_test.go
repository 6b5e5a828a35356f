package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tokendesk/models"
)

func TestOperatorsReadTimesInTheirZone(t *testing.T) {
	a := newConsoleApp(t)
	now := time.Date(2026, 7, 1, 22, 30, 0, 0, time.UTC)
	a.store.Now = func() time.Time { return now }
	b := a.signedIn(t, models.RoleSupport)
	abs := func() string {
		t.Helper()
		_, doc, _ := b.page("GET", "/account", nil)
		return strings.TrimSpace(doc.Find(`[data-testid=abs-time]`).First().Text())
	}
	if got := abs(); got != "1 Jul 22:30" {
		t.Fatalf("before choosing a zone the account page shows %q, want UTC's 1 Jul 22:30", got)
	}
	t.Run("a zone that is not one is refused beside the field, as typed", func(t *testing.T) {
		resp, doc, _ := b.post("/account/timezone", url.Values{"time_zone": {"Mars/Olympus"}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
		field := doc.Find(`[data-testid=time-zone-form] .field.invalid`)
		if !strings.Contains(field.Find(`[data-testid=field-error]`).Text(), "is not a time zone") {
			t.Fatalf("no error beside the field: %q", field.Text())
		}
		if v, _ := doc.Find(`[data-testid=time-zone]`).Attr("value"); v != "Mars/Olympus" {
			t.Fatalf("the form lost what was typed: %q", v)
		}
	})
	t.Run("a chosen zone applies to every page and is audited", func(t *testing.T) {
		if resp, _, _ := b.post("/account/timezone", url.Values{"time_zone": {"Asia/Tokyo"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if got := abs(); got != "2 Jul 07:30" {
			t.Fatalf("in Asia/Tokyo the account page shows %q, want 2 Jul 07:30", got)
		}
		page, _ := a.store.ListAudit(t.Context(), models.AuditFilter{Action: models.AuditTimeZoneChanged, Size: 5})
		if len(page.Items) != 1 || page.Items[0].Detail != "Asia/Tokyo" {
			t.Fatalf("audit %+v", page.Items)
		}
	})
}
