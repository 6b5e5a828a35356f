package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// OperatorTwoFactorReset removes another operator's second factor, for one
// who lost their device and their recovery codes. Their sessions end too:
// whoever holds the device may be signed in as them.
func (h *Handler) OperatorTwoFactorReset(c *fiber.Ctx) error {
	ctx := c.UserContext()
	op, err := h.store.GetOperator(ctx, c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	if op.ID == session(c).OperatorID {
		return h.errorPage(c, fiber.StatusConflict, "Turn your own two-factor sign-in off on your account page.")
	}
	ok, err := h.confirmed(c, views.ConfirmView{
		Title:   "Reset two-factor sign-in of " + op.Email + "?",
		Message: "They sign in with their password alone and set it up again; their sessions end now.",
		Button:  "reset two-factor sign-in", Cancel: "/operators/" + op.ID,
	})
	if !ok || err != nil {
		return err
	}
	removed, err := h.store.TurnOffTwoFactor(ctx, op.ID)
	if err != nil {
		return h.fail(c, err, nil)
	}
	if _, err := h.store.RevokeOperatorSessions(ctx, op.ID); err != nil {
		return h.fail(c, err, nil)
	}
	flash := &views.Flash{Kind: "ok", Text: op.Email + " signs in with their password alone now and was signed out everywhere."}
	if !removed {
		flash = &views.Flash{Kind: "info", Text: op.Email + " did not use two-factor sign-in."}
	} else {
		h.audit(c, models.AuditTwoFactorReset, "operator", op.ID, op.Email)
	}
	return h.redirectOnce(c, "/operators/"+op.ID, flash, nil)
}

// TwoFactorRequire turns "everyone must use two-factor sign-in" on or off.
// Operators without it are sent to set it up on their next request.
func (h *Handler) TwoFactorRequire(c *fiber.Ctx) error {
	on := c.FormValue("required") == "true"
	if err := h.store.RequireTwoFactor(c.UserContext(), on); err != nil {
		return h.fail(c, err, nil)
	}
	detail, text := "not required", "Two-factor sign-in is optional again."
	if on {
		detail, text = "required for everyone", "Two-factor sign-in is required: everyone without it sets it up on their next page."
	}
	h.audit(c, models.AuditTwoFactorRequired, "settings", models.SettingRequireTwoFactor, detail)
	return h.redirectOnce(c, "/operators", &views.Flash{Kind: "ok", Text: text}, nil)
}
