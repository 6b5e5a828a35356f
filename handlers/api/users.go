package api

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

// userJSON is the contract's User object.
type userJSON struct {
	ID               string          `json:"id"`
	ExternalMetadata models.Metadata `json:"externalMetadata"`
	CreatedAt        string          `json:"createdAt"`
	Providers        []string        `json:"providers"`
}

func toUserJSON(u *models.User) userJSON {
	md := u.ExternalMetadata
	if md == nil {
		md = models.Metadata{}
	}
	return userJSON{ID: u.ID, ExternalMetadata: md, CreatedAt: models.FormatTime(u.CreatedAt), Providers: []string{}}
}

// createUserBody is the body of POST /v1/users.
type createUserBody struct {
	ExternalMetadata json.RawMessage `json:"externalMetadata"`
}

// parseCreateUser reads the body of POST /v1/users.
func parseCreateUser(contentType string, body []byte) (models.Metadata, error) {
	var in createUserBody
	if err := decodeJSONBody(contentType, body, &in); err != nil {
		return nil, err
	}
	return models.ParseExternalMetadata(in.ExternalMetadata)
}

// CreateUser serves POST /v1/users: the user, its first link token and its
// USER_CREATED event, made together.
func (h *Handler) CreateUser(c *fiber.Ctx) error {
	md, err := parseCreateUser(c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	created, err := h.Store.CreateUser(c.UserContext(), mode(c), md, "api:"+requestKey(c).Key)
	if err != nil {
		return err
	}
	concerns(c, created.User.ID)
	return ok(c, models.CodeCreated, fiber.Map{
		"user":  toUserJSON(&created.User),
		"token": toTokenJSON(created.Token),
	})
}

// GetUser serves GET /v1/users/{id}.
func (h *Handler) GetUser(c *fiber.Ctx) error {
	id := c.Params("id")
	if len(id) > 200 {
		return models.FieldError("id", "id is longer than 200 characters")
	}
	concerns(c, id)
	u, err := h.Store.GetUser(c.UserContext(), mode(c), id)
	if err != nil {
		return err
	}
	return ok(c, models.CodeOK, toUserJSON(u))
}

// ListUsers serves GET /v1/users.
func (h *Handler) ListUsers(c *fiber.Ctx) error {
	f, err := parseUserListQuery(c.Query("size"), c.Query("cursor"), c.Query("startDate"), c.Query("endDate"))
	if err != nil {
		return err
	}
	page, err := h.Store.ListUsers(c.UserContext(), mode(c), f)
	if err != nil {
		return err
	}
	items := make([]userJSON, len(page.Items))
	for i := range page.Items {
		items[i] = toUserJSON(&page.Items[i])
	}
	return ok(c, models.CodeOK, fiber.Map{"nextCursor": nullable(page.NextCursor), "items": items})
}

// parseUserListQuery reads the list parameters; endDate is inclusive.
func parseUserListQuery(size, cursor, startDate, endDate string) (models.UserFilter, error) {
	var f models.UserFilter
	var err error
	if f.Size, err = models.ParseSize(size); err != nil {
		return f, err
	}
	if f.Cursor, err = models.DecodeCursor(cursor); err != nil {
		return f, err
	}
	f.CreatedFrom, f.CreatedBefore, err = models.ParseDateRange(startDate, endDate)
	return f, err
}

// nullable turns "no next page" into JSON null.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
