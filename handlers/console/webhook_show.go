package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// webhookRecentShown is how many deliveries the endpoint page lists.
const webhookRecentShown = 10

// WebhookShow shows one endpoint of the mode: health, settings, secret,
// actions and its newest deliveries.
func (h *Handler) WebhookShow(c *fiber.Ctx) error {
	ep, err := h.store.GetWebhookEndpoint(c.UserContext(), mode(c), c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	v, err := h.webhookView(c, ep)
	if err != nil {
		return h.fail(c, err, nil)
	}
	if s, ok := onceSecret[shownSecret](h, c); ok && s.EndpointID == ep.ID {
		v.Secret, v.SecretRotated = s.Secret, s.Rotated
	}
	p := h.page(c, ep.Name, "webhooks")
	switch {
	case c.Query("created") != "":
		p.Flash = &views.Flash{Kind: "ok", Text: "Endpoint created. Events from now on are sent to it; send a test event to check the receiver."}
	case c.Query("saved") != "":
		p.Flash = &views.Flash{Kind: "ok", Text: "Changes saved."}
	case c.Query("enabled") != "":
		p.Flash = &views.Flash{Kind: "ok", Text: "Endpoint enabled: new events are delivered to it again. Failed deliveries stay failed until you recover them below."}
	case c.Query("recovered") != "":
		if n, err := strconv.Atoi(c.Query("recovered")); err == nil && n >= 0 {
			p.Flash = &views.Flash{Kind: "ok", Text: strconv.Itoa(n) + " failed deliveries queued again. They are sent within seconds."}
		}
	}
	return render(c, fiber.StatusOK, views.WebhookShow(p, v))
}

// webhookView gathers the endpoint page; the edit form holds the current values.
func (h *Handler) webhookView(c *fiber.Ctx, ep *models.WebhookEndpoint) (views.WebhookView, error) {
	ctx, m := c.UserContext(), mode(c)
	row, err := h.webhookRow(ctx, m, ep)
	if err != nil {
		return views.WebhookView{}, err
	}
	v := views.WebhookView{
		Row: row, IncludePayload: ep.IncludePayload, UpdatedAt: ep.UpdatedAt,
		Form: webhookForm{Name: ep.Name, URL: ep.URL, EventTypes: ep.EventTypes, Active: ep.Active, IncludePayload: ep.IncludePayload,
			RateLimit: limitText(ep.RateLimit), MaxInFlight: limitText(ep.MaxInFlight)}.view(ep.ID, nil),
		RecoverSince: formatWhen(h.store.Now().Add(-models.HealthWindow)),
	}
	if ep.PreviousSecret != "" {
		v.PreviousSecretUntil = ep.PreviousSecretUntil
	}
	page, err := h.store.ListDeliveries(ctx, m, models.DeliveryFilter{EndpointID: &ep.ID, Size: webhookRecentShown})
	if err != nil {
		return v, err
	}
	if v.Recent, err = h.deliveryRows(ctx, m, page.Items); err != nil {
		return v, err
	}
	return v, nil
}
