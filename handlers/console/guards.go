package console

import (
	"crypto/subtle"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

const sessionCookie = "td_session"

// RequireSession lets a request through only with a live session, which it
// leaves for the handlers. Without one the browser goes to the sign-in page
// and comes back here afterwards.
func (h *Handler) RequireSession(c *fiber.Ctx) error {
	s, err := h.store.LookupSession(c.UserContext(), c.Cookies(sessionCookie), h.idle)
	if err != nil {
		if _, ok := models.AsError(err); !ok {
			return h.fail(c, err, nil)
		}
		h.clearSessionCookie(c)
		next := c.OriginalURL()
		if c.Method() != fiber.MethodGet {
			next = ""
		}
		target := "/login"
		if next != "" && next != "/" {
			target += "?next=" + url.QueryEscape(next)
		}
		return c.Redirect(target, fiber.StatusSeeOther)
	}
	c.Locals(localSession, s)
	if enrol, err := h.mustEnrolTwoFactor(c, s); err != nil {
		return h.fail(c, err, nil)
	} else if enrol {
		return c.Redirect("/account/2fa", fiber.StatusSeeOther)
	}
	return c.Next()
}

// mustEnrolTwoFactor: while an admin requires two-factor sign-in, an
// operator without it may only set it up (or sign out) until they have.
func (h *Handler) mustEnrolTwoFactor(c *fiber.Ctx, s *models.SessionWithOperator) (bool, error) {
	switch c.Path() {
	case "/account/2fa", "/logout":
		return false, nil
	}
	required, err := h.store.TwoFactorRequired(c.UserContext())
	if err != nil || !required {
		return false, err
	}
	tf, err := h.store.TwoFactorOf(c.UserContext(), s.OperatorID)
	if err != nil {
		return false, err
	}
	return !tf.Enabled, nil
}

// CSRF refuses a form that does not carry the session's token, or that a
// browser says came from another site.
func (h *Handler) CSRF(c *fiber.Ctx) error {
	s := session(c)
	if s == nil {
		return h.errorPage(c, fiber.StatusForbidden, "Sign in first.")
	}
	if !sameOrigin(c) || subtle.ConstantTimeCompare([]byte(c.FormValue("_csrf")), []byte(s.CSRFToken)) != 1 {
		h.log.Warn("console form refused: CSRF token missing or wrong", "request_id", c.Locals(requestIDKey),
			"path", c.Path(), "operator", s.Operator.Email, "ip", c.IP())
		return h.errorPage(c, fiber.StatusForbidden, "This form expired or came from another site. Go back, reload the page and try again.")
	}
	return c.Next()
}

// sameOrigin checks the Origin header when the browser sends one.
func sameOrigin(c *fiber.Ctx) bool {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == c.Hostname()
}

// Role lets through operators whose role is min or above; others get a
// page saying what their role may not do.
func (h *Handler) Role(min models.Role) fiber.Handler {
	return roleGuard{h: h, min: min}.check
}

// roleGuard is a type of its own so every role guard is the same function,
// which lets a test find it in the route table.
type roleGuard struct {
	h   *Handler
	min models.Role
}

func (g roleGuard) check(c *fiber.Ctx) error {
	s := session(c)
	if s == nil {
		return g.h.errorPage(c, fiber.StatusForbidden, "Sign in first.")
	}
	if !s.Operator.Role.AtLeast(g.min) {
		g.h.log.Warn("console action refused for role", "request_id", c.Locals(requestIDKey),
			"path", c.Path(), "operator", s.Operator.Email, "role", s.Operator.Role, "needs", g.min)
		return g.h.errorPage(c, fiber.StatusForbidden, "Your role ("+string(s.Operator.Role)+") may not do this: it needs "+roleAndAbove(g.min)+".")
	}
	return c.Next()
}

func roleAndAbove(r models.Role) string {
	switch r {
	case models.RoleAdmin:
		return "an admin"
	case models.RoleDeveloper:
		return "a developer or an admin"
	}
	return "any role"
}

func (h *Handler) setSessionCookie(c *fiber.Ctx, raw string) {
	c.Cookie(&fiber.Cookie{
		Name: sessionCookie, Value: raw, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: c.Protocol() == "https",
	})
}

func (h *Handler) clearSessionCookie(c *fiber.Ctx) {
	if c.Cookies(sessionCookie) == "" {
		return
	}
	c.Cookie(&fiber.Cookie{
		Name: sessionCookie, Value: "", Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: c.Protocol() == "https", MaxAge: -1,
	})
}
