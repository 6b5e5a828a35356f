package api

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

// deliveryJSON is one event on its way to one endpoint.
type deliveryJSON struct {
	ID             string  `json:"id"`
	WebhookID      string  `json:"webhookId"`
	EventID        string  `json:"eventId"`
	EventType      string  `json:"eventType"`
	UserID         string  `json:"userId"`
	Status         string  `json:"status"`
	AttemptCount   int     `json:"attemptCount"`
	NextAttemptAt  *string `json:"nextAttemptAt"`
	LastStatusCode int     `json:"lastStatusCode"`
	LastError      string  `json:"lastError"`
	CreatedAt      string  `json:"createdAt"`
	UpdatedAt      string  `json:"updatedAt"`
	CompletedAt    *string `json:"completedAt"`
}

// attemptJSON is one try, as sent and as answered.
type attemptJSON struct {
	Number          int               `json:"number"`
	Trigger         string            `json:"trigger"`
	TriggeredBy     string            `json:"triggeredBy,omitempty"`
	URL             string            `json:"url"`
	RequestHeaders  map[string]string `json:"requestHeaders"`
	RequestBody     string            `json:"requestBody"`
	ResponseStatus  int               `json:"responseStatus"`
	ResponseHeaders map[string]string `json:"responseHeaders"`
	ResponseBody    string            `json:"responseBody"`
	DurationMS      int64             `json:"durationMs"`
	Error           string            `json:"error"`
	StartedAt       string            `json:"startedAt"`
}

// deliveryDetailJSON is a delivery with its event and every attempt.
type deliveryDetailJSON struct {
	deliveryJSON
	Event    json.RawMessage `json:"event"`
	Attempts []attemptJSON   `json:"attempts"`
}

func timePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := models.FormatTime(*t)
	return &s
}

func toDeliveryJSON(d *models.Delivery) deliveryJSON {
	return deliveryJSON{
		ID: d.ID, WebhookID: d.EndpointID, EventID: d.EventID, EventType: d.EventType, UserID: d.UserID,
		Status: d.Status, AttemptCount: d.AttemptCount, NextAttemptAt: timePtr(d.NextAttemptAt),
		LastStatusCode: d.LastStatusCode, LastError: d.LastError, CreatedAt: models.FormatTime(d.CreatedAt),
		UpdatedAt: models.FormatTime(d.UpdatedAt), CompletedAt: timePtr(d.CompletedAt),
	}
}

func toAttemptJSON(a *models.Attempt) attemptJSON {
	j := attemptJSON{
		Number: a.Number, Trigger: a.Trigger, TriggeredBy: a.TriggeredBy, URL: a.URL,
		RequestHeaders: a.RequestHeaders, RequestBody: a.RequestBody, ResponseStatus: a.ResponseStatus,
		ResponseHeaders: a.ResponseHeaders, ResponseBody: a.ResponseBody, DurationMS: a.DurationMS,
		Error: a.Error, StartedAt: models.FormatTime(a.StartedAt),
	}
	if j.RequestHeaders == nil {
		j.RequestHeaders = map[string]string{}
	}
	if j.ResponseHeaders == nil {
		j.ResponseHeaders = map[string]string{}
	}
	return j
}

// endpointOf checks that the webhook in the path exists in the request's mode.
func (h *Handler) endpointOf(c *fiber.Ctx) (*models.WebhookEndpoint, error) {
	return h.Store.GetWebhookEndpoint(c.UserContext(), mode(c), c.Params("id"))
}

// parseDeliveryListQuery reads the filters of GET /v1/webhooks/{id}/deliveries.
func parseDeliveryListQuery(q func(string) string) (models.DeliveryFilter, error) {
	var f models.DeliveryFilter
	var err error
	if f.Size, err = models.ParseSize(q("size")); err != nil {
		return f, err
	}
	if f.Cursor, err = models.DecodeCursor(q("cursor")); err != nil {
		return f, err
	}
	if f.Status, err = models.ParseDeliveryStatus(q("status")); err != nil {
		return f, err
	}
	if f.EventType, err = models.ParseEventType("eventType", q("eventType")); err != nil {
		return f, err
	}
	if u := strings.TrimSpace(q("userId")); u != "" {
		if len(u) > 200 {
			return f, models.FieldError("userId", "userId is longer than 200 characters")
		}
		f.UserID = &u
	}
	f.CreatedFrom, f.CreatedBefore, err = models.ParseDateRange(q("startDate"), q("endDate"))
	return f, err
}

