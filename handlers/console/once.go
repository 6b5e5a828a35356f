package console

import (
	"encoding/json"
	"reflect"
	"time"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// What a POST wants the page after its redirect to show one time: the
// outcome line, and for some actions a secret (a new link token, an API
// key's secret, an endpoint's signing secret). Every POST then ends in a
// redirect, so a reload repeats nothing, and the secret is shown on the page
// it lands on and gone on the next load. The entry is kept by the store
// (models.PutOnce), sealed, so the page may be served by another instance;
// it is bound to the session that made it and lasts at most onceTTL.

// onceEntry is what the redirect left, as the page reads it.
type onceEntry struct {
	flash      *views.Flash
	secretType string
	secret     []byte // JSON of a value of secretType
}

const (
	onceCookie = "td_once"
	onceTTL    = 10 * time.Minute
	localOnce  = "console.once"
)

// typeName names T for the entry, so a page reads back only the kind of
// secret it expects.
func typeName(t reflect.Type) string { return t.PkgPath() + "." + t.String() }

// redirectOnce ends a POST: the next page shows flash and hands secret to
// its handler (onceSecret), once.
func (h *Handler) redirectOnce(c *fiber.Ctx, to string, flash *views.Flash, secret any) error {
	e := models.OnceEntry{SessionID: session(c).ID, ExpiresAt: h.store.Now().Add(onceTTL)}
	if flash != nil {
		e.FlashKind, e.FlashText = flash.Kind, flash.Text
	}
	if secret != nil {
		b, err := json.Marshal(secret)
		if err != nil {
			return h.fail(c, err, nil)
		}
		e.SecretType, e.Secret = typeName(reflect.TypeOf(secret)), b
	}
	id, err := h.store.PutOnce(c.UserContext(), e)
	if err != nil {
		return h.fail(c, err, nil)
	}
	c.Cookie(&fiber.Cookie{Name: onceCookie, Value: id, Path: "/", HTTPOnly: true, SameSite: "Lax",
		Secure: c.Protocol() == "https", MaxAge: int(onceTTL / time.Second)})
	return c.Redirect(to, fiber.StatusSeeOther)
}

// taken is what the redirect that led to this request left, read once per
// request and cleared from the browser at once.
func (h *Handler) taken(c *fiber.Ctx) onceEntry {
	if e, ok := c.Locals(localOnce).(onceEntry); ok {
		return e
	}
	var e onceEntry
	if id := c.Cookies(onceCookie); id != "" && session(c) != nil {
		got, ok, err := h.store.TakeOnce(c.UserContext(), id, session(c).ID)
		if err != nil {
			// The page is still worth showing; only the line above it is lost.
			h.log.Error("the page's one-time message was not read", "request_id", c.Locals(requestIDKey), "error", err)
		}
		if ok {
			e.secretType, e.secret = got.SecretType, got.Secret
			if got.FlashKind != "" || got.FlashText != "" {
				e.flash = &views.Flash{Kind: got.FlashKind, Text: got.FlashText}
			}
		}
		c.Cookie(&fiber.Cookie{Name: onceCookie, Value: "", Path: "/", HTTPOnly: true, SameSite: "Lax", MaxAge: -1,
			Expires: time.Unix(0, 0)})
	}
	c.Locals(localOnce, e)
	return e
}

// onceSecret is the secret the redirect carried, if it is of type T.
func onceSecret[T any](h *Handler, c *fiber.Ctx) (T, bool) {
	var v T
	e := h.taken(c)
	if e.secretType == "" || e.secretType != typeName(reflect.TypeFor[T]()) {
		return v, false
	}
	if err := json.Unmarshal(e.secret, &v); err != nil {
		h.log.Error("the page's one-time secret does not read", "request_id", c.Locals(requestIDKey), "error", err)
		return v, false
	}
	// A page showing a secret must not be kept by any cache.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return v, true
}
