package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// The sign-in form has no session yet, so its CSRF token is paired with a
// cookie of its own (double submit).
const loginCookie = "td_login"

// LoginForm shows the sign-in page, or goes home when already signed in.
func (h *Handler) LoginForm(c *fiber.Ctx) error {
	if _, err := h.store.LookupSession(c.UserContext(), c.Cookies(sessionCookie), h.idle); err == nil {
		return c.Redirect(localPath(c.Query("next"), "/"), fiber.StatusSeeOther)
	}
	return h.renderLogin(c, fiber.StatusOK, views.LoginView{Next: localPath(c.Query("next"), "")})
}

func (h *Handler) renderLogin(c *fiber.Ctx, status int, v views.LoginView) error {
	token, err := newLoginCSRF(c)
	if err != nil {
		return h.fail(c, err, nil)
	}
	v.CSRF, v.Assets = token, h.bareAssets()
	return render(c, status, views.Login(v))
}

// newLoginCSRF makes the token of a sign-in form (either step), sets the
// cookie it is paired with, and keeps the page out of caches.
func newLoginCSRF(c *fiber.Ctx) (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	c.Cookie(&fiber.Cookie{
		Name: loginCookie, Value: token, Path: "/login", HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode, Secure: c.Protocol() == "https", MaxAge: 3600,
	})
	c.Set(fiber.HeaderCacheControl, "no-store")
	return token, nil
}

// LoginCSRF refuses a sign-in form that does not carry the token of its cookie.
func (h *Handler) LoginCSRF(c *fiber.Ctx) error {
	cookie, form := c.Cookies(loginCookie), c.FormValue("_csrf")
	if cookie == "" || !sameOrigin(c) || subtle.ConstantTimeCompare([]byte(cookie), []byte(form)) != 1 {
		return h.renderLogin(c, fiber.StatusForbidden, views.LoginView{
			Email: c.FormValue("email"), Next: localPath(c.FormValue("next"), ""),
			Error: "The sign-in form expired. Please try again.",
		})
	}
	return c.Next()
}

// Login checks the email and password, then starts a session.
func (h *Handler) Login(c *fiber.Ctx) error {
	email, password := c.FormValue("email"), c.FormValue("password")
	next := localPath(c.FormValue("next"), "")
	ip := c.IP()
	again := views.LoginView{Email: email, Next: next}
	try, wait, err := h.throttle.begin(c.UserContext(), ip, email)
	if err != nil {
		return h.fail(c, err, nil)
	}
	if try == nil {
		h.log.Warn("console sign-in refused: too many failures", "request_id", c.Locals(requestIDKey), "ip", ip, "wait_s", wait.Seconds())
		again.Error = fmt.Sprintf("Too many failed sign-ins. Wait %s and try again.", waitWords(wait))
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		return h.renderLogin(c, fiber.StatusTooManyRequests, again)
	}
	op, reason, err := h.store.CheckOperatorPassword(c.UserContext(), email, password)
	if err != nil {
		e, ok := models.AsError(err)
		if !ok {
			try.fail()
			return h.fail(c, err, nil)
		}
		wait := try.fail()
		// The log says why (for the admin); the page does not (for the
		// guesser). What was typed as the e-mail is kept only when it is an
		// operator's: people type passwords into the e-mail field, and
		// support reads the log and the audit page.
		who := typedEmail(email, reason)
		h.log.Warn("console sign-in failed", "request_id", c.Locals(requestIDKey), "email", who, "ip", ip, "reason", reason, "next_wait_s", wait.Seconds())
		_ = h.store.Audit(c.UserContext(), models.AuditEntry{
			OperatorEmail: truncate(who, 200), Action: models.AuditSignInFailed, TargetType: "operator", Detail: reason, IP: ip,
		})
		again.Error = "The email or password is not right."
		if wait > 0 {
			again.Error += fmt.Sprintf(" Wait %s before the next try.", waitWords(wait))
		}
		return h.renderLogin(c, e.Code.Status(), again)
	}
	try.succeed()
	tf, err := h.store.TwoFactorOf(c.UserContext(), op.ID)
	if err != nil {
		return h.fail(c, err, nil)
	}
	if tf.Enabled {
		raw, err := h.store.StartLoginChallenge(c.UserContext(), op, next)
		if err != nil {
			return h.fail(c, err, nil)
		}
		c.Cookie(&fiber.Cookie{
			Name: challengeCookie, Value: raw, Path: "/login", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
			Secure: c.Protocol() == "https", MaxAge: int(models.LoginChallengeTTL / time.Second),
		})
		return h.renderLoginCode(c, fiber.StatusOK, op.Email, "")
	}
	return h.startSession(c, op, next, "")
}

// startSession signs the operator in: a new session, its cookie, the audit
// line, and on to where they were going.
func (h *Handler) startSession(c *fiber.Ctx, op *models.Operator, next, how string) error {
	ip := c.IP()
	raw, sess, err := h.store.CreateSession(c.UserContext(), op, ip, c.Get(fiber.HeaderUserAgent), h.idle)
	if err != nil {
		return h.fail(c, err, nil)
	}
	h.setSessionCookie(c, raw)
	c.Cookie(&fiber.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1, HTTPOnly: true})
	c.Cookie(&fiber.Cookie{Name: challengeCookie, Value: "", Path: "/login", MaxAge: -1, HTTPOnly: true})
	c.Locals(localSession, &models.SessionWithOperator{Session: *sess, Operator: *op})
	h.log.Info("console sign-in", "request_id", c.Locals(requestIDKey), "operator", op.Email, "role", op.Role, "ip", ip, "second_factor", how)
	h.audit(c, models.AuditSignedIn, "operator", op.ID, how)
	return c.Redirect(localPath(next, "/"), fiber.StatusSeeOther)
}

// Logout ends this browser's session.
func (h *Handler) Logout(c *fiber.Ctx) error {
	s := session(c)
	if err := h.store.RevokeSession(c.UserContext(), s.ID, s.OperatorID); err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditSignedOut, "operator", s.OperatorID, "")
	h.clearSessionCookie(c)
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// unknownEmail stands in the log and the audit for what was typed into the
// e-mail field when it is no operator's address.
const unknownEmail = "an unknown e-mail"

func typedEmail(email, reason string) string {
	if reason == models.SignInUnknownEmail || reason == models.SignInMalformed {
		return unknownEmail
	}
	return email
}

func waitWords(d time.Duration) string {
	if d < time.Second {
		d = time.Second
	}
	return views.Span(d.Round(time.Second))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
