package console

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// TokenRefresh issues a new link token for the user and shows it once, on
// the user's page after the redirect.
func (h *Handler) TokenRefresh(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	u, err := h.store.GetUser(ctx, m, c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	tok, err := h.store.RefreshToken(ctx, m, u.ID, actor(c), 0)
	if err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditTokenRefreshed, "user", u.ID, "token "+tok.ID)
	return h.redirectOnce(c, "/users/"+url.PathEscape(u.ID)+"#"+tok.ID, nil,
		views.NewToken{ID: tok.ID, AccessToken: tok.AccessToken, ExpiresAt: tok.ExpiresAt})
}
