package console

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

const operatorAuditShown = 20

// OperatorShow shows one operator: role, status, live sessions and their
// latest actions.
func (h *Handler) OperatorShow(c *fiber.Ctx) error {
	return h.renderOperator(c, fiber.StatusOK, c.Params("id"), views.OperatorView{}, nil)
}

// renderOperator shows an operator's page; forms carries what the page's
// forms say after a post (the role chosen, errors beside the fields).
func (h *Handler) renderOperator(c *fiber.Ctx, status int, id string, forms views.OperatorView, flash *views.Flash) error {
	ctx := c.UserContext()
	op, err := h.store.GetOperator(ctx, id)
	if err != nil {
		return h.fail(c, err, nil)
	}
	s := session(c)
	v := views.OperatorView{
		Row: views.OperatorRow{ID: op.ID, Email: op.Email, Role: string(op.Role), CreatedAt: op.CreatedAt,
			LastLoginAt: op.LastLoginAt, Disabled: op.DisabledAt != nil, Self: op.ID == s.OperatorID},
		Role: forms.Role, RoleError: forms.RoleError, ResetErrors: forms.ResetErrors,
	}
	if v.Role == "" {
		v.Role = string(op.Role)
	}
	sessions, err := h.store.ListLiveSessions(ctx, op.ID, sessionsShown)
	if err != nil {
		return h.fail(c, err, nil)
	}
	for _, r := range sessions {
		v.Sessions = append(v.Sessions, views.SessionRow{
			ID: r.ID, Email: r.Email, Mode: string(r.Mode), IP: r.IP, UserAgent: r.UserAgent,
			CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt, ExpiresAt: r.ExpiresAt, Current: r.ID == s.ID,
		})
	}
	audit, err := h.store.ListAudit(ctx, models.AuditFilter{OperatorID: op.ID, Size: operatorAuditShown})
	if err != nil {
		return h.fail(c, err, nil)
	}
	v.Audit = auditRows(audit.Items)
	tf, err := h.store.TwoFactorOf(ctx, op.ID)
	if err != nil {
		return h.fail(c, err, nil)
	}
	v.TwoFactorOn = tf.Enabled
	p := h.page(c, op.Email, "operators")
	if flash != nil {
		p.Flash = flash
	}
	return render(c, status, views.OperatorShow(p, v))
}

// OperatorRole changes another operator's role. Nobody changes their own,
// and the last admin stays admin.
func (h *Handler) OperatorRole(c *fiber.Ctx) error {
	id, roleName := c.Params("id"), c.FormValue("role")
	if id == session(c).OperatorID {
		return h.errorPage(c, fiber.StatusBadRequest, "You cannot change your own role; ask another admin.")
	}
	before, err := h.store.GetOperator(c.UserContext(), id)
	if err != nil {
		return h.fail(c, err, nil)
	}
	role, err := models.ParseRole(roleName)
	if err != nil {
		return h.renderOperator(c, fiber.StatusBadRequest, id, views.OperatorView{Role: roleName, RoleError: "Choose support, developer or admin."}, nil)
	}
	op, err := h.store.SetOperatorRole(c.UserContext(), id, role)
	if err != nil {
		return h.fail(c, err, func(_, msg string) error {
			return h.renderOperator(c, fiber.StatusBadRequest, id, views.OperatorView{Role: roleName, RoleError: sentence(msg)}, nil)
		})
	}
	if before.Role != op.Role {
		h.audit(c, models.AuditOperatorRole, "operator", op.ID, op.Email+": "+string(before.Role)+" → "+string(op.Role))
	}
	return h.redirectOnce(c, "/operators/"+id, &views.Flash{Kind: "ok", Text: op.Email + " is now " + string(op.Role) + "."}, nil)
}

// OperatorSessionsRevoke signs an operator out everywhere; they may sign in again.
func (h *Handler) OperatorSessionsRevoke(c *fiber.Ctx) error {
	op, err := h.store.GetOperator(c.UserContext(), c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	if op.ID == session(c).OperatorID {
		return h.errorPage(c, fiber.StatusBadRequest, "Sign yourself out from the Sessions page, one browser at a time.")
	}
	ok, err := h.confirmed(c, views.ConfirmView{
		Title: "Sign " + op.Email + " out everywhere?", Message: "Every browser they are signed in with must sign in again.",
		Button: "Sign out everywhere", Cancel: "/operators/" + op.ID,
	})
	if !ok {
		return err
	}
	n, err := h.store.RevokeOperatorSessions(c.UserContext(), op.ID)
	if err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditSessionsRevoked, "operator", op.ID, op.Email+": "+strconv.Itoa(n)+" sessions")
	return h.redirectOnce(c, "/operators/"+op.ID, &views.Flash{Kind: "ok", Text: op.Email + " was signed out of " + views.Plural(n, "session", "sessions") + "."}, nil)
}
