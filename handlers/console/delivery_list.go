package console

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

const deliveriesPageSize = 50

// DeliveryList is the delivery log: filters, newest first, keyset pages. It
// reloads itself while the page shows pending deliveries.
func (h *Handler) DeliveryList(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	v, f, err := h.deliveryFilter(c, c.Query)
	if err != nil {
		return h.fail(c, err, nil)
	}
	if f.Cursor, err = models.DecodeCursor(c.Query("cursor")); err != nil {
		return h.fail(c, err, nil)
	}
	p := h.page(c, "Delivery log", "deliveries")
	if len(v.Errors) > 0 {
		return render(c, fiber.StatusBadRequest, views.Deliveries(p, v))
	}
	page, err := h.store.ListDeliveries(ctx, m, f)
	if err != nil {
		return h.fail(c, err, nil)
	}
	if v.Items, err = h.deliveryRows(ctx, m, page.Items); err != nil {
		return h.fail(c, err, nil)
	}
	if v.Live = anyPending(v.Items); v.Live {
		p.Refresh = liveRefreshSeconds
	}
	v.FirstURL, v.NextURL = listURLs("/deliveries", filterQuery(v), f.Cursor, page.NextCursor)
	return render(c, fiber.StatusOK, views.Deliveries(p, v))
}

func hasOption(os []views.Option, value string) bool {
	for _, o := range os {
		if o.Value == value {
			return true
		}
	}
	return false
}

// deliveryFilter reads the delivery log's filters through get (the query
// string of the list, the form of a bulk action), with a message beside
// each box that is wrong. The endpoint choices are the mode's endpoints,
// and a deleted one when the filter names it.
func (h *Handler) deliveryFilter(c *fiber.Ctx, get func(string, ...string) string) (views.DeliveriesView, models.DeliveryFilter, error) {
	ctx, m := c.UserContext(), mode(c)
	v := views.DeliveriesView{
		Status: strings.ToUpper(strings.TrimSpace(get("status"))), EndpointID: strings.TrimSpace(get("endpoint")),
		EventType: strings.TrimSpace(get("type")), UserID: strings.TrimSpace(get("user")),
		From: strings.TrimSpace(get("from")), To: strings.TrimSpace(get("to")),
		Statuses: models.DeliveryFilterStatuses, EventTypes: models.EmittedEventTypes, Errors: map[string]string{},
	}
	v.Filtered = v.Status != "" || v.EndpointID != "" || v.EventType != "" || v.UserID != "" || v.From != "" || v.To != ""
	f := models.DeliveryFilter{Size: deliveriesPageSize}
	var err error
	if f.Status, err = models.ParseDeliveryStatus(v.Status); err != nil {
		v.Errors["status"] = "Choose PENDING, RETRYING, SUCCEEDED or FAILED."
	}
	if f.EventType, err = models.ParseEventType("type", v.EventType); err != nil {
		v.Errors["type"] = "Choose one of the contract's event types."
	}
	if v.EndpointID != "" {
		f.EndpointID = &v.EndpointID
	}
	if v.UserID != "" {
		if len(v.UserID) > 200 {
			v.Errors["user"] = "User ids are shorter than 200 characters."
		}
		f.UserID = &v.UserID
	}
	f.CreatedFrom, f.CreatedBefore = timeRange(v.From, v.To, v.Errors)
	eps, err := h.store.ListWebhookEndpoints(ctx, m, models.WebhookFilter{Size: models.MaxPageSize})
	if err != nil {
		return v, f, err
	}
	for _, ep := range eps.Items {
		v.Endpoints = append(v.Endpoints, views.Option{Value: ep.ID, Label: ep.Name})
	}
	if f.EndpointID != nil && !hasOption(v.Endpoints, v.EndpointID) {
		// A deleted endpoint (linked from an old delivery) still filters.
		names, err := h.store.EndpointNames(ctx, m, []string{v.EndpointID})
		if err != nil {
			return v, f, err
		}
		name, found := names[v.EndpointID]
		if !found {
			v.Errors["endpoint"] = "No endpoint of " + string(m) + " has this id."
		} else {
			v.Endpoints = append(v.Endpoints, views.Option{Value: v.EndpointID, Label: name + " (deleted)"})
		}
	}
	return v, f, nil
}

// filterQuery is the filters of v as a query string.
func filterQuery(v views.DeliveriesView) url.Values {
	return url.Values{"status": {v.Status}, "endpoint": {v.EndpointID}, "type": {v.EventType}, "user": {v.UserID}, "from": {v.From}, "to": {v.To}}
}
