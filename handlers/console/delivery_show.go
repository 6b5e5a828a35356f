package console

import (
	"sort"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// DeliveryShow shows one delivery with its event payload and every attempt
// as sent and as answered. It reloads itself while the delivery is pending.
func (h *Handler) DeliveryShow(c *fiber.Ctx) error {
	d, err := h.store.GetDelivery(c.UserContext(), mode(c), c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	dl, ep := &d.Delivery, &d.Endpoint
	v := views.DeliveryView{
		Row: deliveryRow(dl, ep.Name), EndpointURL: ep.URL, EndpointDeleted: ep.DeletedAt != nil,
		Payload: prettyJSON(d.Event.Payload), EventCreatedAt: d.Event.CreatedAt, CompletedAt: dl.CompletedAt,
		ManualPending: dl.ManualPending, ManualBy: dl.ManualBy, Live: dl.Status == models.DeliveryPending,
	}
	switch {
	case ep.DeletedAt != nil:
		v.ResendBlocked = "The endpoint was deleted, so this delivery cannot be resent."
	case ep.DisabledAt != nil:
		v.ResendBlocked = "The endpoint is disabled (" + ep.DisabledReason + "); enable it on its page to resend."
	case !ep.Active:
		v.ResendBlocked = "The endpoint is set inactive; enable it on its page to resend."
	case dl.ManualPending:
		v.ResendBlocked = "A resend is already on its way."
	}
	for i := range d.Attempts {
		a := &d.Attempts[i]
		v.Attempts = append(v.Attempts, views.AttemptView{
			Number: a.Number, Trigger: a.Trigger, TriggeredBy: a.TriggeredBy, URL: a.URL,
			RequestHeaders: sortedPairs(a.RequestHeaders), RequestBody: a.RequestBody,
			ResponseStatus: a.ResponseStatus, ResponseHeaders: sortedPairs(a.ResponseHeaders), ResponseBody: a.ResponseBody,
			DurationMS: a.DurationMS, Error: a.Error, StartedAt: a.StartedAt,
		})
	}
	p := h.page(c, "Delivery "+dl.ID, "deliveries")
	if v.Live {
		p.Refresh = liveRefreshSeconds
	}
	switch {
	case c.Query("resent") != "":
		p.Flash = &views.Flash{Kind: "ok", Text: "Resend queued: one manual attempt is sent within seconds, with the same event id."}
	case c.Query("test") != "":
		p.Flash = &views.Flash{Kind: "ok", Text: "Test event queued for this endpoint only; its attempt appears below within seconds."}
	}
	return render(c, fiber.StatusOK, views.DeliveryShow(p, v))
}

// sortedPairs lists headers by name, so attempts read the same every time.
func sortedPairs(m map[string]string) []views.Pair {
	out := make([]views.Pair, 0, len(m))
	for k, v := range m {
		out = append(out, views.Pair{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
