package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// confirmed reports whether a destructive action may go ahead: in SANDBOX
// (unless always is set) or once the form says confirm=yes. Otherwise it
// renders the confirmation page, which posts the same form again.
func (h *Handler) confirmed(c *fiber.Ctx, always bool, v views.ConfirmView) (bool, error) {
	if c.FormValue("confirm") == "yes" || (!always && mode(c) != models.Production) {
		return true, nil
	}
	v.Action = c.Path()
	return false, render(c, fiber.StatusOK, views.Confirm(h.page(c, v.Title, ""), v))
}
