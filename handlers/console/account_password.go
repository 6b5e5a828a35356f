package console

import (
	"fmt"
	"math"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// passwordForm is a new password typed twice, and for one's own account the
// current one too.
type passwordForm struct {
	Current string // only on the account page
	New     string
	Confirm string
}

func readPasswordForm(c *fiber.Ctx) passwordForm {
	return passwordForm{Current: c.FormValue("current_password"), New: c.FormValue("new_password"), Confirm: c.FormValue("confirm_password")}
}

// Validate reports problems beside their fields. withCurrent says the form
// has the current password field, which must then be filled in and differ
// from the new one.
func (f passwordForm) Validate(withCurrent bool) map[string]string {
	errs := map[string]string{}
	if withCurrent && f.Current == "" {
		errs["current_password"] = "Type your current password."
	}
	switch msg := models.PasswordProblem(f.New); {
	case f.New == "":
		errs["new_password"] = "Type the new password."
	case msg != "":
		errs["new_password"] = sentence(msg)
	case withCurrent && f.New == f.Current:
		errs["new_password"] = "The new password is the one you have now; choose another."
	}
	if _, bad := errs["new_password"]; !bad && f.Confirm != f.New {
		errs["confirm_password"] = "The two new passwords differ; type the same one twice."
	}
	return errs
}

// AccountPassword changes the signed-in operator's own password once they
// have typed the current one. Their other sessions end; this one stays.
// Wrong current passwords count against the same budget as failed
// sign-ins, so a borrowed session cannot be used to guess it.
func (h *Handler) AccountPassword(c *fiber.Ctx) error {
	s := session(c)
	f := readPasswordForm(c)
	if errs := f.Validate(true); len(errs) > 0 {
		return h.renderAccount(c, fiber.StatusBadRequest, errs, nil)
	}
	ip := c.IP()
	try, wait, err := h.throttle.begin(c.UserContext(), ip, s.Operator.Email)
	if err != nil {
		return h.fail(c, err, nil)
	}
	if try == nil {
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		return h.renderAccount(c, fiber.StatusTooManyRequests, map[string]string{
			"current_password": fmt.Sprintf("Too many wrong passwords. Wait %s and try again.", waitWords(wait)),
		}, nil)
	}
	if !s.Operator.PasswordMatches(f.Current) {
		wait := try.fail()
		h.log.Warn("console password change refused: wrong current password", "request_id", c.Locals(requestIDKey),
			"operator", s.Operator.Email, "ip", ip, "next_wait_s", wait.Seconds())
		h.audit(c, models.AuditPasswordRefused, "operator", s.OperatorID, "wrong current password")
		msg := "This is not your current password."
		if wait > 0 {
			msg += fmt.Sprintf(" Wait %s before the next try.", waitWords(wait))
		}
		return h.renderAccount(c, fiber.StatusBadRequest, map[string]string{"current_password": msg}, nil)
	}
	try.succeed()
	if err := h.store.SetOperatorPassword(c.UserContext(), s.OperatorID, f.New, s.ID); err != nil {
		return h.fail(c, err, func(_, msg string) error {
			return h.renderAccount(c, fiber.StatusBadRequest, map[string]string{"new_password": sentence(msg)}, nil)
		})
	}
	h.log.Info("console password changed", "request_id", c.Locals(requestIDKey), "operator", s.Operator.Email, "ip", ip)
	h.audit(c, models.AuditPasswordChanged, "operator", s.OperatorID, s.Operator.Email)
	return h.redirectOnce(c, "/account", &views.Flash{Kind: "ok",
		Text: "Your password is changed. Every other browser signed in as you was signed out."}, nil)
}
