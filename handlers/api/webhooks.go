package api

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

// webhookJSON is the contract's Webhook object, plus why the server
// disabled it, when it did.
type webhookJSON struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	URL            string   `json:"url"`
	EventTypes     []string `json:"eventTypes"`
	Active         bool     `json:"active"`
	Secret         string   `json:"secret"`
	IncludePayload bool     `json:"includePayload"`
	RateLimit      int      `json:"rateLimit"`
	MaxInFlight    int      `json:"maxInFlight"`
	CreatedAt      string   `json:"createdAt"`
	UpdatedAt      string   `json:"updatedAt"`
	DisabledAt     *string  `json:"disabledAt"`
	DisabledReason string   `json:"disabledReason,omitempty"`
}

func toWebhookJSON(e *models.WebhookEndpoint) webhookJSON {
	j := webhookJSON{
		// Active tells whether deliveries go out: an endpoint the server
		// disabled is not active, whatever its owner last set.
		ID: e.ID, Name: e.Name, URL: e.URL, EventTypes: e.EventTypes, Active: e.Active && e.DisabledAt == nil, Secret: e.Secret,
		RateLimit: e.RateLimit, MaxInFlight: e.MaxInFlight,
		IncludePayload: e.IncludePayload, CreatedAt: models.FormatTime(e.CreatedAt), UpdatedAt: models.FormatTime(e.UpdatedAt),
		DisabledReason: e.DisabledReason,
	}
	if j.EventTypes == nil {
		j.EventTypes = []string{}
	}
	if e.DisabledAt != nil {
		s := models.FormatTime(*e.DisabledAt)
		j.DisabledAt = &s
	}
	return j
}

// webhookBody is the body of POST and PATCH /v1/webhooks; absent fields are nil.
type webhookBody struct {
	Name           *string  `json:"name"`
	URL            *string  `json:"url"`
	EventTypes     []string `json:"eventTypes"`
	Active         *bool    `json:"active"`
	IncludePayload *bool    `json:"includePayload"`
	Secret         *string  `json:"secret"`
	RateLimit      *int     `json:"rateLimit"`
	MaxInFlight    *int     `json:"maxInFlight"`
}

func parseWebhookBody(contentType string, body []byte) (models.WebhookInput, error) {
	var in webhookBody
	if err := decodeJSONBody(contentType, body, &in); err != nil {
		return models.WebhookInput{}, err
	}
	return models.WebhookInput{Name: in.Name, URL: in.URL, EventTypes: in.EventTypes, Active: in.Active,
		IncludePayload: in.IncludePayload, Secret: in.Secret, RateLimit: in.RateLimit, MaxInFlight: in.MaxInFlight}, nil
}

// CreateWebhook serves POST /v1/webhooks. The contract answers it with 200.
func (h *Handler) CreateWebhook(c *fiber.Ctx) error {
	if len(c.Body()) == 0 {
		return models.FieldError("body", "the request body must be a JSON object with name, url, eventTypes, active and secret")
	}
	in, err := parseWebhookBody(c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	ep, err := h.Store.CreateWebhookEndpoint(c.UserContext(), mode(c), in)
	if err != nil {
		return err
	}
	return ok(c, models.CodeOK, toWebhookJSON(ep))
}

// ListWebhooks serves GET /v1/webhooks.
func (h *Handler) ListWebhooks(c *fiber.Ctx) error {
	var f models.WebhookFilter
	var err error
	if f.Size, err = models.ParseSize(c.Query("size")); err != nil {
		return err
	}
	if f.Cursor, err = models.DecodeCursor(c.Query("cursor")); err != nil {
		return err
	}
	page, err := h.Store.ListWebhookEndpoints(c.UserContext(), mode(c), f)
	if err != nil {
		return err
	}
	items := make([]webhookJSON, len(page.Items))
	for i := range page.Items {
		items[i] = toWebhookJSON(&page.Items[i])
	}
	return ok(c, models.CodeOK, fiber.Map{"nextCursor": nullable(page.NextCursor), "items": items})
}

// GetWebhook serves GET /v1/webhooks/{id}.
func (h *Handler) GetWebhook(c *fiber.Ctx) error {
	ep, err := h.Store.GetWebhookEndpoint(c.UserContext(), mode(c), c.Params("id"))
	if err != nil {
		return err
	}
	return ok(c, models.CodeOK, toWebhookJSON(ep))
}

// UpdateWebhook serves PATCH /v1/webhooks/{id}: only the fields sent change.
func (h *Handler) UpdateWebhook(c *fiber.Ctx) error {
	in, err := parseWebhookBody(c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	ep, err := h.Store.UpdateWebhookEndpoint(c.UserContext(), mode(c), c.Params("id"), in)
	if err != nil {
		return err
	}
	return ok(c, models.CodeOK, toWebhookJSON(ep))
}

// DeleteWebhook serves DELETE /v1/webhooks/{id}. Deliveries still waiting
// for it are marked failed, so none is silently dropped.
func (h *Handler) DeleteWebhook(c *fiber.Ctx) error {
	if err := h.Store.DeleteWebhookEndpoint(c.UserContext(), mode(c), c.Params("id")); err != nil {
		return err
	}
	return ok(c, models.CodeOK, nil)
}
