package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// AuditList shows the audit log, newest first.
func (h *Handler) AuditList(c *fiber.Ctx) error {
	cur, err := models.DecodeCursor(c.Query("cursor"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	page, err := h.store.ListAudit(c.UserContext(), models.AuditFilter{Size: 50, Cursor: cur})
	if err != nil {
		return h.fail(c, err, nil)
	}
	v := views.AuditView{Items: auditRows(page.Items)}
	if cur != nil {
		v.FirstURL = "/audit"
	}
	if page.NextCursor != "" {
		v.NextURL = "/audit?cursor=" + url.QueryEscape(page.NextCursor)
	}
	return render(c, fiber.StatusOK, views.Audit(h.page(c, "Audit log", "audit"), v))
}
