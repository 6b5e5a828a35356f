package api

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

// tokenJSON is the contract's Token object.
type tokenJSON struct {
	ID          string      `json:"id"`
	ExpiresAt   string      `json:"expiresAt"`
	Mode        models.Mode `json:"mode"`
	AccessToken string      `json:"accessToken"`
}

func toTokenJSON(t *models.IssuedToken) tokenJSON {
	return tokenJSON{ID: t.ID, ExpiresAt: models.FormatTime(t.ExpiresAt), Mode: t.Mode, AccessToken: t.AccessToken}
}

// RefreshToken serves POST /v1/tokens?userId=…: a new link token for every
// launch of the widget.
func (h *Handler) RefreshToken(c *fiber.Ctx) error {
	userID := c.Query("userId")
	concerns(c, userID)
	tok, err := h.Store.RefreshTokenWithKey(c.UserContext(), requestKey(c), userID)
	if err != nil {
		refusedKey(c, err)
		return err
	}
	return ok(c, models.CodeCreated, toTokenJSON(tok))
}
