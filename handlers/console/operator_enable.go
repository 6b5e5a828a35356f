package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// OperatorEnable lets a disabled operator sign in again. Enabling takes
// nothing away from anyone, so it does not ask first.
func (h *Handler) OperatorEnable(c *fiber.Ctx) error {
	op, err := h.store.EnableOperator(c.UserContext(), c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditOperatorOn, "operator", op.ID, op.Email)
	return h.redirectOnce(c, "/operators/"+op.ID, &views.Flash{Kind: "ok", Text: op.Email + " is enabled and can sign in again."}, nil)
}
