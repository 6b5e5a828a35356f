package console

import (
	"context"
	"fmt"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

const webhooksPageSize = 25

// WebhookList shows the mode's endpoints with their health.
func (h *Handler) WebhookList(c *fiber.Ctx) error {
	return h.renderWebhookList(c, h.page(c, "Webhooks", "webhooks"), nil)
}

func (h *Handler) renderWebhookList(c *fiber.Ctx, p views.Page, flash *views.Flash) error {
	ctx, m := c.UserContext(), mode(c)
	cur, err := models.DecodeCursor(c.Query("cursor"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	page, err := h.store.ListWebhookEndpoints(ctx, m, models.WebhookFilter{Size: webhooksPageSize, Cursor: cur})
	if err != nil {
		return h.fail(c, err, nil)
	}
	v := views.WebhooksView{}
	for i := range page.Items {
		row, err := h.webhookRow(ctx, m, &page.Items[i])
		if err != nil {
			return h.fail(c, err, nil)
		}
		v.Items = append(v.Items, row)
	}
	v.FirstURL, v.NextURL = listURLs("/webhooks", url.Values{}, cur, page.NextCursor)
	if flash != nil {
		p.Flash = flash
	}
	return render(c, fiber.StatusOK, views.Webhooks(p, v))
}

// webhookRow is an endpoint with its health over the last day.
func (h *Handler) webhookRow(ctx context.Context, m models.Mode, ep *models.WebhookEndpoint) (views.WebhookRow, error) {
	hl, err := h.store.WebhookHealth(ctx, m, ep.ID)
	if err != nil {
		return views.WebhookRow{}, err
	}
	row := views.WebhookRow{
		ID: ep.ID, Name: ep.Name, URL: ep.URL, EventTypes: ep.EventTypes, Active: ep.Active,
		DisabledAt: ep.DisabledAt, DisabledReason: ep.DisabledReason, FailingSince: ep.FailingSince, CreatedAt: ep.CreatedAt,
		Health: views.WebhookHealth{
			Succeeded: hl.Succeeded, Failed: hl.Failed, Retrying: hl.Retrying, Pending: hl.Pending, Capped: hl.Capped,
			LastSuccessAt: hl.LastSuccessAt, LastFailureAt: hl.LastFailureAt,
		},
	}
	if rate, ok := hl.SuccessRate(); ok {
		row.Health.Rate = fmt.Sprintf("%.1f%%", rate)
	}
	return row, nil
}
