package console

import (
	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// KeyList shows the mode's API keys.
func (h *Handler) KeyList(c *fiber.Ctx) error {
	v, err := h.keysView(c)
	if err != nil {
		return h.fail(c, err, nil)
	}
	if nk, ok := onceSecret[views.NewKey](h, c); ok {
		v.NewKey = &nk
	}
	p := h.page(c, "API keys", "keys")
	if k := c.Query("revoked"); k != "" {
		for _, row := range v.Items {
			if row.Key == k && row.RevokedAt != nil {
				p.Flash = &views.Flash{Kind: "ok", Text: "API key " + k + " revoked: requests made with it are now refused."}
			}
		}
	}
	return render(c, fiber.StatusOK, views.Keys(p, v))
}

func (h *Handler) keysView(c *fiber.Ctx) (views.KeysView, error) {
	keys, err := h.store.ListAPIKeys(c.UserContext(), mode(c))
	if err != nil {
		return views.KeysView{}, err
	}
	v := views.KeysView{Items: make([]views.KeyRow, len(keys))}
	for i, k := range keys {
		v.Items[i] = views.KeyRow{ID: k.ID, Name: k.Name, Key: k.Key, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
	}
	return v, nil
}

// KeyCreate makes a key pair for the mode and shows its secret once.
func (h *Handler) KeyCreate(c *fiber.Ctx) error {
	name := c.FormValue("name")
	k, err := h.store.CreateAPIKey(c.UserContext(), mode(c), name, actor(c))
	if err != nil {
		return h.fail(c, err, func(field, msg string) error {
			v, lerr := h.keysView(c)
			if lerr != nil {
				return h.fail(c, lerr, nil)
			}
			v.Name, v.Error = name, msg
			return render(c, fiber.StatusBadRequest, views.Keys(h.page(c, "API keys", "keys"), v))
		})
	}
	h.audit(c, models.AuditKeyCreated, "api_key", k.ID, k.Key+" "+k.Name)
	return h.redirectOnce(c, "/keys", nil, views.NewKey{Name: k.Name, Key: k.Key, Secret: k.Secret})
}

// KeyRevoke revokes a key of the mode, after confirmation.
func (h *Handler) KeyRevoke(c *fiber.Ctx) error {
	ctx, m := c.UserContext(), mode(c)
	keys, err := h.store.ListAPIKeys(ctx, m)
	if err != nil {
		return h.fail(c, err, nil)
	}
	var key *models.APIKey
	for i := range keys {
		if keys[i].ID == c.Params("id") {
			key = &keys[i]
		}
	}
	if key == nil {
		return h.fail(c, models.NotFound("API key", c.Params("id")), nil)
	}
	ok, err := h.confirmed(c, views.ConfirmView{
		Title:   "Revoke API key " + key.Key + "?",
		Message: "Every request made with “" + key.Name + "” will be refused from now on. This cannot be undone; create a new key to replace it.",
		Button:  "Revoke key", Cancel: "/keys",
	})
	if !ok {
		return err
	}
	k, err := h.store.RevokeAPIKey(ctx, m, key.ID)
	if err != nil {
		return h.fail(c, err, nil)
	}
	h.audit(c, models.AuditKeyRevoked, "api_key", k.ID, k.Key+" "+k.Name)
	return c.Redirect("/keys?revoked="+k.Key, fiber.StatusSeeOther)
}
