package console

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// WebhookRecover resends every failed delivery of an endpoint created since
// a time. The first post only counts them and asks; the confirmed post runs.
// A disabled endpoint is enabled first, since nothing could be sent to it.
func (h *Handler) WebhookRecover(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	ep, err := h.store.GetWebhookEndpoint(ctx, m, c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	raw := c.FormValue("since")
	since, ok := parseWhen(raw)
	if !ok || since == nil {
		v, verr := h.webhookView(c, ep)
		if verr != nil {
			return h.fail(c, verr, nil)
		}
		v.RecoverSince, v.RecoverError = raw, badWhen
		if since == nil && ok {
			v.RecoverError = "Say from when: failed deliveries created since this time are sent again."
		}
		return render(c, fiber.StatusBadRequest, views.WebhookShow(h.page(c, ep.Name, "webhooks"), v))
	}
	n, err := h.store.CountRecoverable(ctx, m, ep.ID, *since)
	if err != nil {
		return h.fail(c, err, nil)
	}
	if n == 0 && c.FormValue("confirm") != "yes" {
		v, verr := h.webhookView(c, ep)
		if verr != nil {
			return h.fail(c, verr, nil)
		}
		v.RecoverSince = formatWhen(*since)
		p := h.page(c, ep.Name, "webhooks")
		p.Flash = &views.Flash{Kind: "info", Text: "No failed delivery of this endpoint was created since " + views.ExactTime(*since) + ": nothing to recover."}
		return render(c, fiber.StatusOK, views.WebhookShow(p, v))
	}
	msg := fmt.Sprintf("%d failed deliveries of %s created since %s will be sent again to %s, each with a fresh retry schedule.",
		n, ep.Name, views.ExactTime(*since), ep.URL)
	if !ep.Deliverable() {
		msg += " The endpoint is enabled again first."
	}
	ok, err = h.confirmed(c, true, views.ConfirmView{
		Title: fmt.Sprintf("Resend %d failed deliveries?", n), Message: msg,
		Button: fmt.Sprintf("Resend %d deliveries", n), Cancel: "/webhooks/" + ep.ID,
		Hidden: map[string]string{"since": formatWhen(*since)},
	})
	if !ok {
		return err
	}
	if !ep.Deliverable() {
		if ep.DisabledAt != nil {
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
		h.audit(c, models.AuditWebhookEnabled, "webhook", ep.ID, "enabled to recover failed deliveries")
	}
	done, err := h.store.RecoverFailed(ctx, m, ep.ID, *since, actor(c))
	if err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditFailedRecovered, "webhook", ep.ID,
		fmt.Sprintf("%d failed deliveries since %s queued again", done, models.FormatTime(*since)))
	return c.Redirect("/webhooks/"+ep.ID+"?recovered="+url.QueryEscape(strconv.Itoa(done)), fiber.StatusSeeOther)
}
