package console

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// Lifetimes the emulator issues. SANDBOX goes down to a second so support can
// watch a token expire; in PRODUCTION a token that dies before anyone can
// use it only litters a real user's history.
const (
	emulatorMinSandboxTTL    = time.Second
	emulatorMinProductionTTL = time.Minute
	emulatorMaxTTL           = 24 * time.Hour
	emulatorDefaultTTL       = "5m"
)

// widgetForm is the emulator's two forms in one: issue a fresh token for a
// user, or bring a token someone already has. Action says which was sent.
type widgetForm struct {
	Action     string // "issue" or "paste"
	UserID     string
	Lifetime   string
	Token      string
	AutoLaunch bool
}

func parseWidgetForm(c *fiber.Ctx) widgetForm {
	f := widgetForm{
		Action:     c.FormValue("action"),
		UserID:     strings.TrimSpace(c.FormValue("userId")),
		Lifetime:   strings.TrimSpace(c.FormValue("lifetime")),
		Token:      strings.Join(strings.Fields(c.FormValue("token")), ""), // pasted tokens pick up line breaks
		AutoLaunch: c.FormValue("launch") != "",
	}
	if f.Action != "paste" {
		f.Action = "issue"
	}
	if f.Action == "paste" && f.Lifetime == "" {
		f.Lifetime = emulatorDefaultTTL // the other form's box stays as it was offered
	}
	return f
}

// Validate checks the form that was sent and returns the lifetime to issue
// (zero for a pasted token) and the errors by field.
func (f widgetForm) Validate(m models.Mode) (time.Duration, map[string]string) {
	errs := map[string]string{}
	if f.Action == "paste" {
		if f.Token == "" {
			errs["token"] = "Paste a link token to launch the widget with."
		}
		return 0, errs
	}
	if f.UserID == "" {
		errs["userId"] = "Enter the id of the user to issue a token for."
	}
	ttl, msg := parseLifetime(f.Lifetime, m)
	if msg != "" {
		errs["lifetime"] = msg
	}
	return ttl, errs
}

