package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

const sessionsShown = 200

// SessionList shows live sessions: the operator's own, or everyone's for an admin.
func (h *Handler) SessionList(c *fiber.Ctx) error {
	s := session(c)
	all := s.Operator.Role.AtLeast(models.RoleAdmin)
	owner := s.OperatorID
	if all {
		owner = ""
	}
	rows, err := h.store.ListLiveSessions(c.UserContext(), owner, sessionsShown)
	if err != nil {
		return h.fail(c, err, nil)
	}
	v := views.SessionsView{AllOps: all, Items: make([]views.SessionRow, len(rows))}
	for i, r := range rows {
		v.Items[i] = views.SessionRow{
			ID: r.ID, Email: r.Email, Mode: string(r.Mode), IP: r.IP, UserAgent: r.UserAgent,
			CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt, ExpiresAt: r.ExpiresAt, Current: r.ID == s.ID,
		}
	}
	return render(c, fiber.StatusOK, views.Sessions(h.page(c, "Sessions", "sessions"), v))
}

// SessionRevoke ends a session: one's own, or anyone's for an admin.
func (h *Handler) SessionRevoke(c *fiber.Ctx) error {
	s := session(c)
	owner := s.OperatorID
	if s.Operator.Role.AtLeast(models.RoleAdmin) {
		owner = ""
	}
	id := c.Params("id")
	if err := h.store.RevokeSession(c.UserContext(), id, owner); err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditSessionRevoked, "session", "", "session "+truncate(id, 12))
	if id == s.ID {
		h.clearSessionCookie(c)
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	return c.Redirect(localPath(c.FormValue("next"), "/sessions"), fiber.StatusSeeOther)
}
