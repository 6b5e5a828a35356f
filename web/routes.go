package web

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/handlers/widget"
)

// routes is the route table: every URL of the app, grouped by area. A
// reader answers "what serves this URL, behind which guard?" from here.
func (a *App) routes() {
	app := a.fiber
	for _, m := range a.middleware() {
		app.Use(m)
	}

	// Health: the process is up and the database answers.
	app.Get("/healthz", a.healthz)

	// Widget SDK at a stable URL customers embed, and the public demo page
	// when --demo is on. Registered before any /static/* catch-all.
	wg := widget.New()
	app.Get("/static/wink.js", wg.SDK)
	if a.cfg.Demo {
		app.Get("/demo", wg.Demo)
		app.Get("/static/demo.js", wg.DemoJS)
		app.Get("/static/demo.css", wg.DemoCSS)
	}

	h := a.api
	limit := a.apiRateLimit() // one budget per client IP across the whole API
	v1 := app.Group("/v1")
	v1.Get("/openapi.yaml", h.OpenAPI)

	// Widget link sessions: the link token is the credential (Bearer, no
	// cookie), so any origin may call. Registered before the key-guarded
	// group, whose guard covers everything under /v1 that comes after it.
	// CORS comes first so refusals and 429s are readable by the embedding page.
	link := v1.Group("/link", h.LinkCORS, limit)
	apiRoute(link, "/sessions", map[string]fiber.Handler{"POST": h.CreateLinkSession}, h.UnsupportedMethod)

	// API: JSON envelope, HTTP Basic key:secret, the key's mode.
	authed := v1.Group("", limit, h.RequireAPIKey)
	apiRoute(authed, "/users", map[string]fiber.Handler{"GET": h.ListUsers, "POST": h.CreateUser}, h.UnsupportedMethod)
	apiRoute(authed, "/users/:id", map[string]fiber.Handler{"GET": h.GetUser}, h.UnsupportedMethod)
	apiRoute(authed, "/tokens", map[string]fiber.Handler{"POST": h.RefreshToken}, h.UnsupportedMethod)
	apiRoute(authed, "/webhooks", map[string]fiber.Handler{"GET": h.ListWebhooks, "POST": h.CreateWebhook}, h.UnsupportedMethod)
	apiRoute(authed, "/webhooks/:id", map[string]fiber.Handler{"GET": h.GetWebhook, "PATCH": h.UpdateWebhook, "DELETE": h.DeleteWebhook}, h.UnsupportedMethod)
	apiRoute(authed, "/webhooks/:id/deliveries", map[string]fiber.Handler{"GET": h.ListDeliveries}, h.UnsupportedMethod)
	apiRoute(authed, "/webhooks/:id/deliveries/:deliveryId", map[string]fiber.Handler{"GET": h.GetDelivery}, h.UnsupportedMethod)
	apiRoute(authed, "/webhooks/:id/deliveries/:deliveryId/resend", map[string]fiber.Handler{"POST": h.ResendDelivery}, h.UnsupportedMethod)
	apiRoute(authed, "/webhooks/:id/recover", map[string]fiber.Handler{"POST": h.RecoverWebhook}, h.UnsupportedMethod)
	v1.Use(h.NotFound)
}

// middleware runs on every request, outermost first: the request id comes
// before the log line that names it, and panics are caught inside the logger
// so the logged status is the one the client got.
func (a *App) middleware() []fiber.Handler {
	return []fiber.Handler{requestID, logRequests(a.log), recoverPanics(a.log), securityHeaders}
}

// apiRoute registers a path's methods and answers any other method with
// 501 UNSUPPORTED_METHOD, as the contract asks.
func apiRoute(r fiber.Router, path string, methods map[string]fiber.Handler, unsupported fiber.Handler) {
	for m, handler := range methods {
		r.Add(m, path, handler)
	}
	r.All(path, unsupported)
}

// apiRateLimit limits API requests per client IP; a rate of 0 turns it off.
func (a *App) apiRateLimit() fiber.Handler {
	if a.cfg.RateLimit <= 0 {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return newRateLimiter(a.cfg.RateLimit, a.store.Now).handler
}

func (a *App) healthz(c *fiber.Ctx) error {
	if err := a.store.Ping(c.UserContext()); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unreachable\n")
	}
	return c.SendString("ok\n")
}
