package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

const keyRequestsShown = 25

// KeyShow is one API key of the mode with its newest requests from the
// request log.
func (h *Handler) KeyShow(c *fiber.Ctx) error {
	ctx, m, id := c.UserContext(), mode(c), c.Params("id")
	keys, err := h.store.ListAPIKeys(ctx, m)
	if err != nil {
		return h.fail(c, err, nil)
	}
	var key *models.APIKey
	for i := range keys {
		if keys[i].ID == id {
			key = &keys[i]
		}
	}
	if key == nil {
		return h.fail(c, models.NotFound("API key", id), nil)
	}
	page, err := h.store.ListAPIRequests(ctx, m, models.APIRequestFilter{APIKeyID: &key.ID, Size: keyRequestsShown})
	if err != nil {
		return h.fail(c, err, nil)
	}
	v := views.KeyView{
		Key: views.KeyRow{ID: key.ID, Name: key.Name, Key: key.Key, CreatedBy: key.CreatedBy, CreatedAt: key.CreatedAt,
			LastUsedAt: key.LastUsedAt, RevokedAt: key.RevokedAt},
		Requests: requestRows(page.Items), More: page.NextCursor != "",
	}
	return render(c, fiber.StatusOK, views.KeyShow(h.page(c, "API key "+key.Name, "keys"), v))
}
