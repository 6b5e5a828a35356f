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
// a time, and with "retrying" ticked also those still being retried. The
// first post only counts them and asks; the confirmed post runs. A disabled
// endpoint is enabled first, since nothing could be sent to it.
func (h *Handler) WebhookRecover(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	ep, err := h.store.GetWebhookEndpoint(ctx, m, c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	raw := c.FormValue("since")
	withRetrying := c.FormValue("retrying") == "yes"
	since, ok := parseWhen(raw)
	if !ok || since == nil {
		v, verr := h.webhookView(c, ep)
		if verr != nil {
			return h.fail(c, verr, nil)
		}
		v.RecoverSince, v.RecoverError, v.RecoverRetrying = raw, badWhen, withRetrying
		if since == nil && ok {
			v.RecoverError = "Say from when: failed deliveries created since this time are sent again."
		}
		return render(c, fiber.StatusBadRequest, views.WebhookShow(h.page(c, ep.Name, "webhooks"), v))
	}
	scope := models.RecoverScope{Since: *since, Retrying: withRetrying}
	n, err := h.store.CountRecoverableIn(ctx, m, ep.ID, scope)
	if err != nil {
		return h.fail(c, err, nil)
	}
	what := "failed"
	if withRetrying {
		what = "failed or retrying"
	}
	if n.Total() == 0 && c.FormValue("confirm") != "yes" {
		v, verr := h.webhookView(c, ep)
		if verr != nil {
			return h.fail(c, verr, nil)
		}
		v.RecoverSince, v.RecoverRetrying = formatWhen(*since), withRetrying
		p := h.page(c, ep.Name, "webhooks")
		p.Flash = &views.Flash{Kind: "info", Text: "No " + what + " delivery of this endpoint was created since " + views.ExactTime(*since) + ": nothing to recover."}
		return render(c, fiber.StatusOK, views.WebhookShow(p, v))
	}
	msg := fmt.Sprintf("%s of %s created since %s will be sent again to %s, each with a fresh retry schedule.",
		recoverCount(n), ep.Name, views.ExactTime(*since), ep.URL)
	if !ep.Deliverable() {
		msg += " The endpoint is enabled again first."
	}
	hidden := map[string]string{"since": formatWhen(*since)}
	if withRetrying {
		hidden["retrying"] = "yes"
	}
	ok, err = h.confirmed(c, views.ConfirmView{
		Title: fmt.Sprintf("Resend %s?", views.Plural(n.Total(), "delivery", "deliveries")), Message: msg,
		Button: "Resend " + views.Plural(n.Total(), "delivery", "deliveries"), Cancel: "/webhooks/" + ep.ID,
		Hidden: hidden,
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
	done, err := h.store.RecoverIn(ctx, m, ep.ID, scope, actor(c))
	if err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditFailedRecovered, "webhook", ep.ID,
		fmt.Sprintf("%s since %s queued again", recoverCount(done), models.FormatTime(*since)))
	return c.Redirect("/webhooks/"+ep.ID+"?recovered="+url.QueryEscape(strconv.Itoa(done.Total())), fiber.StatusSeeOther)
}

// recoverCount says how many of each state a recovery covers.
func recoverCount(n models.Recoverable) string {
	s := views.Plural(n.Failed, "failed delivery", "failed deliveries")
	if n.Retrying > 0 {
		s += " and " + views.Plural(n.Retrying, "retrying delivery", "retrying deliveries")
	}
	return s
}
