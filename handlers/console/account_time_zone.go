package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// commonTimeZones are offered in the account form's list; any IANA name may
// be typed.
var commonTimeZones = []string{
	"UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Warsaw", "Europe/Kyiv",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
	"America/Mexico_City", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo",
	"Australia/Sydney", "Africa/Lagos", "Africa/Johannesburg",
}

// timeZoneShown is what the form shows: what was typed when it was refused,
// else the operator's zone.
func timeZoneShown(current, typed string, errs map[string]string) string {
	if errs["time_zone"] != "" {
		return typed
	}
	if current == "" {
		return "UTC"
	}
	return current
}

// AccountTimeZone sets the zone the console shows this operator's times in.
func (h *Handler) AccountTimeZone(c *fiber.Ctx) error {
	s := session(c)
	zone, err := h.store.SetOperatorTimeZone(c.UserContext(), s.OperatorID, c.FormValue("time_zone"))
	if err != nil {
		return h.fail(c, err, func(_, msg string) error {
			return h.renderAccount(c, fiber.StatusBadRequest, map[string]string{"time_zone": sentence(msg)}, nil)
		})
	}
	h.audit(c, models.AuditTimeZoneChanged, "operator", s.OperatorID, zone)
	return h.redirectOnce(c, "/account", &views.Flash{Kind: "ok", Text: "Times are shown in " + zone + " now."}, nil)
}
