package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// DeliveryResend makes one more, manual attempt of a delivery with the same
// event id, whatever its status. Support may do this: it is how they answer
// "we never got the webhook". In PRODUCTION it asks first.
func (h *Handler) DeliveryResend(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	d, err := h.store.GetDelivery(ctx, m, c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	ok, err := h.confirmedInProduction(c, views.ConfirmView{
		Title: "Resend delivery " + d.Delivery.ID + "?",
		Message: "The " + d.Delivery.EventType + " event " + d.Delivery.EventID + " is sent once more to " + d.Endpoint.URL +
			", with the same event id, so a receiver that already has it can tell.",
		Button: "Resend", Cancel: "/deliveries/" + d.Delivery.ID,
	})
	if !ok {
		return err
	}
	if _, err := h.store.ResendDelivery(ctx, m, d.Delivery.ID, actor(c)); err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditDeliveryResent, "delivery", d.Delivery.ID,
		d.Delivery.EventType+" to "+d.Endpoint.Name+" (was "+d.Delivery.Status+")")
	return c.Redirect("/deliveries/"+d.Delivery.ID+"?resent=1", fiber.StatusSeeOther)
}
