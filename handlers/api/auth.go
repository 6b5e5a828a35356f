package api

import (
	"encoding/base64"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

// ParseBasicAuth reads an Authorization header of the Basic scheme.
func ParseBasicAuth(header string) (key, secret string, ok bool) {
	scheme, encoded, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Basic") || len(encoded) > 1024 {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", "", false
	}
	key, secret, found = strings.Cut(string(raw), ":")
	if !found || key == "" || secret == "" {
		return "", "", false
	}
	return key, secret, true
}

// RequireAPIKey authenticates the request with HTTP Basic key:secret. The
// key's mode becomes the request's mode.
func (h *Handler) RequireAPIKey(c *fiber.Ctx) error {
	key, secret, ok := ParseBasicAuth(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return &models.Error{Code: models.CodeInvalidCredentials, Message: "missing or malformed credentials: send your API key and secret with HTTP Basic authentication (key as user name, secret as password)"}
	}
	k, err := h.Store.Authenticate(c.UserContext(), key, secret)
	if err != nil {
		return err
	}
	c.Locals(localKey, k)
	return c.Next()
}

func mode(c *fiber.Ctx) models.Mode { return requestKey(c).Mode }
