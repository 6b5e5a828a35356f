package console

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// WebhookUpdate saves the endpoint form. Turning an endpoint inactive fails
// its pending deliveries, so in PRODUCTION that asks first.
func (h *Handler) WebhookUpdate(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	ep, err := h.store.GetWebhookEndpoint(ctx, m, c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	f := parseWebhookForm(c)
	again := func(errs map[string]string) error {
		v, verr := h.webhookView(c, ep)
		if verr != nil {
			return h.fail(c, verr, nil)
		}
		v.Form = f.view(ep.ID, errs)
		return render(c, fiber.StatusBadRequest, views.WebhookShow(h.page(c, ep.Name, "webhooks"), v))
	}
	if errs := f.Validate(h.store, m, false); len(errs) > 0 {
		return again(errs)
	}
	if ep.Active && !f.Active {
		ok, err := h.confirmed(c, views.ConfirmView{
			Title:   "Set " + ep.Name + " inactive?",
			Message: "Nothing more is sent to " + ep.URL + ", and its pending deliveries fail now. You can recover them after enabling it again.",
			Button:  "Set inactive", Cancel: "/webhooks/" + ep.ID, Hidden: f.hidden(),
		})
		if !ok {
			return err
		}
	}
	updated, err := h.store.UpdateWebhookEndpoint(ctx, m, ep.ID, f.input(false))
	if err != nil {
		return h.fail(c, err, func(field, msg string) error { return again(map[string]string{field: sentence(msg)}) })
	}
	h.audit(c, models.AuditWebhookUpdated, "webhook", ep.ID, changes(ep, updated))
	return c.Redirect("/webhooks/"+ep.ID+"?saved=1", fiber.StatusSeeOther)
}

// hidden carries the form through the confirmation page.
func (f webhookForm) hidden() map[string]string {
	out := map[string]string{"name": f.Name, "url": f.URL, "rateLimit": f.RateLimit, "maxInFlight": f.MaxInFlight}
	if f.Active {
		out["active"] = "true"
	}
	if f.IncludePayload {
		out["includePayload"] = "true"
	}
	// The confirm page has one hidden input per key; event types are joined
	// and split again by parseWebhookForm's fallback.
	out["eventTypesJoined"] = strings.Join(f.EventTypes, ",")
	return out
}

// changes says in words what an edit changed, for the audit log.
func changes(before, after *models.WebhookEndpoint) string {
	var out []string
	if before.Name != after.Name {
		out = append(out, "name “"+before.Name+"” → “"+after.Name+"”")
	}
	if before.URL != after.URL {
		out = append(out, "url "+before.URL+" → "+after.URL)
	}
	if strings.Join(before.EventTypes, ",") != strings.Join(after.EventTypes, ",") {
		out = append(out, "event types "+strings.Join(before.EventTypes, ",")+" → "+strings.Join(after.EventTypes, ","))
	}
	if before.Active != after.Active {
		if after.Active {
			out = append(out, "set active")
		} else {
			out = append(out, "set inactive")
		}
	}
	if before.RateLimit != after.RateLimit {
		out = append(out, fmt.Sprintf("rate limit %d → %d a second", before.RateLimit, after.RateLimit))
	}
	if before.MaxInFlight != after.MaxInFlight {
		out = append(out, fmt.Sprintf("in-flight limit %d → %d", before.MaxInFlight, after.MaxInFlight))
	}
	if before.IncludePayload != after.IncludePayload {
		out = append(out, "include payload "+boolWord(after.IncludePayload))
	}
	if len(out) == 0 {
		return "no change"
	}
	return strings.Join(out, "; ")
}

func boolWord(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
