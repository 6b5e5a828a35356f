package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/views"
)

// AccountShow shows the signed-in operator their account and the form to
// change their password. Every role has one.
func (h *Handler) AccountShow(c *fiber.Ctx) error {
	return h.renderAccount(c, fiber.StatusOK, nil, nil)
}

func (h *Handler) renderAccount(c *fiber.Ctx, status int, errs map[string]string, flash *views.Flash) error {
	op := session(c).Operator
	p := h.page(c, "Your account", "account")
	if flash != nil {
		p.Flash = flash
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return render(c, status, views.Account(p, views.AccountView{
		Email: op.Email, Role: string(op.Role), CreatedAt: op.CreatedAt, LastLoginAt: op.LastLoginAt, Errors: errs,
		TimeZone: timeZoneShown(op.TimeZone, c.FormValue("time_zone"), errs), TimeZones: commonTimeZones,
	}))
}
