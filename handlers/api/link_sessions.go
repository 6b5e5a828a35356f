package api

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

// linkSessionJSON is what the widget learns when it starts: who it is
// connected as, in which mode, and the token it consumed. session is the
// contract's UserSession object.
type linkSessionJSON struct {
	TokenID    string          `json:"tokenId"`
	UserID     string          `json:"userId"`
	Mode       models.Mode     `json:"mode"`
	ExpiresAt  string          `json:"expiresAt"`
	ConsumedAt string          `json:"consumedAt"`
	Session    userSessionJSON `json:"session"`
}

type userSessionJSON struct {
	UserID  string `json:"userId"`
	Channel string `json:"channel"`
	Status  string `json:"status"`
}

// refusalData is the data of an INVALID_TOKEN envelope from this endpoint:
// the reason in one word, so the SDK can tell expiry (fire onTokenExpired)
// from the other refusals without reading the message.
type refusalData struct {
	Reason models.TokenRefusal `json:"reason"`
	At     string              `json:"at,omitempty"` // when it was used, expired or was revoked
}

// CreateLinkSession serves POST /v1/link/sessions: the widget presents its
// link token as a Bearer token and the token is consumed. It is the only
// API route not authenticated by an API key; the token is the credential.
func (h *Handler) CreateLinkSession(c *fiber.Ctx) error {
	raw, found := bearerToken(c.Get(fiber.HeaderAuthorization))
	if !found {
		return h.writeRefusal(c, &models.TokenRefusedError{Reason: models.RefusedMissing, Err: models.Errorf(models.CodeInvalidToken,
			"missing link token: send it as Authorization: Bearer <token>")})
	}
	t, err := h.Store.ConsumeToken(c.UserContext(), raw)
	var refusal *models.TokenRefusedError
	if errors.As(err, &refusal) {
		return h.writeRefusal(c, refusal)
	}
	if err != nil {
		return err
	}
	return ok(c, models.CodeCreated, linkSessionJSON{
		TokenID: t.ID, UserID: t.UserID, Mode: t.Mode,
		ExpiresAt: models.FormatTime(t.ExpiresAt), ConsumedAt: models.FormatTime(*t.ConsumedAt),
		Session: userSessionJSON{UserID: t.UserID, Channel: "Default", Status: "IN_PROGRESS"},
	})
}

func (h *Handler) writeRefusal(c *fiber.Ctx, r *models.TokenRefusedError) error {
	// RFC 6750: a refused Bearer token is answered with this challenge.
	c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="tokendesk link", error="invalid_token"`)
	data := refusalData{Reason: r.Reason}
	if r.At != nil {
		data.At = models.FormatTime(*r.At)
	}
	return c.Status(r.Err.Code.Status()).JSON(Envelope{Code: r.Err.Code, Message: r.Err.Message, RequestID: requestID(c), Data: data})
}

// bearerToken reads an Authorization header of the Bearer scheme.
func bearerToken(header string) (string, bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// LinkCORS lets the widget call the link session endpoint from any origin.
// That is safe because the request carries its own credential (the Bearer
// token) and no cookie: a wildcard origin without credentials gives another
// site nothing it does not already hold. Preflights are answered here.
func (h *Handler) LinkCORS(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set(fiber.HeaderAccessControlExposeHeaders, "X-Request-Id")
	if c.Method() != fiber.MethodOptions {
		return c.Next()
	}
	c.Set(fiber.HeaderAccessControlAllowMethods, "POST, OPTIONS")
	c.Set(fiber.HeaderAccessControlAllowHeaders, "Authorization, Content-Type")
	c.Set(fiber.HeaderAccessControlMaxAge, "600")
	return c.SendStatus(fiber.StatusNoContent)
}
