package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"tokendesk/models"
)

// passwordCase is one post of a password form and what the page must say.
type passwordCase struct {
	name   string
	path   string
	form   url.Values
	status int
	errors map[string]string // field name → part of the message beside it
	flash  string
}

// fieldError is the message beside the form field named name, or "".
func fieldError(doc *goquery.Document, name string) string {
	return strings.TrimSpace(doc.Find(`input[name=` + name + `]`).Closest(".field").Find(`[data-testid=field-error]`).Text())
}

func runPasswordCases(t *testing.T, b *browserless, cases []passwordCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, doc, body := b.post(c.path, c.form)
			if got, want := resp.StatusCode, c.status; got != want {
				t.Fatalf("status %d, want %d; body:\n%s", got, want, body)
			}
			if resp.StatusCode == http.StatusSeeOther { // done: the outcome is on the page it leads to
				var next *http.Response
				if next, doc, body = b.page(http.MethodGet, resp.Header.Get("Location"), nil); next.StatusCode != http.StatusOK {
					t.Fatalf("after the redirect: status %d", next.StatusCode)
				}
			}
			for _, name := range []string{"current_password", "new_password", "confirm_password"} {
				got, want := fieldError(doc, name), c.errors[name]
				if (want == "") != (got == "") || !strings.Contains(got, want) {
					t.Errorf("beside %s: %q, want %q", name, got, want)
				}
			}
			if got := doc.Find(`[data-testid=flash]`).Text(); !strings.Contains(got, c.flash) || (c.flash == "") != (got == "") {
				t.Errorf("flash %q, want %q", got, c.flash)
			}
			for k, v := range c.form {
				if k != "_csrf" && len(v[0]) >= 5 && strings.Contains(body, `value="`+v[0]+`"`) {
					t.Errorf("the page echoes a typed password back: %q", v[0])
				}
			}
		})
	}
}

