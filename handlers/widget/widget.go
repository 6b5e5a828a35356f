// Package widget serves the Wink widget SDK and the public demo page.
package widget

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/gofiber/fiber/v2"

	"tokendesk/static"
)

// Handler serves the SDK and the demo page. Its methods are route handlers;
// web/routes.go maps URLs to them.
type Handler struct {
	sdk, demoJS, demoCSS asset
}

// New prepares the embedded assets once: their ETags never change while the
// process runs.
func New() *Handler {
	return &Handler{
		sdk:     newAsset(static.WinkJS, "text/javascript; charset=utf-8"),
		demoJS:  newAsset(static.DemoJS, "text/javascript; charset=utf-8"),
		demoCSS: newAsset(static.DemoCSS, "text/css; charset=utf-8"),
	}
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

func newAsset(body []byte, contentType string) asset {
	sum := sha256.Sum256(body)
	return asset{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// serve sends a at a stable URL: a short cache lifetime so a new release
// reaches embedding sites within minutes, and an ETag so revalidation is
// cheap.
func (a asset) serve(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderETag, a.etag)
	if c.Get(fiber.HeaderIfNoneMatch) == a.etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, a.contentType)
	return c.Send(a.body)
}

// SDK serves GET /static/wink.js. Other sites load it with a plain <script>
// tag; the CORP header lets pages that isolate themselves
// (Cross-Origin-Embedder-Policy) load it too.
func (h *Handler) SDK(c *fiber.Ctx) error {
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return h.sdk.serve(c)
}

// DemoJS serves GET /static/demo.js, the demo page's script.
func (h *Handler) DemoJS(c *fiber.Ctx) error { return h.demoJS.serve(c) }

// DemoCSS serves GET /static/demo.css, the demo page's styles.
func (h *Handler) DemoCSS(c *fiber.Ctx) error { return h.demoCSS.serve(c) }
