package api

import (
	"context"
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

// RequireAPIKey authenticates the request with HTTP Basic key:secret,
// reading the key from the database. The key's mode becomes the request's
// mode.
func (h *Handler) RequireAPIKey(c *fiber.Ctx) error {
	return h.requireKey(c, h.Store.Authenticate)
}

// RequireAPIKeyCheckedByWrite authenticates like RequireAPIKey from the
// keys this process verified before, without reading the key. Only for a
// route whose one write checks the key itself in the same statement
// (POST /v1/tokens: Store.RefreshTokenWithKey), so a revoked key is still
// refused at once.
func (h *Handler) RequireAPIKeyCheckedByWrite(c *fiber.Ctx) error {
	return h.requireKey(c, h.Store.AuthenticateCached)
}

func (h *Handler) requireKey(c *fiber.Ctx, authenticate func(ctx context.Context, key, secret string) (*models.APIKey, error)) error {
	key, secret, ok := ParseBasicAuth(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return &models.Error{Code: models.CodeInvalidCredentials, Message: "missing or malformed credentials: send your API key and secret with HTTP Basic authentication (key as user name, secret as password)"}
	}
	k, err := authenticate(c.UserContext(), key, secret)
	if err != nil {
		return err
	}
	c.Locals(localKey, k)
	return c.Next()
}

// refusedKey forgets the request's key when a write found it revoked, so
// the request is logged as one without a valid key, as RequireAPIKey's
// refusals are.
func refusedKey(c *fiber.Ctx, err error) {
	if e, ok := models.AsError(err); ok && e.Code == models.CodeInvalidCredentials {
		c.Locals(localKey, nil)
	}
}

func mode(c *fiber.Ctx) models.Mode { return requestKey(c).Mode }
