package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// OperatorList shows the team.
func (h *Handler) OperatorList(c *fiber.Ctx) error {
	return h.renderOperators(c, fiber.StatusOK, views.OperatorsView{Role: string(models.RoleSupport)}, nil)
}

func (h *Handler) renderOperators(c *fiber.Ctx, status int, v views.OperatorsView, flash *views.Flash) error {
	ops, err := h.store.ListOperators(c.UserContext())
	if err != nil {
		return h.fail(c, err, nil)
	}
	self := session(c).OperatorID
	for _, o := range ops {
		v.Items = append(v.Items, views.OperatorRow{
			ID: o.ID, Email: o.Email, Role: string(o.Role), CreatedAt: o.CreatedAt,
			LastLoginAt: o.LastLoginAt, Disabled: o.DisabledAt != nil, Self: o.ID == self,
		})
	}
	required, err := h.store.TwoFactorRequired(c.UserContext())
	if err != nil {
		return h.fail(c, err, nil)
	}
	v.RequireTwoFactor = required
	p := h.page(c, "Operators", "operators")
	if flash != nil {
		p.Flash = flash
	}
	return render(c, status, views.Operators(p, v))
}

// OperatorCreate adds an operator.
func (h *Handler) OperatorCreate(c *fiber.Ctx) error {
	email, password, roleName := c.FormValue("email"), c.FormValue("password"), c.FormValue("role")
	v := views.OperatorsView{Email: email, Role: roleName, Errors: map[string]string{}}
	role, _ := models.ParseRole(roleName)
	if fe := models.ValidateOperatorInput(email, password, role); len(fe) > 0 {
		for f, m := range fe {
			v.Errors[f] = m
		}
		return h.renderOperators(c, fiber.StatusBadRequest, v, nil)
	}
	op, err := h.store.CreateOperator(c.UserContext(), email, password, role)
	if err != nil {
		return h.fail(c, err, func(field, msg string) error {
			v.Errors[field] = msg
			return h.renderOperators(c, fiber.StatusBadRequest, v, nil)
		})
	}
	h.audit(c, models.AuditOperatorCreated, "operator", op.ID, op.Email+" as "+string(op.Role))
	return h.redirectOnce(c, "/operators", &views.Flash{Kind: "ok", Text: op.Email + " can now sign in as " + string(op.Role) + "."}, nil)
}

// OperatorDisable stops an operator from signing in and ends their sessions.
func (h *Handler) OperatorDisable(c *fiber.Ctx) error {
	op, err := h.store.GetOperator(c.UserContext(), c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	if op.ID == session(c).OperatorID {
		return h.errorPage(c, fiber.StatusBadRequest, "You cannot disable yourself; ask another admin.")
	}
	ok, err := h.confirmed(c, views.ConfirmView{
		Title: "Disable " + op.Email + "?", Message: "They are signed out everywhere and can no longer sign in.",
		Button: "Disable operator", Cancel: "/operators",
	})
	if !ok {
		return err
	}
	if _, err := h.store.DisableOperator(c.UserContext(), op.ID); err != nil {
		return h.fail(c, err, func(_, msg string) error {
			return h.renderOperators(c, fiber.StatusConflict, views.OperatorsView{Role: string(models.RoleSupport)},
				&views.Flash{Kind: "bad", Text: sentence(msg)})
		})
	}
	h.audit(c, models.AuditOperatorOff, "operator", op.ID, op.Email)
	return h.redirectOnce(c, "/operators", &views.Flash{Kind: "ok", Text: op.Email + " is disabled and signed out everywhere."}, nil)
}
