package console

import (
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// AuditList shows the audit log, newest first, filtered by operator,
// action, target and time.
func (h *Handler) AuditList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := views.AuditView{
		Operator: strings.TrimSpace(c.Query("operator")), Action: strings.TrimSpace(c.Query("action")),
		Target: strings.TrimSpace(c.Query("target")), From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to")),
		Actions: models.AuditActions, Errors: map[string]string{},
	}
	v.Filtered = v.Operator != "" || v.Action != "" || v.Target != "" || v.From != "" || v.To != ""
	ops, err := h.store.ListOperators(ctx)
	if err != nil {
		return h.fail(c, err, nil)
	}
	for _, o := range ops {
		v.Operators = append(v.Operators, views.Option{Value: o.ID, Label: o.Email})
	}
	f := models.AuditFilter{Size: 50, OperatorID: v.Operator, Action: v.Action, TargetID: v.Target}
	if v.Operator != "" && !hasOption(v.Operators, v.Operator) {
		v.Errors["operator"] = "No operator has this id."
	}
	if v.Action != "" && !slices.Contains(models.AuditActions, v.Action) {
		v.Errors["action"] = "Choose one of the listed actions."
	}
	if len(v.Target) > 200 {
		v.Errors["target"] = "Target ids are shorter than 200 characters."
	}
	f.From, f.Before = timeRange(v.From, v.To, v.Errors)
	if f.Cursor, err = models.DecodeCursor(c.Query("cursor")); err != nil {
		return h.fail(c, err, nil)
	}
	p := h.page(c, "Audit log", "audit")
	if len(v.Errors) > 0 {
		return render(c, fiber.StatusBadRequest, views.Audit(p, v))
	}
	page, err := h.store.ListAudit(ctx, f)
	if err != nil {
		return h.fail(c, err, nil)
	}
	v.Items = auditRows(page.Items)
	q := url.Values{"operator": {v.Operator}, "action": {v.Action}, "target": {v.Target}, "from": {v.From}, "to": {v.To}}
	v.FirstURL, v.NextURL = listURLs("/audit", q, f.Cursor, page.NextCursor)
	return render(c, fiber.StatusOK, views.Audit(p, v))
}
