package widget

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/views"
)

// Demo serves GET /demo: a public page, served only with --demo, that shows
// the least code a customer needs and runs it against this server. It asks
// for a token instead of issuing one, so enabling it exposes nothing.
func (h *Handler) Demo(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return views.WidgetDemo(views.WidgetDemoPage{Origin: c.BaseURL()}).Render(c.UserContext(), c.Response().BodyWriter())
}
