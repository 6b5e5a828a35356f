package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// How much of a user's history the page shows.
const (
	userTokensShown     = 20
	userEventsShown     = 20
	userDeliveriesShown = 20
	userAuditShown      = 30
	userRequestsShown   = 20
)

// UserShow shows a user with metadata, tokens, events, deliveries and audit trail.
func (h *Handler) UserShow(c *fiber.Ctx) error {
	u, err := h.store.GetUser(c.UserContext(), mode(c), c.Params("id"))
	if err != nil {
		return h.fail(c, err, nil)
	}
	v, err := h.userView(c, u)
	if err != nil {
		return h.fail(c, err, nil)
	}
	v.Highlight = c.Query("highlight")
	if nt, ok := onceSecret[views.NewToken](h, c); ok {
		v.NewToken, v.Highlight = &nt, nt.ID
	}
	p := h.page(c, u.ID, "users")
	if id := c.Query("revoked"); id != "" {
		for _, t := range v.Tokens {
			if t.ID == id && t.Status == string(models.TokenRevoked) {
				p.Flash = &views.Flash{Kind: "ok", Text: "Token " + id + " revoked: it can no longer start the widget."}
			}
		}
	}
	return render(c, fiber.StatusOK, views.UserShow(p, v))
}

// userView gathers everything the user page shows.
func (h *Handler) userView(c *fiber.Ctx, u *models.User) (views.UserView, error) {
	ctx, m := c.UserContext(), mode(c)
	v := views.UserView{ID: u.ID, CreatedAt: u.CreatedAt, Metadata: pairs(u.ExternalMetadata)}
	toks, err := h.store.ListUserTokens(ctx, m, u.ID, userTokensShown)
	if err != nil {
		return v, err
	}
	now := h.store.Now()
	for _, t := range toks {
		v.Tokens = append(v.Tokens, views.TokenRow{
			ID: t.ID, Status: string(t.Status(now)), IssuedAt: t.IssuedAt, IssuedBy: t.IssuedBy,
			ExpiresAt: t.ExpiresAt, ConsumedAt: t.ConsumedAt, RevokedAt: t.RevokedAt, RevokedBy: t.RevokedBy,
		})
	}
	evs, err := h.store.ListUserEvents(ctx, m, u.ID, userEventsShown)
	if err != nil {
		return v, err
	}
	for _, e := range evs {
		v.Events = append(v.Events, views.EventRow{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt})
	}
	ds, err := h.store.ListUserDeliveries(ctx, m, u.ID, userDeliveriesShown)
	if err != nil {
		return v, err
	}
	for _, d := range ds {
		name := d.EndpointName
		if name == "" {
			name = d.EndpointID
		}
		v.Deliveries = append(v.Deliveries, views.DeliveryRow{
			ID: d.ID, EndpointID: d.EndpointID, Endpoint: name, Status: d.Shown(), Attempts: d.AttemptCount,
			LastCode: d.LastStatusCode, LastError: d.LastError, CreatedAt: d.CreatedAt,
		})
	}
	reqs, err := h.store.ListAPIRequests(ctx, m, models.APIRequestFilter{UserID: &u.ID, Size: userRequestsShown})
	if err != nil {
		return v, err
	}
	v.Requests = requestRows(reqs.Items)
	audit, err := h.store.ListAudit(ctx, models.AuditFilter{TargetID: u.ID, Size: userAuditShown})
	if err != nil {
		return v, err
	}
	v.Audit = auditRows(audit.Items)
	return v, nil
}

func auditRows(es []models.AuditEntry) []views.AuditRow {
	rows := make([]views.AuditRow, len(es))
	for i, e := range es {
		who := e.OperatorEmail
		if who == "" {
			who = e.OperatorID
		}
		rows[i] = views.AuditRow{At: e.CreatedAt, Operator: who, Action: e.Action, Mode: string(e.Mode), TargetType: e.TargetType, Target: e.TargetID, Detail: e.Detail, IP: e.IP}
	}
	return rows
}
