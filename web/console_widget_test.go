package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"tokendesk/models"
)

// widgetCase is one request to the widget emulator and what its page must show.
type widgetCase struct {
	name   string
	method string
	path   string
	form   url.Values
	status int
	// errorBeside names the one field whose box must hold the error; empty
	// means the page shows no field error at all.
	errorBeside string
	errorSays   string
	kept        map[string]string // field name -> the value it must still hold
	launch      bool              // the page carries a token for the widget
	has, hasNot []string
	check       func(t *testing.T, doc *goquery.Document)
}

func (f *consoleFixture) runWidget(t *testing.T, b *browserless, cases []widgetCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form := url.Values{}
			for k, vs := range c.form {
				for _, v := range vs {
					form.Add(k, f.replace.Replace(v))
				}
			}
			path := f.replace.Replace(c.path)
			var resp *http.Response
			var doc *goquery.Document
			var body string
			if c.method == http.MethodPost {
				resp, doc, body = b.post(path, form)
			} else {
				resp, doc, body = b.page(http.MethodGet, path, nil)
			}
			if got, want := resp.StatusCode, c.status; got != want {
				t.Fatalf("status %d, want %d; body:\n%s", got, want, body)
			}
			if resp.StatusCode == http.StatusSeeOther {
				// Issued: the token is on the page the redirect leads to,
				// and only there; a reload starts from an empty form.
				loc := resp.Header.Get("Location")
				if resp, doc, body = b.page(http.MethodGet, loc, nil); resp.StatusCode != http.StatusOK {
					t.Fatalf("after the redirect to %s: status %d", loc, resp.StatusCode)
				}
				if _, again, _ := b.page(http.MethodGet, loc, nil); again.Find(`[data-testid=launch]`).Length() != 0 {
					t.Fatal("a reload shows the issued token again")
				}
			}
			errs := doc.Find(`[data-testid=field-error]`)
			if c.errorBeside == "" {
				if errs.Length() != 0 {
					t.Fatalf("unexpected field error %q", errs.Text())
				}
			} else {
				box := doc.Find(`.field:has([name=` + c.errorBeside + `])`)
				if got, want := box.Find(`[data-testid=field-error]`).Length(), 1; got != want {
					t.Fatalf("%d errors beside %s, want %d (errors on the page: %q)", got, c.errorBeside, want, errs.Text())
				}
				if got, want := errs.Length(), 1; got != want {
					t.Fatalf("%d field errors on the page, want %d", got, want)
				}
				if !box.HasClass("invalid") {
					t.Errorf("the %s box is not marked invalid", c.errorBeside)
				}
				if msg := box.Find(`[data-testid=field-error]`).Text(); !strings.Contains(msg, c.errorSays) {
					t.Errorf("the error says %q, want it to say %q", msg, c.errorSays)
				}
			}
			for name, want := range c.kept {
				want = f.replace.Replace(want)
				field := doc.Find(`[name=` + name + `]`).First()
				got, _ := field.Attr("value")
				if goquery.NodeName(field) == "textarea" {
					got = field.Text()
				}
				if got != want {
					t.Errorf("%s holds %q, want %q as typed", name, got, want)
				}
			}
			tok, launched := doc.Find(`[data-testid=launch]`).Attr("data-token")
			if launched != c.launch {
				t.Fatalf("launch section present: %v, want %v", launched, c.launch)
			}
			if launched {
				if strings.Count(tok, ".") != 2 {
					t.Errorf("data-token %q is not a link token", tok)
				}
				if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control %q: a page with a token must not be cached", cc)
				}
			}
			for _, s := range c.has {
				if s = f.replace.Replace(s); !strings.Contains(body, s) {
					t.Errorf("the page does not contain %q", s)
				}
			}
			for _, s := range c.hasNot {
				if s = f.replace.Replace(s); strings.Contains(body, s) {
					t.Errorf("the page contains %q, and must not", s)
				}
			}
			if c.check != nil {
				c.check(t, doc)
			}
		})
	}
}

func issue(userID, lifetime string) url.Values {
	return url.Values{"action": {"issue"}, "userId": {userID}, "lifetime": {lifetime}, "launch": {"yes"}}
}

