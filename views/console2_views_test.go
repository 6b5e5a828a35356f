package views

import (
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
)

func TestConsole2PagesKeepTheRules(t *testing.T) {
	all := Perms{CreateUsers: true, RefreshToken: true, RevokeTokens: true, Keys: true, Operators: true, Endpoints: true, Resend: true}
	support := Perms{RefreshToken: true, Resend: true}
	next := now.Add(60e9)
	row := WebhookRow{ID: "e1", Name: "<b>crm</b>", URL: "https://x.test/h", EventTypes: []string{"USER_CREATED"}, Active: true, CreatedAt: now}
	dl := DeliveryListRow{ID: "d1", EventID: "v1", EventType: "USER_CREATED", UserID: "acme-1", EndpointID: "e1", Endpoint: "crm", Status: "PENDING", Attempts: 1, LastCode: 500, NextAttemptAt: &next, CreatedAt: now}
	form := WebhookFormView{ID: "e1", Name: "crm", URL: "https://x.test/h", AllTypes: []string{"USER_CREATED", "ALL_EVENTS"}, EventTypes: []string{"USER_CREATED"}}
	attempt := AttemptView{Number: 1, Trigger: "AUTOMATIC", URL: "https://x.test/h", RequestHeaders: []Pair{{"Smile-Signature", "ab"}}, RequestBody: "{}", ResponseStatus: 500, ResponseBody: "<i>no</i>", StartedAt: now}
	pages := []struct {
		name string
		page func(Page) templ.Component
		// testids that only an operator allowed to change endpoints sees
		endpointOnly []string
	}{
		{"the endpoint list", func(p Page) templ.Component { return Webhooks(p, WebhooksView{Items: []WebhookRow{row}}) }, []string{"new-webhook"}},
		{"the endpoint page", func(p Page) templ.Component {
			return WebhookShow(p, WebhookView{Row: row, Form: form, Recent: []DeliveryListRow{dl}})
		}, []string{"webhook-form", "reveal-secret", "rotate-form", "recover-form", "send-test", "delete-webhook"}},
		{"the new endpoint form", func(p Page) templ.Component { return WebhookNew(p, form) }, nil},
		{"the delivery log", func(p Page) templ.Component {
			return Deliveries(p, DeliveriesView{Items: []DeliveryListRow{dl}, Live: true})
		}, nil},
		{"the delivery page", func(p Page) templ.Component {
			return DeliveryShow(p, DeliveryView{Row: dl, Payload: "{}", Attempts: []AttemptView{attempt}, Live: true})
		}, nil},
		{"the event list", func(p Page) templ.Component {
			return Events(p, EventsView{Items: []EventListRow{{ID: "v1", Type: "USER_CREATED", CreatedAt: now}}})
		}, nil},
		{"the event page", func(p Page) templ.Component {
			return EventShow(p, EventView{ID: "v1", Deliveries: []DeliveryListRow{dl}})
		}, nil},
		{"the operator page", func(p Page) templ.Component {
			return OperatorShow(p, OperatorView{Row: OperatorRow{ID: "o1", Email: "s@x.test", Role: "support"}, Sessions: []SessionRow{{ID: "s1", Mode: "SANDBOX"}}})
		}, nil},
		{"the account page", func(p Page) templ.Component {
			return Account(p, AccountView{Email: "s@x.test", Role: "support", CreatedAt: now, Errors: map[string]string{"new_password": "too short"}})
		}, nil},
		{"the audit log", func(p Page) templ.Component {
			return Audit(p, AuditView{Items: []AuditRow{{Action: "delivery_resent", TargetType: "delivery", Target: "d1"}}})
		}, nil},
	}
	for _, pg := range pages {
		t.Run(pg.name+" has CSRF on every form and no inline style or script", func(t *testing.T) {
			p := page("SANDBOX", all)
			p.Refresh = 3
			doc := renderDoc(t, pg.page(p))
			doc.Find("form[method=post]").Each(func(_ int, f *goquery.Selection) {
				if v, _ := f.Find(`input[name=_csrf]`).Attr("value"); v != "tok" {
					t.Errorf("a POST form to %s has no CSRF token", f.AttrOr("action", "?"))
				}
			})
			if doc.Find(`[style]`).Length() != 0 || doc.Find(`script:not([src])`).Length() != 0 {
				t.Error("inline style or script: the CSP forbids them")
			}
			if got, _ := doc.Find(`meta[name=tokendesk-refresh]`).Attr("content"); got != "3" {
				t.Errorf("meta refresh %q, want 3", got)
			}
		})
		t.Run(pg.name+" hides endpoint changes from support", func(t *testing.T) {
			doc := renderDoc(t, pg.page(page("SANDBOX", support)))
			for _, id := range pg.endpointOnly {
				if doc.Find(`[data-testid=`+id+`]`).Length() != 0 {
					t.Errorf("support sees %s", id)
				}
			}
			if doc.Find(`meta[name=tokendesk-refresh]`).Length() != 0 {
				t.Error("a page without pending work refreshes itself")
			}
		})
	}
	t.Run("a delivery's response body is shown as text", func(t *testing.T) {
		doc := renderDoc(t, DeliveryShow(page("SANDBOX", support), DeliveryView{Row: dl, Attempts: []AttemptView{attempt}}))
		if doc.Find(`[data-testid=response-body] i`).Length() != 0 || doc.Find(`[data-testid=response-body]`).Text() != "<i>no</i>" {
			t.Error("the response body was rendered as HTML")
		}
		if doc.Find(`[data-testid=resend]`).Length() != 1 {
			t.Error("support has no resend button")
		}
	})
}
