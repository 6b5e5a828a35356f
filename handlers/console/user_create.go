package console

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
	"tokendesk/views"
)

// userForm is the new-user form: five key/value rows, any of them empty.
type userForm struct {
	Pairs [models.MaxMetadataPairs]views.Pair
}

func parseUserForm(c *fiber.Ctx) userForm {
	var f userForm
	for i := range f.Pairs {
		f.Pairs[i] = views.Pair{Key: strings.TrimSpace(c.FormValue("key" + strconv.Itoa(i))), Value: c.FormValue("value" + strconv.Itoa(i))}
	}
	return f
}

// Validate applies the contract's metadata rules and says which box is wrong.
func (f userForm) Validate() (models.Metadata, map[string]string) {
	errs := map[string]string{}
	md := models.Metadata{}
	seen := map[string]int{}
	for i, p := range f.Pairs {
		kf, vf := "key"+strconv.Itoa(i), "value"+strconv.Itoa(i)
		switch {
		case p.Key == "" && p.Value == "":
			continue
		case p.Key == "":
			errs[kf] = "A value needs a key."
			continue
		case len(p.Key) > models.MaxMetadataKeyLen:
			errs[kf] = fmt.Sprintf("Keys are at most %d characters; this one has %d.", models.MaxMetadataKeyLen, len(p.Key))
		case !ascii(p.Key):
			errs[kf] = "Keys use ASCII characters only."
		}
		if j, dup := seen[p.Key]; dup {
			errs[kf] = fmt.Sprintf("Key %q is already used in row %d.", p.Key, j+1)
		}
		seen[p.Key] = i
		switch {
		case len(p.Value) > models.MaxMetadataValueLen:
			errs[vf] = fmt.Sprintf("Values are at most %d characters; this one has %d.", models.MaxMetadataValueLen, len(p.Value))
		case !ascii(p.Value):
			errs[vf] = "Values use ASCII characters only."
		}
		md[p.Key] = p.Value
	}
	return md, errs
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > 0x7f {
			return false
		}
	}
	return true
}

func (f userForm) view(errs map[string]string) views.UserFormView {
	return views.UserFormView{Pairs: f.Pairs[:], Errors: errs}
}

// UserNew shows the empty new-user form.
func (h *Handler) UserNew(c *fiber.Ctx) error {
	return render(c, fiber.StatusOK, views.UserNew(h.page(c, "New user", "users"), userForm{}.view(nil)))
}

// UserCreate creates the user and shows its page with the first token, once.
func (h *Handler) UserCreate(c *fiber.Ctx) error {
	f := parseUserForm(c)
	p := h.page(c, "New user", "users")
	md, errs := f.Validate()
	if len(errs) > 0 {
		return render(c, fiber.StatusBadRequest, views.UserNew(p, f.view(errs)))
	}
	created, err := h.store.CreateUser(c.UserContext(), mode(c), md, actor(c))
	if err != nil {
		return h.fail(c, err, func(field, msg string) error {
			return render(c, fiber.StatusBadRequest, views.UserNew(p, f.view(map[string]string{f.fieldOf(field, msg): msg})))
		})
	}
	h.audit(c, models.AuditUserCreated, "user", created.User.ID, fmt.Sprintf("%d metadata pairs; first token %s", len(md), created.Token.ID))
	return h.redirectOnce(c, "/users/"+url.PathEscape(created.User.ID),
		&views.Flash{Kind: "ok", Text: "User created in " + string(mode(c)) + "."},
		views.NewToken{ID: created.Token.ID, AccessToken: created.Token.AccessToken, ExpiresAt: created.Token.ExpiresAt})
}

// fieldOf places a store error about externalMetadata.<key> beside its row.
func (f userForm) fieldOf(field, msg string) string {
	key, ok := strings.CutPrefix(field, "externalMetadata.")
	if !ok {
		return "externalMetadata"
	}
	for i, p := range f.Pairs {
		if p.Key == key {
			if strings.Contains(msg, " key ") {
				return "key" + strconv.Itoa(i)
			}
			return "value" + strconv.Itoa(i)
		}
	}
	return "externalMetadata"
}
