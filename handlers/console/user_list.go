package console

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

const usersPageSize = 25

// UserList shows the mode's users, newest first, with filters and a cursor.
func (h *Handler) UserList(c *fiber.Ctx) error {
	v := views.UsersView{
		From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to")),
		Value: c.Query("value"), Errors: map[string]string{},
	}
	v.Filtered = v.From != "" || v.To != "" || v.Value != ""
	f := models.UserFilter{Size: usersPageSize}
	var err error
	if f.CreatedFrom, err = models.ParseDate("from", v.From); err != nil {
		v.Errors["from"] = "Use a date like 2025-01-31."
	}
	to, err := models.ParseDate("to", v.To)
	if err != nil {
		v.Errors["to"] = "Use a date like 2025-01-31."
	} else if to != nil {
		before := to.Add(24 * time.Hour) // "until" includes the whole day
		f.CreatedBefore = &before
		if f.CreatedFrom != nil && !f.CreatedFrom.Before(before) {
			v.Errors["to"] = "The end date is before the start date."
		}
	}
	if v.Value != "" {
		if len(v.Value) > models.MaxMetadataValueLen {
			v.Errors["value"] = "Metadata values are at most 500 characters."
		}
		f.MetadataValue = &v.Value
	}
	if f.Cursor, err = models.DecodeCursor(c.Query("cursor")); err != nil {
		return h.fail(c, err, nil)
	}
	p := h.page(c, "Users", "users")
	if len(v.Errors) > 0 {
		return render(c, fiber.StatusBadRequest, views.UsersList(p, v))
	}
	page, err := h.store.ListUsers(c.UserContext(), mode(c), f)
	if err != nil {
		return h.fail(c, err, nil)
	}
	v.Items = userRows(page.Items)
	q := url.Values{}
	for k, val := range map[string]string{"from": v.From, "to": v.To, "value": v.Value} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if f.Cursor != nil {
		v.FirstURL = "/users?" + q.Encode()
	}
	if page.NextCursor != "" {
		q.Set("cursor", page.NextCursor)
		v.NextURL = "/users?" + q.Encode()
	}
	return render(c, fiber.StatusOK, views.UsersList(p, v))
}
