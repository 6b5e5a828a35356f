package console

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// WebhookSecretReveal shows an endpoint's signing secret once, on a page no
// cache keeps, and records who looked.
func (h *Handler) WebhookSecretReveal(c *fiber.Ctx) error {
	ep, err := h.store.GetWebhookEndpoint(c.UserContext(), mode(c), c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditSecretRevealed, "webhook", ep.ID, ep.Name)
	return h.redirectOnce(c, "/webhooks/"+ep.ID, nil, shownSecret{EndpointID: ep.ID, Secret: ep.Secret})
}

// WebhookSecretRotate gives the endpoint a new secret (the one typed, or a
// generated one). The old secret keeps signing for 24 hours; in PRODUCTION
// that asks first, since the receiver must switch within that time.
func (h *Handler) WebhookSecretRotate(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	ep, err := h.store.GetWebhookEndpoint(ctx, m, c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	newSecret := c.FormValue("secret")
	again := func(msg string) error {
		v, verr := h.webhookView(c, ep)
		if verr != nil {
			return h.fail(c, verr, nil)
		}
		v.RotateError = msg
		return render(c, fiber.StatusBadRequest, views.WebhookShow(h.page(c, ep.Name, "webhooks"), v))
	}
	if strings.TrimSpace(newSecret) == "" && newSecret != "" {
		return again("A secret of only spaces is too easy to get wrong; type one or leave the box empty.")
	}
	// The confirmation page carries a typed secret: no cache may keep it.
	c.Set(fiber.HeaderCacheControl, "no-store")
	ok, err := h.confirmed(c, views.ConfirmView{
		Title:   "Rotate the secret of " + ep.Name + "?",
		Message: "Requests are signed with the new secret and, for the next 24 hours, also with the current one. The receiver must switch to the new secret within 24 hours.",
		Button:  "Rotate secret", Cancel: "/webhooks/" + ep.ID, Hidden: map[string]string{"secret": newSecret},
	})
	if !ok {
		return err
	}
	updated, err := h.store.RotateWebhookSecret(ctx, m, ep.ID, newSecret)
	if err != nil {
		return h.fail(c, err, func(_, msg string) error { return again(sentence(msg)) })
	}
	h.audit(c, models.AuditSecretRotated, "webhook", ep.ID, ep.Name+"; the old secret signs until "+models.FormatTime(*updated.PreviousSecretUntil))
	return h.redirectOnce(c, "/webhooks/"+ep.ID, nil, shownSecret{EndpointID: ep.ID, Secret: updated.Secret, Rotated: true})
}

// shownSecret is an endpoint's secret on its way to the page after the
// redirect, shown there once.
type shownSecret struct {
	EndpointID, Secret string
	Rotated            bool
}
