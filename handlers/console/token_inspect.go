package console

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// TokenInspectForm shows the empty inspector.
func (h *Handler) TokenInspectForm(c *fiber.Ctx) error {
	return render(c, fiber.StatusOK, views.TokenInspect(h.page(c, "Token inspector", "inspect"), views.InspectView{}))
}

// TokenInspect explains a pasted token.
func (h *Handler) TokenInspect(c *fiber.Ctx) error {
	return h.inspect(c, c.FormValue("token"))
}

func (h *Handler) inspect(c *fiber.Ctx, raw string) error {
	p := h.page(c, "Token inspector", "inspect")
	raw = strings.Join(strings.Fields(raw), "") // pasted tokens pick up line breaks
	v := views.InspectView{Token: raw}
	if raw == "" {
		v.Error = "Paste a link token to inspect."
		return render(c, fiber.StatusBadRequest, views.TokenInspect(p, v))
	}
	verdict, err := h.verdict(c, raw)
	if err != nil {
		return h.fail(c, err, nil)
	}
	v.Verdict = verdict
	c.Set(fiber.HeaderCacheControl, "no-store")
	return render(c, fiber.StatusOK, views.TokenInspect(p, v))
}

// verdict checks the signature, finds the token's row (in any mode) and
// says in plain words whether it can start the widget, and if not, why.
func (h *Handler) verdict(c *fiber.Ctx, raw string) (*views.Verdict, error) {
	ctx, viewing := c.UserContext(), mode(c)
	now := h.store.Now()
	parsed := h.store.ParseToken(raw)
	row, err := h.store.FindTokenByRaw(ctx, raw)
	if err != nil {
		return nil, err
	}
	v := &views.Verdict{SignatureOK: parsed.SignatureOK}
	if parsed.SignatureOK {
		v.Signature = "signed with key " + parsed.Kid
		if k, err := h.store.GetSigningKeyInfo(ctx, parsed.Kid); err == nil {
			v.Signature += " (" + string(k.Mode) + " key"
			if k.Retired {
				v.Signature += ", since rotated out; it still verifies"
			}
			v.Signature += ")"
		}
		v.TokenMode = string(parsed.Claims.Mode)
		v.UserID = parsed.Claims.Subject
		if parsed.Claims.IssuedAt != nil {
			t := parsed.Claims.IssuedAt.Time.UTC()
			v.IssuedAt = &t
		}
		if parsed.Claims.ExpiresAt != nil {
			t := parsed.Claims.ExpiresAt.Time.UTC()
			v.ExpiresAt = &t
		}
	} else {
		v.Signature = parsed.Problem
	}
	if row != nil {
		v.IssuedHere = true
		v.TokenID, v.UserID, v.TokenMode = row.ID, row.UserID, string(row.Mode)
		v.IssuedAt, v.IssuedBy, v.ExpiresAt = &row.IssuedAt, row.IssuedBy, &row.ExpiresAt
		v.ConsumedAt, v.RevokedAt, v.RevokedBy = row.ConsumedAt, row.RevokedAt, row.RevokedBy
	}
	if v.TokenMode != "" && v.TokenMode != string(viewing) {
		v.ModeWarning = "This is a " + v.TokenMode + " token, but you are viewing " + string(viewing) +
			". Its user and history are in " + v.TokenMode + "; switch modes to open them."
	}
	v.UserLink = v.UserID != "" && v.IssuedHere && v.TokenMode == string(viewing)

	switch {
	case !parsed.SignatureOK:
		v.Kind, v.Headline = "bad", "Not a valid token from this server"
		v.Reasons = append(v.Reasons, "The signature check failed: "+parsed.Problem+".")
		if row == nil {
			v.Reasons = append(v.Reasons, "No token with this text was ever issued here.")
		}
	case row == nil:
		v.Kind, v.Headline = "bad", "Never issued here"
		v.Reasons = append(v.Reasons, "The signature is valid, but this server has no record of issuing this token, so the widget refuses it.")
	default:
		switch row.Status(now) {
		case models.TokenRevoked:
			v.Kind, v.Headline = "bad", "Revoked: this token cannot start the widget"
			v.Reasons = append(v.Reasons, "It was revoked "+views.Relative(*row.RevokedAt, now)+" by "+orSomeone(row.RevokedBy)+".")
		case models.TokenConsumed:
			v.Kind, v.Headline = "bad", "Already used: a link token starts the widget only once"
			v.Reasons = append(v.Reasons, "The widget used it "+views.Relative(*row.ConsumedAt, now)+". Issue a fresh token for every launch.")
		case models.TokenExpired:
			v.Kind, v.Headline = "bad", "Expired "+views.Span(now.Sub(row.ExpiresAt))+" ago"
			v.Reasons = append(v.Reasons, "It expired at "+views.ExactTime(row.ExpiresAt)+" before anyone used it. Issue a fresh token.")
		default:
			v.Kind, v.Headline = "ok", "Valid: this token can start the widget once"
			v.Reasons = append(v.Reasons, "It has not been used and expires in "+views.Span(row.ExpiresAt.Sub(now))+".")
		}
	}
	if v.ModeWarning != "" && v.Kind == "ok" {
		v.Kind = "warn"
	}
	return v, nil
}

func orSomeone(s string) string {
	if s == "" {
		return "an unknown actor"
	}
	return s
}
