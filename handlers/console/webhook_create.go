package console

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// webhookForm is the endpoint form as posted. Checkboxes are absent when
// unticked, so a posted form always says active and includePayload.
type webhookForm struct {
	Name, URL, Secret string
	EventTypes        []string
	Active            bool
	IncludePayload    bool
	// The delivery limits as typed; empty for none (rate) or the server's
	// default (in flight).
	RateLimit, MaxInFlight string
}

func parseWebhookForm(c *fiber.Ctx) webhookForm {
	f := webhookForm{
		Name: c.FormValue("name"), URL: strings.TrimSpace(c.FormValue("url")), Secret: c.FormValue("secret"),
		Active: c.FormValue("active") == "true", IncludePayload: c.FormValue("includePayload") == "true",
		EventTypes: []string{},
		RateLimit:  strings.TrimSpace(c.FormValue("rateLimit")), MaxInFlight: strings.TrimSpace(c.FormValue("maxInFlight")),
	}
	for _, v := range c.Request().PostArgs().PeekMulti("eventTypes") {
		f.EventTypes = append(f.EventTypes, string(v))
	}
	if joined := c.FormValue("eventTypesJoined"); joined != "" && len(f.EventTypes) == 0 {
		f.EventTypes = strings.Split(joined, ",")
	}
	return f
}

// input is the store's request; withSecret includes the secret (create only).
func (f webhookForm) input(withSecret bool) models.WebhookInput {
	in := models.WebhookInput{Name: &f.Name, URL: &f.URL, EventTypes: f.EventTypes, Active: &f.Active, IncludePayload: &f.IncludePayload}
	if n, ok := formLimit(f.RateLimit); ok {
		in.RateLimit = &n
	}
	if n, ok := formLimit(f.MaxInFlight); ok {
		in.MaxInFlight = &n
	}
	if withSecret {
		in.Secret = &f.Secret
	}
	return in
}

// Validate returns every problem beside its field, by the contract's rules
// for the session's mode.
func (f webhookForm) Validate(s *models.Store, m models.Mode, create bool) map[string]string {
	in := f.input(create)
	errs := map[string]string{}
	for field, msg := range s.WebhookFieldErrors(m, in, create) {
		errs[field] = sentence(msg)
	}
	// The contract's length messages read oddly for an empty box.
	if strings.TrimSpace(f.Name) == "" {
		errs["name"] = "Give the endpoint a name, up to 200 characters."
	}
	if f.URL == "" {
		errs["url"] = "Enter the URL events are sent to."
	}
	if _, ok := formLimit(f.RateLimit); !ok {
		errs["rateLimit"] = fmt.Sprintf("Enter a whole number of requests a second, up to %d, or leave it empty for no limit.", models.MaxWebhookRateLimit)
	}
	if _, ok := formLimit(f.MaxInFlight); !ok {
		errs["maxInFlight"] = fmt.Sprintf("Enter a whole number of attempts at once, up to %d, or leave it empty for the server's default.", models.MaxWebhookMaxInFlight)
	}
	return errs
}

// formLimit reads a limit box: empty is 0 (none, or the default).
func formLimit(v string) (int, bool) {
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// offeredEventTypes are the boxes the endpoint form shows: ALL_EVENTS and
// the types this server sends, plus any other type of the contract the
// endpoint already has (the API accepts the contract's whole list), so that
// editing it does not drop them.
func offeredEventTypes(chosen []string) []string {
	out := append([]string{models.EventAllEvents}, models.EmittedEventTypes...)
	for _, t := range chosen {
		if !slices.Contains(out, t) && slices.Contains(models.EventTypes, t) {
			out = append(out, t)
		}
	}
	return out
}

// limitText shows a stored limit in its box: 0 is left empty.
func limitText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func (f webhookForm) view(id string, errs map[string]string) views.WebhookFormView {
	return views.WebhookFormView{
		ID: id, Name: f.Name, URL: f.URL, Secret: f.Secret, EventTypes: f.EventTypes, AllTypes: offeredEventTypes(f.EventTypes),
		Active: f.Active, IncludePayload: f.IncludePayload, RateLimit: f.RateLimit, MaxInFlight: f.MaxInFlight, Errors: errs,
	}
}

// sentence starts a store message with a capital and ends it with a full stop.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, ")") {
		msg += "."
	}
	return msg
}

// WebhookNew shows the empty endpoint form: active, subscribed to USER_CREATED.
func (h *Handler) WebhookNew(c *fiber.Ctx) error {
	f := webhookForm{Active: true, EventTypes: []string{models.EventUserCreated}}
	return render(c, fiber.StatusOK, views.WebhookNew(h.page(c, "New endpoint", "webhooks"), f.view("", nil)))
}

// WebhookCreate adds an endpoint to the session's mode. An empty secret is
// generated, so the operator need not invent one.
func (h *Handler) WebhookCreate(c *fiber.Ctx) error {
	f := parseWebhookForm(c)
	p := h.page(c, "New endpoint", "webhooks")
	generated := false
	if f.Secret == "" {
		f.Secret, generated = h.store.NewWebhookSecret(), true
	}
	if errs := f.Validate(h.store, mode(c), true); len(errs) > 0 {
		if generated {
			f.Secret = ""
		}
		return render(c, fiber.StatusBadRequest, views.WebhookNew(p, f.view("", errs)))
	}
	ep, err := h.store.CreateWebhookEndpoint(c.UserContext(), mode(c), f.input(true))
	if err != nil {
		return h.fail(c, err, func(field, msg string) error {
			return render(c, fiber.StatusBadRequest, views.WebhookNew(p, f.view("", map[string]string{field: sentence(msg)})))
		})
	}
	h.audit(c, models.AuditWebhookCreated, "webhook", ep.ID, ep.Name+" → "+ep.URL)
	return c.Redirect("/webhooks/"+ep.ID+"?created=1", fiber.StatusSeeOther)
}
