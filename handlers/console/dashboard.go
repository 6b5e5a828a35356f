package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// Dashboard shows the mode's counts, the deliveries chart and the newest users.
func (h *Handler) Dashboard(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	d, err := h.store.LoadDashboard(ctx, m)
	if err != nil {
		return h.fail(c, err, nil)
	}
	recent, err := h.store.ListUsers(ctx, m, models.UserFilter{Size: 5})
	if err != nil {
		return h.fail(c, err, nil)
	}
	hours := make([]views.ChartHour, len(d.Hourly))
	for i, b := range d.Hourly {
		hours[i] = views.ChartHour{Start: b.Start, Succeeded: b.Succeeded, Failed: b.Failed, Pending: b.Pending}
	}
	v := views.DashboardView{
		Users: d.Users, ActiveTokens: d.ActiveTokens, ActiveTokensCapped: d.ActiveTokensCapped,
		Succeeded: d.Deliveries24h[models.DeliverySucceeded], Failed: d.Deliveries24h[models.DeliveryFailed],
		Retrying: d.Retrying24h, Pending: max(0, d.Deliveries24h[models.DeliveryPending]-d.Retrying24h), Endpoints: d.Endpoints, FailingEndpoints: d.FailingEndpoints,
		Chart:       views.BuildChart(hours, 960, 170),
		RecentUsers: userRows(recent.Items),
	}
	return render(c, fiber.StatusOK, views.Dashboard(h.page(c, "Dashboard", "dashboard"), v))
}

func userRows(us []models.User) []views.UserRow {
	rows := make([]views.UserRow, len(us))
	for i, u := range us {
		rows[i] = views.UserRow{ID: u.ID, CreatedAt: u.CreatedAt, Metadata: pairs(u.ExternalMetadata)}
	}
	return rows
}
