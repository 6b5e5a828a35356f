package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// TokenRevoke stops a token from starting the widget; in PRODUCTION it asks first.
func (h *Handler) TokenRevoke(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	t, err := h.store.GetToken(ctx, m, c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	ok, err := h.confirmed(c, views.ConfirmView{
		Title:   "Revoke token " + t.ID + "?",
		Message: "The token will no longer start the widget for user " + t.UserID + ". A new one can be issued with Refresh token.",
		Button:  "Revoke token", Cancel: "/users/" + t.UserID,
	})
	if !ok {
		return err
	}
	t, err = h.store.RevokeToken(ctx, m, t.ID, actor(c))
	if err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditTokenRevoked, "user", t.UserID, "token "+t.ID)
	return c.Redirect("/users/"+url.PathEscape(t.UserID)+"?revoked="+url.QueryEscape(t.ID), fiber.StatusSeeOther)
}
