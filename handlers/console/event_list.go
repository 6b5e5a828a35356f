package console

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

const eventsPageSize = 50

// EventList shows the mode's events, newest first, with filters.
func (h *Handler) EventList(c *fiber.Ctx) error {
	v := views.EventsView{
		Type: strings.TrimSpace(c.Query("type")), UserID: strings.TrimSpace(c.Query("user")),
		From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to")),
		EventTypes: models.EmittedEventTypes, Errors: map[string]string{},
	}
	v.Filtered = v.Type != "" || v.UserID != "" || v.From != "" || v.To != ""
	f := models.EventFilter{Size: eventsPageSize}
	var err error
	if f.Type, err = models.ParseEventType("type", v.Type); err != nil {
		v.Errors["type"] = "Choose one of the contract's event types."
	}
	if v.UserID != "" {
		if len(v.UserID) > 200 {
			v.Errors["user"] = "User ids are shorter than 200 characters."
		}
		f.UserID = &v.UserID
	}
	f.CreatedFrom, f.CreatedBefore = timeRange(v.From, v.To, v.Errors)
	if f.Cursor, err = models.DecodeCursor(c.Query("cursor")); err != nil {
		return h.fail(c, err, nil)
	}
	p := h.page(c, "Events", "events")
	if len(v.Errors) > 0 {
		return render(c, fiber.StatusBadRequest, views.Events(p, v))
	}
	page, err := h.store.ListEvents(c.UserContext(), mode(c), f)
	if err != nil {
		return h.fail(c, err, nil)
	}
	for _, e := range page.Items {
		v.Items = append(v.Items, views.EventListRow{ID: e.ID, Type: e.Type, UserID: e.UserID, Test: e.UserID == models.TestEventUserID, CreatedAt: e.CreatedAt})
	}
	q := url.Values{"type": {v.Type}, "user": {v.UserID}, "from": {v.From}, "to": {v.To}}
	v.FirstURL, v.NextURL = listURLs("/events", q, f.Cursor, page.NextCursor)
	return render(c, fiber.StatusOK, views.Events(p, v))
}

// EventShow shows an event's payload and its fan-out: one delivery per
// endpoint, with each one's status. It reloads while any is pending.
func (h *Handler) EventShow(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	e, err := h.store.GetEvent(ctx, m, c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	v := views.EventView{
		ID: e.Event.ID, Type: e.Event.Type, UserID: e.Event.UserID, Test: e.Event.UserID == models.TestEventUserID,
		CreatedAt: e.Event.CreatedAt, Payload: prettyJSON(e.Event.Payload),
	}
	if v.Deliveries, err = h.deliveryRows(ctx, m, e.Deliveries); err != nil {
		return h.fail(c, err, nil)
	}
	p := h.page(c, "Event "+e.Event.ID, "events")
	if v.Live = anyPending(v.Deliveries); v.Live {
		p.Refresh = liveRefreshSeconds
	}
	return render(c, fiber.StatusOK, views.EventShow(p, v))
}
