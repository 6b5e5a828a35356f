package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/views"
)

// RequestShow is one API request in full: who sent it, what it asked (the
// body of a write, secrets redacted) and the answer's status, code and
// message, as the customer saw it.
func (h *Handler) RequestShow(c *fiber.Ctx) error {
	r, err := h.store.GetAPIRequest(c.UserContext(), mode(c), c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	v := views.RequestView{Row: requestRow(r), ErrorMessage: r.ErrorMessage, Body: prettyJSON(r.RequestBody), IP: r.IP}
	return render(c, fiber.StatusOK, views.RequestShow(h.page(c, "API request "+r.ID, "requests"), v))
}
