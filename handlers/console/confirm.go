package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// confirmed reports whether a destructive action may go ahead: once the
// form says confirm=yes. Otherwise it renders the confirmation page, which
// posts the same form again. Both modes ask: a SANDBOX endpoint deleted by
// a slip is a customer's test setup gone.
func (h *Handler) confirmed(c *fiber.Ctx, v views.ConfirmView) (bool, error) {
	if c.FormValue("confirm") == "yes" {
		return true, nil
	}
	v.Action = c.Path()
	return false, render(c, fiber.StatusOK, views.Confirm(h.page(c, v.Title, ""), v))
}

// confirmedInProduction asks first only in PRODUCTION: for actions that
// take nothing away and are safe to repeat (a resend), where a SANDBOX
// question would only slow testing down.
func (h *Handler) confirmedInProduction(c *fiber.Ctx, v views.ConfirmView) (bool, error) {
	if mode(c) != models.Production {
		return true, nil
	}
	return h.confirmed(c, v)
}
