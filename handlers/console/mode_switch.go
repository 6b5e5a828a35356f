package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

// ModeSwitch changes the mode this session sees, then returns to the section.
func (h *Handler) ModeSwitch(c *fiber.Ctx) error {
	m, err := models.ParseMode(c.FormValue("mode"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	s := session(c)
	if m != s.Mode {
		if err := h.store.SetSessionMode(c.UserContext(), s.ID, m); err != nil {
			return h.fail(c, err, nil)
		}
		from := s.Mode
		s.Mode = m
		h.audit(c, models.AuditModeSwitched, "session", "", string(from)+" → "+string(m))
	}
	return c.Redirect(localPath(c.FormValue("next"), "/"), fiber.StatusSeeOther)
}