func paste(token string) url.Values {
	return url.Values{"action": {"paste"}, "token": {token}, "launch": {"yes"}}
}

func textOf(sel string, want string) func(t *testing.T, doc *goquery.Document) {
	return func(t *testing.T, doc *goquery.Document) {
		t.Helper()
		if got := strings.TrimSpace(doc.Find(sel).First().Text()); !strings.Contains(got, want) {
			t.Errorf("%s reads %q, want it to contain %q", sel, got, want)
		}
	}
}

func TestWidgetEmulatorPage(t *testing.T) {
	f := newConsoleFixture(t)
	support := f.app.signedIn(t, models.RoleSupport)
	const xss = `<script>alert(1)</script>`

	f.runWidget(t, support, []widgetCase{
		{name: "support opens the emulator from its tab", method: "GET", path: "/widget", status: 200,
			kept: map[string]string{"userId": "", "lifetime": "5m"},
			has:  []string{`data-testid="tab-widget"`, `aria-current="page" data-testid="tab-widget"`, `src="/static/wink.js"`, `src="/static/emulator.`}},
		{name: "the user page links to the emulator with its user", method: "GET", path: "/users/{sandboxUser}", status: 200,
			has: []string{`href="/widget?userId={sandboxUser}" data-testid="try-emulator"`}},
		{name: "a link from the user page fills in the user id", method: "GET", path: "/widget?userId={sandboxUser}", status: 200,
			kept: map[string]string{"userId": "{sandboxUser}"}},
		{name: "a user id in the address is written as text", method: "GET", path: "/widget?userId=" + url.QueryEscape(xss), status: 200,
			kept: map[string]string{"userId": xss}, hasNot: []string{xss}},
		{name: "a SANDBOX token of 2 seconds is issued and ready to launch", method: "POST", path: "/widget",
			form: issue("{sandboxUser}", "2s"), status: 303, launch: true,
			kept: map[string]string{"userId": "{sandboxUser}", "lifetime": "2s"},
			has:  []string{`data-autolaunch="true"`, `data-testid="launch-token-value"`, "Issued a SANDBOX token for {sandboxUser} that lives 2 s."},
			check: func(t *testing.T, doc *goquery.Document) {
				textOf(`[data-testid=launch-mode]`, "SANDBOX")(t, doc)
				textOf(`[data-testid=launch-user]`, f.sandboxUser)(t, doc)
				textOf(`[data-testid=launch-expiry] time[data-countdown]`, "expires in ")(t, doc)
				row, err := f.app.store.GetToken(t.Context(), models.Sandbox, doc.Find(`[data-testid=launch-token-id]`).Text())
				if err != nil {
					t.Fatal(err)
				}
				// Claims have whole seconds: issue rounds down and expiry up,
				// so the token lives at least the 2 seconds asked for.
				if got := row.ExpiresAt.Sub(row.IssuedAt); got < 2*time.Second || got > 3*time.Second {
					t.Errorf("the token lives %v, want 2 s to 3 s", got)
				}
				tok, _ := doc.Find(`[data-testid=launch]`).Attr("data-token")
				if got := doc.Find(`[data-testid=launch-token-value]`).Text(); got != tok {
					t.Errorf("the token shown (%q) is not the one launched (%q)", got, tok)
				}
				if n := doc.Find(`[data-testid=launch-warning]`).Length(); n != 0 {
					t.Errorf("%d warnings for a fresh token of this mode", n)
				}
			}},
		{name: "a bare number is a lifetime in seconds", method: "POST", path: "/widget",
			form: issue("{sandboxUser}", "90"), status: 303, launch: true, check: textOf(`[data-testid=launch-expiry]`, "expires in 1 min")},
		{name: "unticking launch at once leaves the launch to the button", method: "POST", path: "/widget",
			form: url.Values{"action": {"issue"}, "userId": {"{sandboxUser}"}, "lifetime": {"1m"}}, status: 303, launch: true,
			has: []string{`data-autolaunch="false"`}, hasNot: []string{`name="launch" value="yes" checked`}},
		{name: "an empty user id is refused beside its field", method: "POST", path: "/widget",
			form: issue("", "30s"), status: 400, errorBeside: "userId", errorSays: "Enter the id of the user",
			kept: map[string]string{"lifetime": "30s"}},
		{name: "an unknown user is refused beside its field with the id kept", method: "POST", path: "/widget",
			form: issue("acme-00000000000000000000000000000000", "30s"), status: 400,
			errorBeside: "userId", errorSays: "No SANDBOX user has this id",
			kept: map[string]string{"userId": "acme-00000000000000000000000000000000", "lifetime": "30s"}},
		{name: "markup typed as a user id comes back as text", method: "POST", path: "/widget",
			form: issue(xss, "30s"), status: 400, errorBeside: "userId", errorSays: "No SANDBOX user",
			kept: map[string]string{"userId": xss}, hasNot: []string{xss}},
		{name: "a lifetime that is not a duration is refused beside its field", method: "POST", path: "/widget",
			form: issue("{sandboxUser}", "soon"), status: 400, errorBeside: "lifetime", errorSays: "such as 30s, 5m or 1h30m",
			kept: map[string]string{"userId": "{sandboxUser}", "lifetime": "soon"}},
		{name: "an empty lifetime is refused beside its field", method: "POST", path: "/widget",
			form: issue("{sandboxUser}", ""), status: 400, errorBeside: "lifetime", errorSays: "Enter a lifetime"},
		{name: "a lifetime in fractions of a second is refused", method: "POST", path: "/widget",
			form: issue("{sandboxUser}", "1500ms"), status: 400, errorBeside: "lifetime", errorSays: "whole seconds",
			kept: map[string]string{"lifetime": "1500ms"}},
		{name: "a lifetime of zero is refused", method: "POST", path: "/widget",
			form: issue("{sandboxUser}", "0"), status: 400, errorBeside: "lifetime", errorSays: "shortest lifetime is 1 s"},
		{name: "a lifetime over a day is refused", method: "POST", path: "/widget",
			form: issue("{sandboxUser}", "25h"), status: 400, errorBeside: "lifetime", errorSays: "longest lifetime is 24 h"},
		{name: "a huge number of seconds is refused as too long", method: "POST", path: "/widget",
			form: issue("{sandboxUser}", "99999999999"), status: 400, errorBeside: "lifetime", errorSays: "longest lifetime"},
		{name: "an empty paste is refused beside the token box", method: "POST", path: "/widget",
			form: paste(""), status: 400, errorBeside: "token", errorSays: "Paste a link token"},
		{name: "a pasted text that is no token is refused with the text kept", method: "POST", path: "/widget",
			form: paste("not-a-token" + xss), status: 400, errorBeside: "token", errorSays: "The widget would refuse this",
			kept: map[string]string{"token": "not-a-token" + xss}, hasNot: []string{xss}},
		{name: "a pasted token of this mode is ready to launch without warnings", method: "POST", path: "/widget",
			form: paste("{sandboxToken}"), status: 200, launch: true,
			hasNot: []string{`data-testid="launch-warning"`, `data-testid="launch-token-value"`},
			check:  textOf(`[data-testid=launch-user]`, f.sandboxUser)},
		{name: "a pasted token of the other mode carries a clear warning", method: "POST", path: "/widget",
			form: paste("{prodToken}"), status: 200, launch: true,
			check: func(t *testing.T, doc *goquery.Document) {
				textOf(`[data-testid=launch-warning]`, "This is a PRODUCTION token, but you are viewing SANDBOX")(t, doc)
				textOf(`[data-testid=launch-mode]`, "PRODUCTION")(t, doc)
				if n := doc.Find(`[data-testid=launch-user] a`).Length(); n != 0 {
					t.Error("the user links to a page that does not exist in this mode")
				}
			}},
		{name: "a pasted used token is still launched: the widget says it was used", method: "POST", path: "/widget",
			form: paste("{usedToken}"), status: 200, launch: true},
	})

	t.Run("issuing is in the audit log", func(t *testing.T) {
		page, err := f.app.store.ListAudit(t.Context(), models.AuditFilter{TargetID: f.sandboxUser, Size: 50})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range page.Items {
			if e.Action == models.AuditTokenRefreshed && strings.Contains(e.Detail, "widget emulator") {
				n++
				if e.OperatorEmail != "support@example.com" || e.Mode != models.Sandbox {
					t.Errorf("entry by %q in %s", e.OperatorEmail, e.Mode)
				}
			}
		}
		if got, want := n, 3; got != want {
			t.Fatalf("%d emulator entries, want %d (one per token issued)", got, want)
		}
	})

	t.Run("an expired pasted token carries a warning", func(t *testing.T) {
		tok, err := f.app.store.RefreshToken(t.Context(), models.Sandbox, f.sandboxUser, "test", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		now := f.app.store.Now
		t.Cleanup(func() { f.app.store.Now = now })
		f.app.store.Now = func() time.Time { return now().Add(time.Minute) }
		resp, doc, _ := support.post("/widget", paste(tok.AccessToken))
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		textOf(`[data-testid=launch-warning]`, "This token expired")(t, doc)
	})

	t.Run("in PRODUCTION", func(t *testing.T) {
		if resp := support.do(http.MethodPost, "/mode", url.Values{"_csrf": {support.csrf}, "mode": {"PRODUCTION"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("mode switch: status %d", resp.StatusCode)
		}
		f.runWidget(t, support, []widgetCase{
			{name: "a 2 second lifetime is refused beside its field with both fields kept", method: "POST", path: "/widget",
				form: issue("{prodUser}", "2s"), status: 400, errorBeside: "lifetime", errorSays: "In PRODUCTION the shortest lifetime is 1 min",
				kept: map[string]string{"userId": "{prodUser}", "lifetime": "2s"}},
			{name: "a one minute token is issued as PRODUCTION", method: "POST", path: "/widget",
				form: issue("{prodUser}", "1m"), status: 303, launch: true, check: textOf(`[data-testid=launch-mode]`, "PRODUCTION")},
			{name: "a SANDBOX user is unknown here", method: "POST", path: "/widget",
				form: issue("{sandboxUser}", "1m"), status: 400, errorBeside: "userId", errorSays: "No PRODUCTION user has this id"},
			{name: "the lifetime hint and suggestions offer no seconds", method: "GET", path: "/widget", status: 200,
				has: []string{"PRODUCTION allows 1 minute to 24 hours"}, hasNot: []string{`<option value="3s">`}},
		})
	})
}

func TestWidgetEmulatorGuards(t *testing.T) {
	f := newConsoleFixture(t)
	support := f.app.signedIn(t, models.RoleSupport)

	t.Run("a visitor without a session is sent to sign in and back", func(t *testing.T) {
		resp := f.app.client(t).do(http.MethodGet, "/widget?userId=x", nil)
		if got, want := resp.StatusCode, http.StatusSeeOther; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		if got, want := resp.Header.Get("Location"), "/login?next="+url.QueryEscape("/widget?userId=x"); got != want {
			t.Fatalf("Location %q, want %q", got, want)
		}
	})
	t.Run("a form without the CSRF token issues nothing", func(t *testing.T) {
		form := issue(f.sandboxUser, "2s")
		resp, doc, _ := support.page(http.MethodPost, "/widget", form)
		if got, want := resp.StatusCode, http.StatusForbidden; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		if doc.Find(`[data-testid=launch]`).Length() != 0 {
			t.Fatal("a token was issued")
		}
		toks, err := f.app.store.ListUserTokens(t.Context(), models.Sandbox, f.sandboxUser, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(toks), 3; got != want { // the fixture's three
			t.Fatalf("%d tokens, want %d", got, want)
		}
	})
	t.Run("a form from another site issues nothing", func(t *testing.T) {
		form := issue(f.sandboxUser, "2s")
		form.Set("_csrf", support.csrf)
		req, _ := http.NewRequest(http.MethodPost, "/widget", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.AddCookie(&http.Cookie{Name: sessionCookieName, Value: support.cookies[sessionCookieName]})
		resp, err := f.app.Fiber().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := resp.StatusCode, http.StatusForbidden; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
	})
}
