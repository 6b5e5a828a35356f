package console

import (
	"fmt"
	"math"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// challengeCookie carries a sign-in whose password was right and that
// waits for its second factor; only /login sees it.
const challengeCookie = "td_2fa"

func (h *Handler) renderLoginCode(c *fiber.Ctx, status int, email, errMsg string) error {
	token, err := newLoginCSRF(c)
	if err != nil {
		return h.fail(c, err, nil)
	}
	return render(c, status, views.LoginCode(views.LoginCodeView{Email: email, Error: errMsg, CSRF: token, Assets: h.bareAssets()}))
}

// LoginCode is the sign-in's second step: the code from the operator's
// authenticator app, or one of their recovery codes. Wrong codes count
// against the same throttle as wrong passwords.
func (h *Handler) LoginCode(c *fiber.Ctx) error {
	ctx := c.UserContext()
	raw, ip := c.Cookies(challengeCookie), c.IP()
	op, err := h.store.ChallengedOperator(ctx, raw)
	if err != nil {
		if _, ok := models.AsError(err); !ok {
			return h.fail(c, err, nil)
		}
		return h.renderLogin(c, fiber.StatusUnauthorized, views.LoginView{Error: "The sign-in expired. Type your password again."})
	}
	try, wait, err := h.throttle.begin(c.UserContext(), ip, op.Email)
	if err != nil {
		return h.fail(c, err, nil)
	}
	if try == nil {
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		return h.renderLoginCode(c, fiber.StatusTooManyRequests, op.Email, fmt.Sprintf("Too many wrong codes. Wait %s and try again.", waitWords(wait)))
	}
	sf, err := h.store.FinishLoginChallenge(ctx, raw, c.FormValue("code"))
	if err != nil {
		e, ok := models.AsError(err)
		if !ok {
			try.fail()
			return h.fail(c, err, nil)
		}
		wait := try.fail()
		h.log.Warn("console sign-in failed: second factor", "request_id", c.Locals(requestIDKey), "email", op.Email, "ip", ip, "next_wait_s", wait.Seconds())
		_ = h.store.Audit(ctx, models.AuditEntry{OperatorID: op.ID, OperatorEmail: op.Email, Action: models.AuditSignInFailed,
			TargetType: "operator", TargetID: op.ID, Detail: "wrong two-factor code", IP: ip})
		if e.Field != "code" { // the sign-in itself is over: expired, or too many wrong codes
			return h.renderLogin(c, fiber.StatusUnauthorized, views.LoginView{Email: op.Email,
				Error: "Too many wrong codes for this sign-in. Type your password again."})
		}
		msg := "That code is not right, or was already used."
		if wait > 0 {
			msg += fmt.Sprintf(" Wait %s before the next try.", waitWords(wait))
		}
		return h.renderLoginCode(c, e.Code.Status(), op.Email, msg)
	}
	try.succeed()
	how := "with two-factor code"
	if sf.RecoveryCode {
		how = fmt.Sprintf("with a recovery code (%d left)", sf.RecoveryLeft)
	}
	return h.startSession(c, sf.Operator, sf.Next, how)
}
