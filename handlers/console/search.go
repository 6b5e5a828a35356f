package console

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// Search takes anything from a support ticket and lands on its page; when
// several things match it lists them with what matched, and when nothing
// does it says what the text was tried as.
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
	case models.FoundRequest:
		return c.Redirect("/requests/"+url.PathEscape(r.ID), fiber.StatusSeeOther)
	case models.FoundRawToken:
		return h.inspect(c, r.ID)
	case models.FoundSeveral:
		v.Message = "Several users have a metadata value equal to this, in any letter case:"
		if r.Prefix {
			v.Message = "No metadata value equals this; these start with it:"
		}
		if r.More {
			v.Message += " (the first " + strconv.Itoa(len(r.Hits)) + "; narrow the text to see others)"
		}
		for _, hit := range r.Hits {
			v.Hits = append(v.Hits, views.SearchHit{What: "User", Href: "/users/" + url.PathEscape(hit.ID), ID: hit.ID, Field: hit.Field, Value: hit.Value})
		}
	case models.FoundOtherMode:
		v.Message = "This " + string(r.OtherKind) + " exists, but in " + string(r.OtherMode) + ", not in " + string(mode(c)) + "."
		v.OtherMode = string(r.OtherMode)
	default:
		v.Message = "Nothing in " + string(mode(c)) + " matches."
		v.Tried = r.Tried
	}
	return render(c, fiber.StatusOK, views.Search(p, v))
}
