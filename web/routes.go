package web

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/handlers/widget"
	"tokendesk/models"
)

// routes is the route table: every URL of the app, grouped by area. A
// reader answers "what serves this URL, behind which guard?" from here.
func (a *App) routes() {
	app := a.fiber
	for _, m := range a.middleware() {
		app.Use(m)
	}

	// Health: the process is up and the database answers. Metrics only when
	// asked for (--metrics).
	app.Get("/healthz", a.healthz)
	if a.metrics != nil {
		app.Get("/metrics", a.metrics.handler())
	}

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

	// Token refresh, the API's hot path, registered before the group below
	// with the same log and limit: its guard checks the secret against the
	// keys this process verified before, and the token's insert checks in
	// the same statement that the key is still live, so a key revoked
	// through any instance is refused at once with one round trip, not two.
	v1.Post("/tokens", a.recordAPIRequests, limit, h.RequireAPIKeyCheckedByWrite, h.RefreshToken)

	// API: JSON envelope, HTTP Basic key:secret read from the database, the
	// key's mode. Every request a key made is kept in the request log
	// (web/requestlog.go).
	authed := v1.Group("", a.recordAPIRequests, limit, h.RequireAPIKey)
	apiRoute(authed, "/users", map[string]fiber.Handler{"GET": h.ListUsers, "POST": h.CreateUser}, h.UnsupportedMethod)
	apiRoute(authed, "/users/:id", map[string]fiber.Handler{"GET": h.GetUser}, h.UnsupportedMethod)
	apiRoute(authed, "/tokens", nil, h.UnsupportedMethod) // POST is above
	apiRoute(authed, "/webhooks", map[string]fiber.Handler{"GET": h.ListWebhooks, "POST": h.CreateWebhook}, h.UnsupportedMethod)
	apiRoute(authed, "/webhooks/:id", map[string]fiber.Handler{"GET": h.GetWebhook, "PATCH": h.UpdateWebhook, "DELETE": h.DeleteWebhook}, h.UnsupportedMethod)
	apiRoute(authed, "/webhooks/:id/deliveries", map[string]fiber.Handler{"GET": h.ListDeliveries}, h.UnsupportedMethod)
	apiRoute(authed, "/webhooks/:id/deliveries/:deliveryId", map[string]fiber.Handler{"GET": h.GetDelivery}, h.UnsupportedMethod)
	apiRoute(authed, "/webhooks/:id/deliveries/:deliveryId/resend", map[string]fiber.Handler{"POST": h.ResendDelivery}, h.UnsupportedMethod)
	apiRoute(authed, "/webhooks/:id/recover", map[string]fiber.Handler{"POST": h.RecoverWebhook}, h.UnsupportedMethod)
	v1.Use(h.NotFound)

	a.consoleRoutes()
}

