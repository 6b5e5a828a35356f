package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

// WebhookTestEvent sends one test USER_CREATED event to one endpoint and
// opens its delivery, which refreshes itself until the receiver answered.
func (h *Handler) WebhookTestEvent(c *fiber.Ctx) error {
	ev, d, err := h.store.CreateTestEvent(c.UserContext(), mode(c), c.Params("id"), actor(c))
	if err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditTestEventSent, "webhook", d.EndpointID, "test event "+ev.ID+", delivery "+d.ID)
	return c.Redirect("/deliveries/"+d.ID+"?test=1", fiber.StatusSeeOther)
}