func TestAccountPage(t *testing.T) {
	a := newConsoleApp(t)
	me := a.signedIn(t, models.RoleSupport)
	elsewhere := a.client(t)
	elsewhere.signIn("support@example.com", testPassword)

	t.Run("the header's email links to the account page", func(t *testing.T) {
		_, doc, _ := me.page(http.MethodGet, "/", nil)
		if href, _ := doc.Find(`a[data-testid=operator]`).Attr("href"); href != "/account" {
			t.Fatalf("the operator's email links to %q, want /account", href)
		}
	})
	t.Run("the account page shows the operator and an empty password form", func(t *testing.T) {
		resp, doc, _ := me.page(http.MethodGet, "/account", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if got, want := doc.Find(`[data-testid=account-email]`).Text(), "support@example.com"; got != want {
			t.Errorf("email %q, want %q", got, want)
		}
		if got, want := doc.Find(`[data-testid=account-role]`).Text(), "support"; got != want {
			t.Errorf("role %q, want %q", got, want)
		}
		inputs := doc.Find(`[data-testid=password-form] input[type=password]`)
		if got, want := inputs.Length(), 3; got != want {
			t.Fatalf("%d password fields, want %d", got, want)
		}
		inputs.Each(func(_ int, s *goquery.Selection) {
			if _, has := s.Attr("value"); has {
				t.Errorf("the field %s has a value", s.AttrOr("name", "?"))
			}
		})
		if doc.Find(`[data-testid=password-form] input[name=_csrf]`).Length() != 1 {
			t.Error("the form has no CSRF token")
		}
	})

	good := func(current, next, confirm string) url.Values {
		return url.Values{"current_password": {current}, "new_password": {next}, "confirm_password": {confirm}}
	}
	runPasswordCases(t, me, []passwordCase{
		{name: "a missing current password is asked for", path: "/account/password", form: good("", "a-brand-new-password", "a-brand-new-password"),
			status: 400, errors: map[string]string{"current_password": "Type your current password."}},
		{name: "a short new password is refused beside its field", path: "/account/password", form: good(testPassword, "short", "short"),
			status: 400, errors: map[string]string{"new_password": "Password must be at least 10 characters."}},
		{name: "a new password over 72 bytes is refused beside its field", path: "/account/password",
			form: good(testPassword, strings.Repeat("é", 37), strings.Repeat("é", 37)), status: 400,
			errors: map[string]string{"new_password": "Password must be at most 72 bytes."}},
		{name: "two different new passwords are refused beside the second", path: "/account/password",
			form: good(testPassword, "a-brand-new-password", "a-brand-new-passwort"), status: 400,
			errors: map[string]string{"confirm_password": "The two new passwords differ"}},
		{name: "the current password as the new one is refused", path: "/account/password", form: good(testPassword, testPassword, testPassword),
			status: 400, errors: map[string]string{"new_password": "the one you have now"}},
		{name: "a wrong current password is refused beside it", path: "/account/password",
			form: good("not-my-password", "a-brand-new-password", "a-brand-new-password"), status: 400,
			errors: map[string]string{"current_password": "This is not your current password."}},
		{name: "the right current password changes it", path: "/account/password",
			form: good(testPassword, "a-brand-new-password", "a-brand-new-password"), status: 303,
			flash: "Your password is changed. Every other browser signed in as you was signed out."},
	})
	t.Run("the browser that changed it stays signed in", func(t *testing.T) {
		if resp := me.do(http.MethodGet, "/account", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
	})
	t.Run("the other browser is signed out", func(t *testing.T) {
		resp := elsewhere.do(http.MethodGet, "/", nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Fatalf("status %d to %q, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("the new password signs in and the old one does not", func(t *testing.T) {
		a.client(t).signIn("support@example.com", "a-brand-new-password")
		if _, _, err := a.store.CheckOperatorPassword(t.Context(), "support@example.com", testPassword); err == nil {
			t.Fatal("the old password still signs in")
		}
	})
	t.Run("the audit log records the change and the refusal, never a password", func(t *testing.T) {
		admin := a.signedIn(t, models.RoleAdmin)
		_, _, body := admin.page(http.MethodGet, "/audit", nil)
		for _, s := range []string{models.AuditPasswordChanged, models.AuditPasswordRefused} {
			if !strings.Contains(body, s) {
				t.Errorf("the audit log does not show %s", s)
			}
		}
		for _, s := range []string{"a-brand-new-password", "not-my-password"} {
			if strings.Contains(body, s) {
				t.Errorf("the audit log shows a password: %s", s)
			}
		}
	})
	t.Run("wrong current passwords are slowed down like sign-ins", func(t *testing.T) {
		dev := a.signedIn(t, models.RoleDeveloper)
		var resp *http.Response
		var doc *goquery.Document
		for range 4 {
			resp, doc, _ = dev.post("/account/password", good("wrong-password", "a-brand-new-password", "a-brand-new-password"))
		}
		if got, want := resp.StatusCode, http.StatusTooManyRequests; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		if msg := fieldError(doc, "current_password"); !strings.Contains(msg, "Too many wrong passwords") {
			t.Fatalf("beside the current password: %q", msg)
		}
		if resp.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
	})
}

func TestOperatorPasswordReset(t *testing.T) {
	a := newConsoleApp(t)
	admin := a.signedIn(t, models.RoleAdmin)
	support := a.signedIn(t, models.RoleSupport)
	ops, err := a.store.ListOperators(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, o := range ops {
		ids[o.Email] = o.ID
	}
	supportPage, adminPage := "/operators/"+ids["support@example.com"], "/operators/"+ids[testAdminEmail]

	for _, c := range []struct {
		name, path  string
		form, other string // data-testid that must and must not be there
	}{
		{"another operator's page has the reset form", supportPage, "reset-password-form", "reset-password-self"},
		{"one's own page points to the account page instead", adminPage, "reset-password-self", "reset-password-form"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, doc, _ := admin.page(http.MethodGet, c.path, nil)
			if doc.Find(`[data-testid=`+c.form+`]`).Length() != 1 || doc.Find(`[data-testid=`+c.other+`]`).Length() != 0 {
				t.Fatalf("want %s and no %s", c.form, c.other)
			}
		})
	}
	reset := func(next, confirm string) url.Values {
		return url.Values{"new_password": {next}, "confirm_password": {confirm}}
	}
	runPasswordCases(t, admin, []passwordCase{
		{name: "a short password is refused beside its field", path: supportPage + "/password", form: reset("short", "short"),
			status: 400, errors: map[string]string{"new_password": "Password must be at least 10 characters."}},
		{name: "two different passwords are refused beside the second", path: supportPage + "/password",
			form: reset("a-reset-password", "a-reset-passwort"), status: 400,
			errors: map[string]string{"confirm_password": "The two new passwords differ"}},
		{name: "a valid password resets it", path: supportPage + "/password", form: reset("a-reset-password", "a-reset-password"),
			status: 303, flash: "support@example.com has a new password and was signed out everywhere."},
	})
	for _, c := range []struct {
		name, path string
		status     int
		has        string
	}{
		{"an admin's own password is not reset here", adminPage + "/password", 400, "Change your own password on your account page"},
		{"an unknown operator is a 404 page", "/operators/op-nope/password", 404, "no operator"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, _, body := admin.post(c.path, reset("a-reset-password", "a-reset-password"))
			if resp.StatusCode != c.status || !strings.Contains(body, c.has) {
				t.Fatalf("status %d, want %d with %q", resp.StatusCode, c.status, c.has)
			}
		})
	}
	t.Run("the operator is signed out and signs in with the new password", func(t *testing.T) {
		if resp := support.do(http.MethodGet, "/", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d, want a redirect to sign in", resp.StatusCode)
		}
		a.client(t).signIn("support@example.com", "a-reset-password")
	})
	t.Run("the admin stays signed in", func(t *testing.T) {
		if resp := admin.do(http.MethodGet, "/", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
	})
	t.Run("the audit log records the reset against the operator", func(t *testing.T) {
		_, _, body := admin.page(http.MethodGet, "/audit?target="+ids["support@example.com"], nil)
		if !strings.Contains(body, models.AuditPasswordReset) || strings.Contains(body, "a-reset-password") {
			t.Fatal("the reset is not recorded, or its password is shown")
		}
	})
}