// consoleRoutes is the console's part of the route table. Guards, in order:
// Session (a live signed-in session, else to /login), CSRF (the session's
// form token on every POST), Role (the least role allowed). Only sign-in and
// the assets are public; web/console_routes_test.go fails for any other
// console route without all three.
func (a *App) consoleRoutes() {
	app, con := a.fiber, a.console
	session, csrf := con.RequireSession, con.CSRF
	support, developer, admin := con.Role(models.RoleSupport), con.Role(models.RoleDeveloper), con.Role(models.RoleAdmin)

	// Assets and sign-in: public. The sign-in form has its own CSRF cookie.
	app.Get("/static/:name", con.Static)
	app.Get("/login", con.LoginForm)
	app.Post("/login", con.LoginCSRF, con.Login)
	app.Post("/login/2fa", con.LoginCSRF, con.LoginCode)
	app.Post("/logout", session, csrf, support, con.Logout)

	// Dashboard, search and the mode switch.
	app.Get("/", session, support, con.Dashboard)
	app.Get("/search", session, support, con.Search)
	app.Post("/mode", session, csrf, support, con.ModeSwitch)

	// Users and their tokens.
	app.Get("/users", session, support, con.UserList)
	app.Get("/users/new", session, developer, con.UserNew)
	app.Post("/users", session, csrf, developer, con.UserCreate)
	app.Get("/users/:id", session, support, con.UserShow)
	app.Post("/users/:id/tokens", session, csrf, support, con.TokenRefresh)
	app.Post("/tokens/:id/revoke", session, csrf, developer, con.TokenRevoke)
	app.Get("/tokens/inspect", session, support, con.TokenInspectForm)
	app.Post("/tokens/inspect", session, csrf, support, con.TokenInspect)

	// Widget emulator: issue or paste a token and start the widget with it.
	app.Get("/widget", session, support, con.WidgetEmulator)
	app.Post("/widget", session, csrf, support, con.WidgetLaunch)

	// API keys.
	app.Get("/keys", session, developer, con.KeyList)
	app.Post("/keys", session, csrf, developer, con.KeyCreate)
	app.Get("/keys/:id", session, developer, con.KeyShow)
	app.Post("/keys/:id/revoke", session, csrf, developer, con.KeyRevoke)

	// Webhook endpoints: support reads, developers change. Secrets are
	// revealed by POST so every look is audited and carries CSRF.
	app.Get("/webhooks", session, support, con.WebhookList)
	app.Get("/webhooks/new", session, developer, con.WebhookNew)
	app.Post("/webhooks", session, csrf, developer, con.WebhookCreate)
	app.Get("/webhooks/:id", session, support, con.WebhookShow)
	app.Post("/webhooks/:id", session, csrf, developer, con.WebhookUpdate)
	app.Post("/webhooks/:id/delete", session, csrf, developer, con.WebhookDelete)
	app.Post("/webhooks/:id/enable", session, csrf, developer, con.WebhookEnable)
	app.Post("/webhooks/:id/secret", session, csrf, developer, con.WebhookSecretReveal)
	app.Post("/webhooks/:id/rotate", session, csrf, developer, con.WebhookSecretRotate)
	app.Post("/webhooks/:id/test", session, csrf, developer, con.WebhookTestEvent)
	app.Post("/webhooks/:id/recover", session, csrf, developer, con.WebhookRecover)

	// Delivery log and events. Support may resend one delivery.
	app.Get("/deliveries", session, support, con.DeliveryList)
	app.Get("/deliveries/:id", session, support, con.DeliveryShow)
	app.Post("/deliveries/resend", session, csrf, support, con.DeliveryResendBulk)
	app.Post("/deliveries/:id/resend", session, csrf, support, con.DeliveryResend)
	app.Get("/events", session, support, con.EventList)
	app.Get("/events/:id", session, support, con.EventShow)

	// The API request log: support finds what a customer's integration
	// sent, by request id, key, user or status.
	app.Get("/requests", session, support, con.RequestList)
	app.Get("/requests/:id", session, support, con.RequestShow)

	// Team, sessions and the audit log.
	app.Get("/audit", session, support, con.AuditList)
	app.Get("/sessions", session, support, con.SessionList)
	app.Post("/sessions/:id/revoke", session, csrf, support, con.SessionRevoke)
	app.Get("/retention", session, admin, con.RetentionShow)
	app.Get("/operators", session, admin, con.OperatorList)
	app.Post("/operators", session, csrf, admin, con.OperatorCreate)
	app.Get("/operators/:id", session, admin, con.OperatorShow)
	app.Post("/operators/:id/role", session, csrf, admin, con.OperatorRole)
	app.Post("/operators/:id/sessions/revoke", session, csrf, admin, con.OperatorSessionsRevoke)
	app.Post("/operators/:id/disable", session, csrf, admin, con.OperatorDisable)
	app.Post("/operators/:id/enable", session, csrf, admin, con.OperatorEnable)
	app.Post("/operators/:id/password", session, csrf, admin, con.OperatorPasswordReset)
	app.Post("/operators/:id/2fa/reset", session, csrf, admin, con.OperatorTwoFactorReset)
	app.Post("/operators/2fa/require", session, csrf, admin, con.TwoFactorRequire)

	// One's own account: every role changes their own password and sets up
	// two-factor sign-in.
	app.Get("/account", session, support, con.AccountShow)
	app.Post("/account/password", session, csrf, support, con.AccountPassword)
	app.Post("/account/timezone", session, csrf, support, con.AccountTimeZone)
	app.Get("/account/2fa", session, support, con.AccountTwoFactorShow)
	app.Post("/account/2fa", session, csrf, support, con.AccountTwoFactorConfirm)
	app.Post("/account/2fa/recovery", session, csrf, support, con.AccountRecoveryCodes)
	app.Post("/account/2fa/off", session, csrf, support, con.AccountTwoFactorOff)
}

// middleware runs on every request, outermost first: the request id comes
// before the log line that names it, and panics are caught inside the logger
// so the logged status is the one the client got.
func (a *App) middleware() []fiber.Handler {
	return []fiber.Handler{normalizeForwardedFor(a.cfg.TrustedProxies), requestID, observeRequests(a.log, a.metrics, a.tracer), recoverPanics(a.log), securityHeaders}
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
	if err := a.store.Health(c.UserContext()); err != nil {
		if models.IsDiskFull(err) {
			return c.Status(fiber.StatusServiceUnavailable).SendString("database unavailable: the disk is full; free space and it resumes by itself\n")
		}
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unreachable\n")
	}
	return c.SendString("ok\n")
}
