// Package console serves the operator console: server-rendered pages and
// plain forms. Every action works without script.
package console

import (
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/static"
	"tokendesk/views"
)

// Handler holds what the console's handlers need. Its methods are the
// routes' handlers and guards; web/routes.go maps URLs to them.
type Handler struct {
	store    *models.Store
	log      *slog.Logger
	idle     time.Duration
	assets   *static.Assets
	throttle *loginThrottle
}

// Options configure the console.
type Options struct {
	Store       *models.Store
	Log         *slog.Logger
	SessionIdle time.Duration // a session ends after this long without a request
	Assets      *static.Assets
}

// New builds the console's handlers.
func New(o Options) *Handler {
	if o.SessionIdle <= 0 {
		o.SessionIdle = 2 * time.Hour
	}
	return &Handler{
		store: o.Store, log: o.Log, idle: o.SessionIdle, assets: o.Assets,
		throttle: &loginThrottle{store: o.Store, log: o.Log},
	}
}

// localSession is where RequireSession leaves the signed-in session.
const localSession = "console.session"

// requestIDKey matches the key the web middleware stores the request id under.
const requestIDKey = "requestId"

func session(c *fiber.Ctx) *models.SessionWithOperator {
	s, _ := c.Locals(localSession).(*models.SessionWithOperator)
	return s
}

func mode(c *fiber.Ctx) models.Mode { return session(c).Mode }

// actor names the operator in audit entries and "issued by" columns.
func actor(c *fiber.Ctx) string { return "console:" + session(c).Operator.Email }

func perms(r models.Role) views.Perms {
	return views.Perms{
		CreateUsers:  r.AtLeast(models.RoleDeveloper),
		RefreshToken: r.AtLeast(models.RoleSupport),
		RevokeTokens: r.AtLeast(models.RoleDeveloper),
		Keys:         r.AtLeast(models.RoleDeveloper),
		Operators:    r.AtLeast(models.RoleAdmin),
		Endpoints:    r.AtLeast(models.RoleDeveloper),
		Resend:       r.AtLeast(models.RoleSupport),
	}
}

// page is the layout's data for the signed-in operator.
func (h *Handler) page(c *fiber.Ctx, title, section string) views.Page {
	s := session(c)
	return views.Page{
		Title: title, Section: section, Mode: string(s.Mode),
		Operator: s.Operator.Email, Role: string(s.Operator.Role), CSRF: s.CSRFToken,
		CSS: h.assets.URL("console.css"), JS: h.assets.URL("console.js"),
		// In the operator's zone: views show absolute times in now's location.
		Now: h.store.Now().In(s.Operator.Location()), Can: perms(s.Operator.Role), Flash: h.taken(c).flash,
	}
}

func (h *Handler) bareAssets() views.Assets {
	return views.Assets{CSS: h.assets.URL("console.css"), JS: h.assets.URL("console.js")}
}

// render writes a templ component as the HTML response.
func render(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return comp.Render(c.UserContext(), c.Response().BodyWriter())
}

// renderSecret renders a page that shows a secret once: no cache may keep it.
func renderSecret(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return render(c, status, comp)
}

// localPath accepts only a path on this site, so a "next" parameter cannot
// send the browser elsewhere.
func localPath(next, fallback string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return fallback
	}
	return next
}

func (h *Handler) audit(c *fiber.Ctx, action, targetType, targetID, detail string) {
	s := session(c)
	e := models.AuditEntry{
		Action: action, TargetType: targetType, TargetID: targetID, Detail: detail, IP: c.IP(),
	}
	if s != nil {
		e.OperatorID, e.OperatorEmail, e.Mode = s.Operator.ID, s.Operator.Email, s.Mode
	}
	if err := h.store.Audit(c.UserContext(), e); err != nil {
		// The action is done; a lost audit line is logged loudly, not shown.
		h.log.Error("audit entry not recorded", "request_id", c.Locals(requestIDKey), "action", action, "error", err)
	}
}

func pairs(md models.Metadata) []views.Pair {
	out := make([]views.Pair, 0, len(md))
	for _, k := range md.Keys() {
		out = append(out, views.Pair{Key: k, Value: md[k]})
	}
	return out
}
