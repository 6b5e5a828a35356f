package console

import (
	"github.com/gofiber/fiber/v2"
)

// Static serves the embedded assets: content-hashed names for a year,
// stable names (the widget's /static/wink.js) for five minutes.
func (h *Handler) Static(c *fiber.Ctx) error {
	a, ok := h.assets.Lookup(c.Params("name"))
	if !ok {
		return fiber.ErrNotFound
	}
	if a.Immutable {
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else {
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	}
	c.Set(fiber.HeaderContentType, a.ContentType)
	return c.Send(a.Data)
}
