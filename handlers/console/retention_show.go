package console

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

var retentionWhat = map[string]string{
	"tokens":     "Expired link tokens (counted from their expiry)",
	"sessions":   "Ended console sessions (from their end)",
	"attempts":   "Webhook attempts (from their start)",
	"deliveries": "Finished webhook deliveries, with their attempts (from their creation)",
	"events":     "Events no delivery refers to (from their creation)",
	"requests":   "The API request log's entries (from the request)",
}

// RetentionShow shows the retention in force and what pruning deleted.
func (h *Handler) RetentionShow(c *fiber.Ctx) error {
	rep, err := h.store.RetentionReport(c.UserContext())
	if err != nil {
		return h.fail(c, err, nil)
	}
	v := views.RetentionView{LastRunAt: rep.LastRunAt, LastTook: rep.LastTook, LastError: rep.LastError, Since: rep.Since}
	for _, k := range models.PruneKinds {
		keep := "not known until the first run"
		if d, ok := rep.Retention[k]; ok {
			keep = keepText(d)
		}
		v.Rows = append(v.Rows, views.RetentionRow{Kind: k, What: retentionWhat[k], Keep: keep, Last: rep.Last[k], Total: rep.Total[k]})
	}
	return render(c, fiber.StatusOK, views.Retention(h.page(c, "Retention", "retention"), v))
}

func keepText(d time.Duration) string {
	switch {
	case d <= 0:
		return "forever"
	case d%(24*time.Hour) == 0 && d == 24*time.Hour:
		return "1 day"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
