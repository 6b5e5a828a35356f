package console

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"math"

	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp"

	"tokendesk/models"
	"tokendesk/views"
)

// recoveryCodes are shown once, on the page a POST redirects to.
type recoveryCodes []string

// AccountTwoFactorShow is the operator's own two-factor page: the secret to
// scan while it is off, the recovery codes left while it is on.
func (h *Handler) AccountTwoFactorShow(c *fiber.Ctx) error {
	return h.renderTwoFactor(c, fiber.StatusOK, nil)
}

func (h *Handler) renderTwoFactor(c *fiber.Ctx, status int, errs map[string]string) error {
	ctx := c.UserContext()
	op := &session(c).Operator
	tf, err := h.store.TwoFactorOf(ctx, op.ID)
	if err != nil {
		return h.fail(c, err, nil)
	}
	required, err := h.store.TwoFactorRequired(ctx)
	if err != nil {
		return h.fail(c, err, nil)
	}
	v := views.AccountTwoFactorView{Enabled: tf.Enabled, EnabledAt: tf.EnabledAt, RecoveryLeft: tf.RecoveryLeft, Required: required, Errors: errs}
	if codes, ok := onceSecret[recoveryCodes](h, c); ok {
		v.NewCodes = codes
	}
	if !tf.Enabled {
		secret := tf.PendingSecret
		if secret == "" {
			en, err := h.store.BeginTOTP(ctx, op)
			if err != nil {
				return h.fail(c, err, nil)
			}
			secret = en.Secret
		}
		v.PendingSecret = secret
		if v.QRCode, err = qrDataURL(models.TOTPURL(op.Email, secret)); err != nil {
			return h.fail(c, err, nil)
		}
	}
	return renderSecret(c, status, views.AccountTwoFactor(h.page(c, "Two-factor sign-in", "account"), v))
}

// qrDataURL draws the otpauth URL as a QR code, inline: the page's CSP
// allows data: images, and the secret never leaves this response.
func qrDataURL(u string) (string, error) {
	key, err := otp.NewKeyFromURL(u)
	if err != nil {
		return "", err
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return "", fmt.Errorf("draw QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// AccountTwoFactorConfirm turns two-factor sign-in on with the app's first code.
func (h *Handler) AccountTwoFactorConfirm(c *fiber.Ctx) error {
	op := &session(c).Operator
	codes, err := h.store.ConfirmTOTP(c.UserContext(), op, c.FormValue("code"))
	if err != nil {
		return h.fail(c, err, func(field, msg string) error {
			return h.renderTwoFactor(c, fiber.StatusBadRequest, map[string]string{"code": sentence(msg)})
		})
	}
	h.audit(c, models.AuditTwoFactorOn, "operator", op.ID, op.Email)
	return h.redirectOnce(c, "/account/2fa", &views.Flash{Kind: "ok",
		Text: "Two-factor sign-in is on. From your next sign-in the console asks for a code after your password."}, recoveryCodes(codes))
}

// AccountRecoveryCodes makes new recovery codes; the old ones stop working.
func (h *Handler) AccountRecoveryCodes(c *fiber.Ctx) error {
	op := &session(c).Operator
	codes, err := h.store.NewRecoveryCodes(c.UserContext(), op)
	if err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditRecoveryCodes, "operator", op.ID, op.Email)
	return h.redirectOnce(c, "/account/2fa", &views.Flash{Kind: "ok", Text: "New recovery codes are below; the old ones no longer work."}, recoveryCodes(codes))
}

// AccountTwoFactorOff turns it off, after the current password: a session
// left open on a shared computer must not be able to remove the second
// factor. Refused while an admin requires it.
func (h *Handler) AccountTwoFactorOff(c *fiber.Ctx) error {
	s := session(c)
	ctx := c.UserContext()
	if required, err := h.store.TwoFactorRequired(ctx); err != nil {
		return h.fail(c, err, nil)
	} else if required {
		return h.renderTwoFactor(c, fiber.StatusConflict, map[string]string{"password": "An admin requires two-factor sign-in for everyone, so it stays on."})
	}
	ip := c.IP()
	try, wait, err := h.throttle.begin(c.UserContext(), ip, s.Operator.Email)
	if err != nil {
		return h.fail(c, err, nil)
	}
	if try == nil {
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		return h.renderTwoFactor(c, fiber.StatusTooManyRequests, map[string]string{"password": fmt.Sprintf("Too many wrong passwords. Wait %s and try again.", waitWords(wait))})
	}
	if !s.Operator.PasswordMatches(c.FormValue("password")) {
		try.fail()
		h.audit(c, models.AuditPasswordRefused, "operator", s.OperatorID, "wrong password to turn off two-factor sign-in")
		return h.renderTwoFactor(c, fiber.StatusBadRequest, map[string]string{"password": "This is not your current password."})
	}
	try.succeed()
	if _, err := h.store.TurnOffTwoFactor(ctx, s.OperatorID); err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditTwoFactorOff, "operator", s.OperatorID, s.Operator.Email)
	return h.redirectOnce(c, "/account/2fa", &views.Flash{Kind: "warn", Text: "Two-factor sign-in is off: your password alone signs you in."}, nil)
}
