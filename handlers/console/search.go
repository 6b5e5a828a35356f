package console

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// Search takes anything from a support ticket and lands on its page.
func (h *Handler) Search(c *fiber.Ctx) error {
	q := strings.TrimSpace(c.Query("q"))
	if q == "" {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	r, err := h.store.Search(c.UserContext(), mode(c), q)
	if err != nil {
		return h.fail(c, err, nil)
	}
	p := h.page(c, "Search", "")
	p.Search = q
	v := views.SearchView{Query: q}
	switch r.Kind {
	case models.FoundUser:
		return c.Redirect("/users/"+url.PathEscape(r.ID), fiber.StatusSeeOther)
	case models.FoundToken:
		// Tokens are listed on their user's page.
		return c.Redirect("/users/"+url.PathEscape(r.UserID)+"?highlight="+url.QueryEscape(r.ID)+"#"+r.ID, fiber.StatusSeeOther)
	case models.FoundEvent:
		return c.Redirect("/events/"+url.PathEscape(r.ID), fiber.StatusSeeOther)
	case models.FoundDelivery:
		return c.Redirect("/deliveries/"+url.PathEscape(r.ID), fiber.StatusSeeOther)
	case models.FoundEndpoint:
		return c.Redirect("/webhooks/"+url.PathEscape(r.ID), fiber.StatusSeeOther)
	case models.FoundRawToken:
		return h.inspect(c, q)
	case models.FoundMetadata:
		v.Message = "Several users have this metadata value:"
		v.Users = r.Users
		if len(r.Users) > 5 {
			v.Users = r.Users[:5]
			v.Message = "More than five users have this metadata value; the first five:"
		}
		v.Message += " (see all under Users with the metadata filter)"
	case models.FoundOtherMode:
		v.Message = "This " + string(r.OtherKind) + " exists, but in " + string(r.OtherMode) + ", not in " + string(mode(c)) + "."
		v.OtherMode = string(r.OtherMode)
	default:
		v.Message = "Nothing in " + string(mode(c)) + " matches: no user, token, event, delivery or endpoint has this id, and no user has this metadata value."
	}
	return render(c, fiber.StatusOK, views.Search(p, v))
}
