package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// OperatorPasswordReset gives another operator a new password, typed twice
// by an admin, and signs them out everywhere. An admin's own password is
// changed on the account page, which asks for the current one.
func (h *Handler) OperatorPasswordReset(c *fiber.Ctx) error {
	op, err := h.store.GetOperator(c.UserContext(), c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	if op.ID == session(c).OperatorID {
		return h.errorPage(c, fiber.StatusBadRequest, "Change your own password on your account page (/account): it asks for your current one.")
	}
	f := readPasswordForm(c)
	if errs := f.Validate(false); len(errs) > 0 {
		return h.renderOperator(c, fiber.StatusBadRequest, op.ID, views.OperatorView{ResetErrors: errs}, nil)
	}
	if err := h.store.SetOperatorPassword(c.UserContext(), op.ID, f.New, ""); err != nil {
		return h.fail(c, err, func(_, msg string) error {
			return h.renderOperator(c, fiber.StatusBadRequest, op.ID, views.OperatorView{
				ResetErrors: map[string]string{"new_password": sentence(msg)}}, nil)
		})
	}
	h.audit(c, models.AuditPasswordReset, "operator", op.ID, op.Email+": signed out everywhere")
	return h.redirectOnce(c, "/operators/"+op.ID, &views.Flash{Kind: "ok",
		Text: op.Email + " has a new password and was signed out everywhere. Share it with them safely."}, nil)
}