// parseLifetime reads "30", "30s", "5m" or "1h30m" and applies the mode's
// limits; the message says what to type instead.
func parseLifetime(s string, m models.Mode) (time.Duration, string) {
	if s == "" {
		return 0, "Enter a lifetime, such as 30s, 5m or 1h."
	}
	tooLong := "The longest lifetime is " + views.Span(emulatorMaxTTL) + "."
	var d time.Duration
	if n, err := strconv.ParseInt(s, 10, 64); err == nil { // a bare number is seconds
		if n > int64(emulatorMaxTTL/time.Second) {
			return 0, tooLong
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, "Write the lifetime as seconds (30) or a duration such as 30s, 5m or 1h30m."
	}
	min := emulatorMinSandboxTTL
	if m == models.Production {
		min = emulatorMinProductionTTL
	}
	switch {
	case d%time.Second != 0:
		return 0, "Tokens expire on whole seconds: use a lifetime such as 2s, not " + s + "."
	case d < min && m == models.Production:
		return 0, "In PRODUCTION the shortest lifetime is " + views.Span(min) + ". Switch to SANDBOX to watch a token expire within seconds."
	case d < min:
		return 0, "The shortest lifetime is " + views.Span(min) + "."
	case d > emulatorMaxTTL:
		return 0, tooLong
	}
	return d, ""
}

// widgetView is the page for form f as typed, with errs beside their fields.
func (h *Handler) widgetView(c *fiber.Ctx, f widgetForm, errs map[string]string) views.WidgetView {
	return views.WidgetView{
		UserID: f.UserID, Lifetime: f.Lifetime, Token: f.Token, AutoLaunch: f.AutoLaunch, Errors: errs,
		MinSeconds: mode(c) == models.Sandbox, Script: h.assets.URL("emulator.js"),
	}
}

// WidgetEmulator shows the emulator's forms; ?userId= comes from a user's page.
func (h *Handler) WidgetEmulator(c *fiber.Ctx) error {
	f := widgetForm{UserID: strings.TrimSpace(c.Query("userId")), Lifetime: emulatorDefaultTTL, AutoLaunch: true}
	if w, ok := onceSecret[issuedForWidget](h, c); ok {
		// Back from WidgetLaunch: the token it issued, shown this once.
		v := h.widgetView(c, w.Form, nil)
		v.Launch = &w.Launch
		return render(c, fiber.StatusOK, views.WidgetEmulator(h.page(c, "Widget emulator", "widget"), v))
	}
	return render(c, fiber.StatusOK, views.WidgetEmulator(h.page(c, "Widget emulator", "widget"), h.widgetView(c, f, nil)))
}

// WidgetLaunch issues a fresh token (or checks a pasted one) and shows the
// page again ready to start the widget with it, in the browser, through the
// same SDK and link session API a customer's page uses.
func (h *Handler) WidgetLaunch(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	p := h.page(c, "Widget emulator", "widget")
	f := parseWidgetForm(c)
	ttl, errs := f.Validate(m)
	if len(errs) > 0 {
		return render(c, fiber.StatusBadRequest, views.WidgetEmulator(p, h.widgetView(c, f, errs)))
	}
	fieldError := func(field, msg string) error {
		return render(c, fiber.StatusBadRequest, views.WidgetEmulator(p, h.widgetView(c, f, map[string]string{field: msg})))
	}
	if f.Action == "paste" {
		return h.widgetPasted(c, p, f, fieldError)
	}

	if _, err := h.store.GetUser(ctx, m, f.UserID); err != nil {
		if models.ErrorCode(err) == models.CodeMissingResource {
			return fieldError("userId", "No "+string(m)+" user has this id. Check it, or switch modes if the user is in the other one.")
		}
		return h.fail(c, err, fieldError)
	}
	tok, err := h.store.RefreshToken(ctx, m, f.UserID, actor(c), ttl)
	if err != nil {
		return h.fail(c, err, fieldError)
	}
	h.audit(c, models.AuditTokenRefreshed, "user", tok.UserID,
		fmt.Sprintf("token %s from the widget emulator, lifetime %s", tok.ID, views.Span(ttl)))
	f.Token = "" // the form comes back without a pasted token
	return h.redirectOnce(c, "/widget",
		&views.Flash{Kind: "ok", Text: "Issued a " + string(m) + " token for " + tok.UserID + " that lives " + views.Span(ttl) + "."},
		issuedForWidget{Form: f, Launch: views.WidgetLaunch{
			Issued: true, AccessToken: tok.AccessToken, TokenID: tok.ID, UserID: tok.UserID,
			Mode: string(tok.Mode), ExpiresAt: tok.ExpiresAt, AutoLaunch: f.AutoLaunch,
		}})
}

// issuedForWidget is a token WidgetLaunch issued, on its way through the
// redirect to the emulator page that starts the widget with it, once.
type issuedForWidget struct {
	Form   widgetForm
	Launch views.WidgetLaunch
}

// widgetPasted readies the widget for a token someone already has. Only a
// token this server signed is launched: for anything else the inspector's
// explanation is more use than the widget's refusal. What the link session
// will say about it (used, revoked, expired) is left to the widget, since
// that answer is what the emulator is for.
func (h *Handler) widgetPasted(c *fiber.Ctx, p views.Page, f widgetForm, fieldError func(field, msg string) error) error {
	parsed := h.store.ParseToken(f.Token)
	if !parsed.SignatureOK {
		return fieldError("token", "The widget would refuse this: "+parsed.Problem+".")
	}
	l := &views.WidgetLaunch{
		AccessToken: f.Token, TokenID: parsed.Claims.ID, UserID: parsed.Claims.Subject,
		Mode: string(parsed.Claims.Mode), AutoLaunch: f.AutoLaunch,
	}
	if parsed.Claims.ExpiresAt != nil {
		l.ExpiresAt = parsed.Claims.ExpiresAt.Time.UTC()
	}
	if viewing := mode(c); parsed.Claims.Mode != viewing {
		l.Warnings = append(l.Warnings, "This is a "+l.Mode+" token, but you are viewing "+string(viewing)+
			". The widget will connect as the "+l.Mode+" user, and its history is in "+l.Mode+".")
	}
	if parsed.ExpiredClaim {
		l.Warnings = append(l.Warnings, "This token expired "+views.Relative(l.ExpiresAt, h.store.Now())+
			": the widget will say so. Issue a fresh one to test a launch.")
	}
	v := h.widgetView(c, f, nil)
	v.Launch = l
	c.Set(fiber.HeaderCacheControl, "no-store")
	return render(c, fiber.StatusOK, views.WidgetEmulator(p, v))
}
