package console

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"tokendesk/views"
)

// onceStore carries what a POST wants the page after its redirect to show
// one time: the outcome line, and for some actions a secret (a new link
// token, an API key's secret, an endpoint's signing secret). Every POST
// then ends in a redirect, so a reload repeats nothing, and the secret is
// shown on the page it lands on and gone on the next load. It lives in
// memory only, since secrets are never stored in the clear; an entry is
// bound to the session that made it and lasts at most onceTTL.
type onceStore struct {
	mu sync.Mutex
	m  map[string]onceEntry
}

type onceEntry struct {
	session string
	flash   *views.Flash
	secret  any
	expires time.Time
}

const (
	onceCookie = "td_once"
	onceTTL    = 10 * time.Minute
	localOnce  = "console.once"
)

func (o *onceStore) put(e onceEntry) string {
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[string]onceEntry{}
	}
	for k, v := range o.m { // few entries live at once: sweeping on write is enough
		if time.Now().After(v.expires) {
			delete(o.m, k)
		}
	}
	o.m[id] = e
	return id
}

func (o *onceStore) take(id, session string) (onceEntry, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.m[id]
	if !ok || e.session != session || time.Now().After(e.expires) {
		return onceEntry{}, false
	}
	delete(o.m, id)
	return e, true
}

// redirectOnce ends a POST: the next page shows flash and hands secret to
// its handler (onceSecret), once.
func (h *Handler) redirectOnce(c *fiber.Ctx, to string, flash *views.Flash, secret any) error {
	id := h.once.put(onceEntry{session: session(c).ID, flash: flash, secret: secret, expires: time.Now().Add(onceTTL)})
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
		e, _ = h.once.take(id, session(c).ID)
		c.Cookie(&fiber.Cookie{Name: onceCookie, Value: "", Path: "/", HTTPOnly: true, SameSite: "Lax", MaxAge: -1,
			Expires: time.Unix(0, 0)})
	}
	c.Locals(localOnce, e)
	return e
}

// onceSecret is the secret the redirect carried, if it is of type T.
func onceSecret[T any](h *Handler, c *fiber.Ctx) (T, bool) {
	v, ok := h.taken(c).secret.(T)
	if ok {
		// A page showing a secret must not be kept by any cache.
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	return v, ok
}
