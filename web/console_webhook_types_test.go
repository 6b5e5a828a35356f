package web

import (
	"net/http"
	"slices"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"tokendesk/models"
)

func TestEndpointFormOffersTheTypesTokendeskSends(t *testing.T) {
	a := newConsoleApp(t)
	b := a.signedIn(t, models.RoleDeveloper)
	boxes := func(doc *goquery.Document) (offered, checked []string) {
		doc.Find(`[data-testid=event-types] input[name=eventTypes]`).Each(func(_ int, s *goquery.Selection) {
			v, _ := s.Attr("value")
			offered = append(offered, v)
			if _, on := s.Attr("checked"); on {
				checked = append(checked, v)
			}
		})
		return offered, checked
	}
	_, doc, _ := b.page(http.MethodGet, "/webhooks/new", nil)
	if offered, _ := boxes(doc); !slices.Equal(offered, []string{models.EventAllEvents, models.EventUserCreated}) {
		t.Fatalf("a new endpoint is offered %v, want ALL_EVENTS and the types tokendesk sends", offered)
	}
	// An endpoint made through the API with another type of the contract
	// keeps it checked on its page, so saving the form does not drop it.
	name, url, active, secret := "CRM", "http://localhost:3000/hooks", true, "a secret"
	ep, err := a.store.CreateWebhookEndpoint(t.Context(), models.Sandbox, models.WebhookInput{
		Name: &name, URL: &url, Active: &active, Secret: &secret, EventTypes: []string{"USER_SESSION_COMPLETED"},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, doc, _ = b.page(http.MethodGet, "/webhooks/"+ep.ID, nil)
	offered, checked := boxes(doc)
	if !slices.Contains(offered, "USER_SESSION_COMPLETED") || !slices.Equal(checked, []string{"USER_SESSION_COMPLETED"}) {
		t.Fatalf("the endpoint's page offers %v with %v checked, want its own type kept and checked", offered, checked)
	}
}
