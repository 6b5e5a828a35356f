package api

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// OpenAPIDocument is our own description of this API.
//
//go:embed openapi.yaml
var OpenAPIDocument []byte

// OpenAPI serves GET /v1/openapi.yaml.
func (h *Handler) OpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(OpenAPIDocument)
}
