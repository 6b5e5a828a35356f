package console

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// DeliveryResendBulk resends, from the delivery log, either the deliveries
// ticked on the page (scope=selected) or every one the filters match
// (scope=matching, up to models.BulkResendLimit). The first post counts
// them and asks; the confirmed post resends in batches that leave the
// dispatcher room, audits it, and returns to the same filtered log. Support
// may do it, as they may resend one.
func (h *Handler) DeliveryResendBulk(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	v, f, err := h.deliveryFilter(c, c.FormValue)
	if err != nil {
		return h.fail(c, err, nil)
	}
	back := "/deliveries"
	q := filterQuery(v)
	for k, vs := range q {
		if vs[0] == "" {
			q.Del(k)
		}
	}
	if enc := q.Encode(); enc != "" {
		back += "?" + enc
	}
	if len(v.Errors) > 0 {
		return h.errorPage(c, fiber.StatusBadRequest, "The filters of the delivery log are not right; go back and correct them.")
	}
	scope := c.FormValue("scope")
	var ids []string
	more := false
	switch scope {
	case "selected":
		// Ticked boxes arrive as repeated id fields; the confirmation
		// page carries them on as one comma-separated field.
		for _, raw := range append(formValues(c, "id"), strings.Split(c.FormValue("ids"), ",")...) {
			if id := strings.TrimSpace(raw); models.LooksLikeObjectID(id) && len(ids) < models.MaxPageSize {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return h.redirectOnce(c, back, &views.Flash{Kind: "warn", Text: "Tick the deliveries to resend first, or resend everything that matches the filters."}, nil)
		}
	case "matching":
		if ids, more, err = h.store.MatchingDeliveryIDs(ctx, m, f, models.BulkResendLimit); err != nil {
			return h.fail(c, err, nil)
		}
		if len(ids) == 0 {
			return h.redirectOnce(c, back, &views.Flash{Kind: "info", Text: "No delivery matches these filters: nothing to resend."}, nil)
		}
	default:
		return h.errorPage(c, fiber.StatusBadRequest, "Say what to resend: the ticked deliveries or everything that matches.")
	}
	what := views.Plural(len(ids), "delivery", "deliveries")
	msg := "The ticked " + what + " are sent once more, each with the same event id, as soon as the dispatcher has room."
	if scope == "matching" {
		msg = fmt.Sprintf("%s match %s. Each is sent once more, with the same event id, in batches that leave room for new deliveries.", what, describeFilter(v))
		if more {
			msg += fmt.Sprintf(" Only the newest %d are resent at once; narrow the filters for the rest.", models.BulkResendLimit)
		}
	}
	hidden := map[string]string{"scope": scope}
	for k, vs := range filterQuery(v) {
		if vs[0] != "" {
			hidden[k] = vs[0]
		}
	}
	if scope == "selected" {
		hidden["ids"] = strings.Join(ids, ",")
	}
	ok, err := h.confirmed(c, views.ConfirmView{
		Title: "Resend " + what + "?", Message: msg, Button: "Resend " + what, Cancel: back, Hidden: hidden,
	})
	if !ok {
		return err
	}
	res, err := h.store.ResendDeliveries(ctx, m, ids, actor(c))
	if err != nil {
		return h.fail(c, err, nil)
	}
	detail := fmt.Sprintf("%d resent, %d skipped; %s", res.Queued, res.Skipped, scope)
	if scope == "matching" {
		detail += " " + describeFilter(v)
	}
	h.audit(c, models.AuditBulkResent, "deliveries", "", detail)
	text := views.Plural(res.Queued, "delivery", "deliveries") + " queued again; they are sent within seconds."
	if res.Skipped > 0 {
		text += " " + views.Plural(res.Skipped, "delivery was", "deliveries were") + " skipped: their endpoint cannot receive (deleted, disabled or inactive)."
	}
	return h.redirectOnce(c, back, &views.Flash{Kind: "ok", Text: text}, nil)
}

// describeFilter says in words what the delivery log's filters select.
func describeFilter(v views.DeliveriesView) string {
	var parts []string
	for _, p := range []struct{ name, val string }{
		{"status", v.Status}, {"endpoint", v.EndpointID}, {"type", v.EventType}, {"user", v.UserID}, {"from", v.From}, {"before", v.To},
	} {
		if p.val != "" {
			parts = append(parts, p.name+" "+p.val)
		}
	}
	if len(parts) == 0 {
		return "no filter (every delivery of the mode)"
	}
	return "the filters " + strings.Join(parts, ", ")
}

// formValues is every value of a repeated form field.
func formValues(c *fiber.Ctx, name string) []string {
	var out []string
	if form, err := c.MultipartForm(); err == nil && form != nil {
		return form.Value[name]
	}
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		if string(k) == name {
			out = append(out, string(v))
		}
	})
	return out
}