// ListDeliveries serves GET /v1/webhooks/{id}/deliveries, newest first.
func (h *Handler) ListDeliveries(c *fiber.Ctx) error {
	ep, err := h.endpointOf(c)
	if err != nil {
		return err
	}
	f, err := parseDeliveryListQuery(func(k string) string { return c.Query(k) })
	if err != nil {
		return err
	}
	f.EndpointID = &ep.ID
	page, err := h.Store.ListDeliveries(c.UserContext(), mode(c), f)
	if err != nil {
		return err
	}
	items := make([]deliveryJSON, len(page.Items))
	for i := range page.Items {
		items[i] = toDeliveryJSON(&page.Items[i])
	}
	return ok(c, models.CodeOK, fiber.Map{"nextCursor": nullable(page.NextCursor), "items": items})
}

// deliveryOf loads the delivery in the path and checks it belongs to the webhook in the path.
func (h *Handler) deliveryOf(c *fiber.Ctx) (*models.DeliveryDetail, error) {
	ep, err := h.endpointOf(c)
	if err != nil {
		return nil, err
	}
	id := c.Params("deliveryId")
	d, err := h.Store.GetDelivery(c.UserContext(), mode(c), id)
	if err != nil {
		return nil, err
	}
	if d.Delivery.EndpointID != ep.ID {
		return nil, models.NotFound("delivery", id)
	}
	return d, nil
}

// GetDelivery serves GET /v1/webhooks/{id}/deliveries/{deliveryId}.
func (h *Handler) GetDelivery(c *fiber.Ctx) error {
	d, err := h.deliveryOf(c)
	if err != nil {
		return err
	}
	out := deliveryDetailJSON{deliveryJSON: toDeliveryJSON(&d.Delivery), Event: json.RawMessage(d.Event.Payload), Attempts: []attemptJSON{}}
	for i := range d.Attempts {
		out.Attempts = append(out.Attempts, toAttemptJSON(&d.Attempts[i]))
	}
	return ok(c, models.CodeOK, out)
}

// ResendDelivery serves POST /v1/webhooks/{id}/deliveries/{deliveryId}/resend:
// one more attempt now, with the same event id, whatever the status.
func (h *Handler) ResendDelivery(c *fiber.Ctx) error {
	d, err := h.deliveryOf(c)
	if err != nil {
		return err
	}
	updated, err := h.Store.ResendDelivery(c.UserContext(), mode(c), d.Delivery.ID, "api:"+requestKey(c).Key)
	if err != nil {
		return err
	}
	return ok(c, models.CodeOK, toDeliveryJSON(updated))
}

// recoverBody is the body of POST /v1/webhooks/{id}/recover.
type recoverBody struct {
	Since  string `json:"since"`
	DryRun bool   `json:"dryRun"`
	// IncludeRetrying also resends deliveries still being retried after a
	// failed attempt, at once instead of at their next scheduled try.
	IncludeRetrying bool `json:"includeRetrying"`
}

// parseSince reads a point in time given as RFC 3339 or as a YYYY-MM-DD day.
func parseSince(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, models.FieldError("since", "since is required: the time (RFC 3339) or day (YYYY-MM-DD) from which to resend failed deliveries")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, models.FieldError("since", "since must be an RFC 3339 time such as 2026-01-02T15:04:05Z or a day such as 2026-01-02, got %q", truncate(s, 40))
}

// RecoverWebhook serves POST /v1/webhooks/{id}/recover: resend every failed
// delivery of the endpoint since a time. With dryRun it only counts them,
// so a person can see what will be sent before it runs.
func (h *Handler) RecoverWebhook(c *fiber.Ctx) error {
	var in recoverBody
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Since == "" {
		in.Since = c.Query("since")
	}
	if !in.DryRun {
		if v := c.Query("dryRun"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return models.FieldError("dryRun", "dryRun must be true or false")
			}
			in.DryRun = b
		}
	}
	since, err := parseSince(in.Since)
	if err != nil {
		return err
	}
	ep, err := h.endpointOf(c)
	if err != nil {
		return err
	}
	if in.DryRun {
		n, err := h.Store.CountRecoverableIn(c.UserContext(), mode(c), ep.ID, models.RecoverScope{Since: since, Retrying: in.IncludeRetrying})
		if err != nil {
			return err
		}
		return ok(c, models.CodeOK, fiber.Map{"since": models.FormatTime(since), "dryRun": true, "count": n.Total()})
	}
	if !ep.Deliverable() {
		if ep, err = h.Store.RecoverEndpoint(c.UserContext(), mode(c), ep.ID); err != nil {
			return err
		}
	}
	n, err := h.Store.RecoverIn(c.UserContext(), mode(c), ep.ID, models.RecoverScope{Since: since, Retrying: in.IncludeRetrying}, "api:"+requestKey(c).Key)
	if err != nil {
		return err
	}
	return ok(c, models.CodeOK, fiber.Map{"since": models.FormatTime(since), "dryRun": false, "count": n.Total()})
}
