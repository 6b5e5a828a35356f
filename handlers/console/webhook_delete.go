package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// WebhookDelete deletes an endpoint of the mode, after confirmation in
// either mode. Its deliveries stay in the log.
func (h *Handler) WebhookDelete(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	ep, err := h.store.GetWebhookEndpoint(ctx, m, c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	ok, err := h.confirmed(c, views.ConfirmView{
		Title:   "Delete endpoint " + ep.Name + "?",
		Message: "Nothing more is sent to " + ep.URL + ", and its pending deliveries fail now. Its delivery history stays in the log. This cannot be undone.",
		Button:  "Delete endpoint", Cancel: "/webhooks/" + ep.ID,
	})
	if !ok {
		return err
	}
	if err := h.store.DeleteWebhookEndpoint(ctx, m, ep.ID); err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditWebhookDeleted, "webhook", ep.ID, ep.Name+" → "+ep.URL)
	return h.redirectOnce(c, "/webhooks", &views.Flash{Kind: "ok", Text: "Endpoint " + ep.Name + " deleted."}, nil)
}

// WebhookEnable turns an endpoint back on: re-enables one the server
// disabled and sets it active. Failed deliveries stay failed until recovered.
func (h *Handler) WebhookEnable(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	ep, err := h.store.GetWebhookEndpoint(ctx, m, c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	detail := "set active"
	if ep.DisabledAt != nil {
		detail = "re-enabled after: " + ep.DisabledReason
		if _, err := h.store.RecoverEndpoint(ctx, m, ep.ID); err != nil {
			return h.fail(c, err, nil)
		}
	}
	if !ep.Active {
		active := true
		if _, err := h.store.UpdateWebhookEndpoint(ctx, m, ep.ID, models.WebhookInput{Active: &active}); err != nil {
			return h.fail(c, err, nil)
		}
	}
	h.audit(c, models.AuditWebhookEnabled, "webhook", ep.ID, detail)
	return c.Redirect("/webhooks/"+ep.ID+"?enabled=1", fiber.StatusSeeOther)
}
