package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tokendesk/models"
)

// consoleFixture is a database with one user of each mode, tokens and a key.
type consoleFixture struct {
	app                     *App
	sandboxUser, prodUser   string
	sandboxToken, prodToken string // raw tokens
	sandboxTokenID          string
	usedToken, revokedToken string
	keyID                   string
	replace                 *strings.Replacer
}

func newConsoleFixture(t *testing.T) *consoleFixture {
	t.Helper()
	a := newConsoleApp(t)
	ctx := t.Context()
	s := a.store
	f := &consoleFixture{app: a}
	su, err := s.CreateUser(ctx, models.Sandbox, models.Metadata{"crm": "C-1001", "note": "<b>bold</b>"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	pu, err := s.CreateUser(ctx, models.Production, models.Metadata{"crm": "P-2002"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	f.sandboxUser, f.prodUser = su.User.ID, pu.User.ID
	f.sandboxToken, f.sandboxTokenID, f.prodToken = su.Token.AccessToken, su.Token.ID, pu.Token.AccessToken
	used, err := s.RefreshToken(ctx, models.Sandbox, su.User.ID, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeToken(ctx, used.AccessToken); err != nil {
		t.Fatal(err)
	}
	f.usedToken = used.AccessToken
	rev, err := s.RefreshToken(ctx, models.Sandbox, su.User.ID, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeToken(ctx, models.Sandbox, rev.ID, "console:someone@example.com"); err != nil {
		t.Fatal(err)
	}
	f.revokedToken = rev.AccessToken
	k, err := s.CreateAPIKey(ctx, models.Sandbox, "billing", "test")
	if err != nil {
		t.Fatal(err)
	}
	f.keyID = k.ID
	f.replace = strings.NewReplacer("{sandboxUser}", f.sandboxUser, "{prodUser}", f.prodUser,
		"{sandboxToken}", f.sandboxToken, "{prodToken}", f.prodToken, "{sandboxTokenID}", f.sandboxTokenID,
		"{usedToken}", f.usedToken, "{revokedToken}", f.revokedToken, "{keyID}", f.keyID)
	return f
}

type pageCase struct {
	name    string
	method  string
	path    string
	form    url.Values
	status  int
	has     []string
	hasNot  []string
	located string // the Location header starts with this
	// follow: the answer is a redirect (POST-redirect-GET); has and hasNot
	// are checked on the page it leads to, and goneOnReload must be absent
	// when that page is loaded again (a secret shown once).
	follow       bool
	goneOnReload []string
}

func (f *consoleFixture) run(t *testing.T, b *browserless, cases []pageCase) {
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
			var body string
			if c.method == http.MethodPost {
				resp, _, body = b.post(path, form)
			} else {
				resp, _, body = b.page(c.method, path, nil)
			}
			if got := resp.StatusCode; got != c.status {
				t.Fatalf("status %d, want %d; body:\n%s", got, c.status, body)
			}
			if c.located != "" {
				if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, f.replace.Replace(c.located)) {
					t.Fatalf("Location %q, want it to start with %q", loc, f.replace.Replace(c.located))
				}
			}
			if c.follow {
				loc := resp.Header.Get("Location")
				if resp.StatusCode != http.StatusSeeOther || loc == "" {
					t.Fatalf("status %d, Location %q: want a redirect to follow", resp.StatusCode, loc)
				}
				var next *http.Response
				if next, _, body = b.page(http.MethodGet, loc, nil); next.StatusCode != http.StatusOK {
					t.Fatalf("following to %s: status %d; body:\n%s", loc, next.StatusCode, body)
				}
				if len(c.goneOnReload) > 0 {
					_, _, again := b.page(http.MethodGet, loc, nil)
					for _, s := range c.goneOnReload {
						if s = f.replace.Replace(s); strings.Contains(again, s) {
							t.Errorf("reloading %s still shows %q", loc, s)
						}
					}
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
		})
	}
}

func TestConsolePagesInSandbox(t *testing.T) {
	f := newConsoleFixture(t)
	admin := f.app.signedIn(t, models.RoleAdmin)
	long := strings.Repeat("k", 51)
	f.run(t, admin, []pageCase{
		{name: "the dashboard counts the mode's users only", method: "GET", path: "/", status: 200,
			has:    []string{`data-testid="sandbox-banner"`, `<div class="label">Users</div><div class="value">1</div>`, "{sandboxUser}"},
			hasNot: []string{"{prodUser}"}},
		{name: "the user list shows the sandbox user and not the production one", method: "GET", path: "/users", status: 200,
			has: []string{"{sandboxUser}"}, hasNot: []string{"{prodUser}"}},
		{name: "the user list filters by metadata value", method: "GET", path: "/users?value=C-1001", status: 200, has: []string{"{sandboxUser}"}},
		{name: "the user list filter finds nothing for an unknown value", method: "GET", path: "/users?value=nope", status: 200,
			has: []string{"No users match"}, hasNot: []string{"{sandboxUser}"}},
		{name: "the user list explains a bad date beside the field", method: "GET", path: "/users?from=31-01-2025", status: 400,
			has: []string{"Use a date like 2025-01-31.", `value="31-01-2025"`}},
		{name: "the user list refuses a forged cursor", method: "GET", path: "/users?cursor=!!", status: 400, has: []string{"cursor is not one this server returned"}},
		{name: "the user page shows metadata as text, never as HTML", method: "GET", path: "/users/{sandboxUser}", status: 200,
			has:    []string{"&lt;b&gt;bold&lt;/b&gt;", "C-1001", "{sandboxTokenID}", ">consumed<", ">revoked<", ">active<", "USER_CREATED"},
			hasNot: []string{"<b>bold</b>"}},
		{name: "a production user does not exist in sandbox", method: "GET", path: "/users/{prodUser}", status: 404,
			has: []string{`data-testid="error-page"`, "no user with id"}},
		{name: "creating a user shows its first token once", method: "POST", path: "/users",
			form: url.Values{"key0": {"crm"}, "value0": {"<script>alert(1)</script>"}}, status: 303, follow: true,
			has:          []string{`data-testid="new-token"`, "User created in SANDBOX.", "&lt;script&gt;alert(1)&lt;/script&gt;"},
			hasNot:       []string{"<script>alert(1)</script>"},
			goneOnReload: []string{`data-testid="new-token"`, "User created in SANDBOX."}},
		{name: "a too-long key comes back beside its field with the input kept", method: "POST", path: "/users",
			form: url.Values{"key0": {long}, "value0": {"kept value"}}, status: 400,
			has: []string{"Keys are at most 50 characters; this one has 51.", `value="kept value"`, `value="` + long + `"`}},
		{name: "a non-ASCII value comes back beside its field", method: "POST", path: "/users",
			form: url.Values{"key1": {"city"}, "value1": {"Zürich"}}, status: 400,
			has: []string{"Values use ASCII characters only.", `value="Zürich"`}},
		{name: "a value without a key is refused", method: "POST", path: "/users",
			form: url.Values{"value2": {"orphan"}}, status: 400, has: []string{"A value needs a key."}},
		{name: "a repeated key is refused", method: "POST", path: "/users",
			form: url.Values{"key0": {"a"}, "value0": {"1"}, "key1": {"a"}, "value1": {"2"}}, status: 400,
			has: []string{`Key &#34;a&#34; is already used in row 1.`}},
		{name: "refreshing a token shows the new one once", method: "POST", path: "/users/{sandboxUser}/tokens", status: 303, follow: true,
			has: []string{`data-testid="new-token-value"`, "Copy it now"}, goneOnReload: []string{`data-testid="new-token-value"`}},
		{name: "refreshing for an unknown user is a 404 page", method: "POST", path: "/users/acme-00000000000000000000000000000000/tokens", status: 404,
			has: []string{"no user with id"}},
		{name: "the inspector says an active token is valid", method: "POST", path: "/tokens/inspect",
			form: url.Values{"token": {"{sandboxToken}"}}, status: 200,
			has: []string{"Valid: this token can start the widget once", `href="/users/{sandboxUser}#{sandboxTokenID}"`, "SANDBOX key"}},
		{name: "the inspector says a used token was used", method: "POST", path: "/tokens/inspect",
			form: url.Values{"token": {"{usedToken}"}}, status: 200, has: []string{"Already used"}},
		{name: "the inspector offers a fresh token for a used token's user", method: "POST", path: "/tokens/inspect",
			form: url.Values{"token": {"{usedToken}"}}, status: 200,
			has: []string{`data-testid="verdict-fresh-token"`, `action="/users/{sandboxUser}/tokens"`}},
		{name: "the inspector offers no fresh token while the token is valid", method: "POST", path: "/tokens/inspect",
			form: url.Values{"token": {"{sandboxToken}"}}, status: 200, hasNot: []string{`data-testid="verdict-fresh-token"`}},
		{name: "pages without a mode carry no SANDBOX banner", method: "GET", path: "/account", status: 200,
			hasNot: []string{`data-testid="sandbox-banner"`}},
		{name: "the inspector says who revoked a token", method: "POST", path: "/tokens/inspect",
			form: url.Values{"token": {"{revokedToken}"}}, status: 200, has: []string{"Revoked", "console:someone@example.com"}},
		{name: "the inspector warns about a token of the other mode", method: "POST", path: "/tokens/inspect",
			form: url.Values{"token": {"{prodToken}"}}, status: 200,
			has:    []string{`data-testid="mode-warning"`, "This is a PRODUCTION token, but you are viewing SANDBOX"},
			hasNot: []string{`href="/users/{prodUser}`}},
		{name: "the inspector explains text that is not a token", method: "POST", path: "/tokens/inspect",
			form: url.Values{"token": {"hello <i>there</i>"}}, status: 200,
			has: []string{"Not a valid token from this server", "not three dot-separated parts", "never issued here", "hello&lt;i&gt;there&lt;/i&gt;"}},
		{name: "the inspector says a tampered token's signature does not match", method: "POST", path: "/tokens/inspect",
			form: url.Values{"token": {"{sandboxToken}x"}}, status: 200, has: []string{"signature does not match"}},
		{name: "the inspector asks for a token when given none", method: "POST", path: "/tokens/inspect", status: 400,
			has: []string{"Paste a link token to inspect."}},
		{name: "search by user id lands on the user", method: "GET", path: "/search?q={sandboxUser}", status: 303, located: "/users/{sandboxUser}"},
		{name: "search by token id lands on its user with the token marked", method: "GET", path: "/search?q={sandboxTokenID}", status: 303,
			located: "/users/{sandboxUser}?highlight={sandboxTokenID}"},
		{name: "search by metadata value lands on the user", method: "GET", path: "/search?q=C-1001", status: 303, located: "/users/{sandboxUser}"},
		{name: "search by raw token opens the inspector's verdict", method: "GET", path: "/search?q={sandboxToken}", status: 200,
			has: []string{`data-testid="verdict"`, "Valid"}},
		{name: "search for a production user says it is in the other mode", method: "GET", path: "/search?q={prodUser}", status: 200,
			has: []string{"exists, but in PRODUCTION", `data-testid="switch-and-search"`}},
		{name: "search for nothing known says so", method: "GET", path: "/search?q=no-such-thing", status: 200, has: []string{"Nothing in SANDBOX matches"}},
		{name: "the keys page lists the mode's keys", method: "GET", path: "/keys", status: 200, has: []string{"billing", "sk_test_"}},
		{name: "creating a key shows its secret once", method: "POST", path: "/keys", form: url.Values{"name": {"crm-sync"}}, status: 303, follow: true,
			has: []string{`data-testid="new-key-secret"`, "crm-sync"}, goneOnReload: []string{`data-testid="new-key-secret"`}},
		{name: "a key without a name is refused beside the field", method: "POST", path: "/keys", form: url.Values{"name": {"  "}}, status: 400,
			has: []string{"name is required", `data-testid="field-error"`}},
		{name: "revoking a key asks first", method: "POST", path: "/keys/{keyID}/revoke", status: 200,
			has: []string{`data-testid="confirm"`, "Revoke API key", `name="confirm"`}},
		{name: "revoking a key once confirmed goes back to the list", method: "POST", path: "/keys/{keyID}/revoke",
			form: url.Values{"confirm": {"yes"}}, status: 303, located: "/keys?revoked="},
		{name: "revoking an unknown key is a 404 page", method: "POST", path: "/keys/nope/revoke", status: 404, has: []string{"no API key"}},
		{name: "revoking a sandbox token asks first", method: "POST", path: "/tokens/{sandboxTokenID}/revoke", status: 200,
			has: []string{`data-testid="confirm"`}},
		{name: "revoking a sandbox token once confirmed", method: "POST", path: "/tokens/{sandboxTokenID}/revoke", form: url.Values{"confirm": {"yes"}}, status: 303,
			located: "/users/{sandboxUser}?revoked={sandboxTokenID}"},
		{name: "the user page confirms the revocation", method: "GET", path: "/users/{sandboxUser}?revoked={sandboxTokenID}", status: 200,
			has: []string{"revoked: it can no longer start the widget"}},
		{name: "the audit log records what was done", method: "GET", path: "/audit", status: 200,
			has: []string{"signed_in", "user_created", "token_refreshed", "token_revoked", "api_key_created", "api_key_revoked"}},
		{name: "the sessions page lists this browser", method: "GET", path: "/sessions", status: 200, has: []string{"this browser", testAdminEmail}},
		{name: "an admin adds a developer", method: "POST", path: "/operators",
			form: url.Values{"email": {"dev2@example.com"}, "password": {"long-enough-pw"}, "role": {"developer"}}, status: 303, follow: true,
			has: []string{"dev2@example.com can now sign in as developer."}},
		{name: "a bad operator form comes back with every error beside its field", method: "POST", path: "/operators",
			form: url.Values{"email": {"not-an-email"}, "password": {"short"}, "role": {"developer"}}, status: 400,
			has: []string{"email must be a plain address", "password must be at least 10 characters", `value="not-an-email"`}},
		{name: "an operator's email must be new", method: "POST", path: "/operators",
			form: url.Values{"email": {testAdminEmail}, "password": {"long-enough-pw"}, "role": {"support"}}, status: 400,
			has: []string{"already exists"}},
		{name: "an unknown console address is a 404 page in the console's look", method: "GET", path: "/no/such/page", status: 404,
			has: []string{`data-testid="error-page"`, "There is no page at this address", `data-testid="mode-switch"`}},
	})
}

func TestConsoleModeSwitch(t *testing.T) {
	f := newConsoleFixture(t)
	admin := f.app.signedIn(t, models.RoleAdmin)
	f.run(t, admin, []pageCase{
		{name: "switching to PRODUCTION returns to the section", method: "POST", path: "/mode",
			form: url.Values{"mode": {"PRODUCTION"}, "next": {"/users"}}, status: 303, located: "/users"},
		{name: "the switch does not send the browser to another site", method: "POST", path: "/mode",
			form: url.Values{"mode": {"PRODUCTION"}, "next": {"//evil.example/"}}, status: 303, located: "/"},
		{name: "production pages carry no sandbox banner and show production users only", method: "GET", path: "/users", status: 200,
			has: []string{"{prodUser}", `data-mode="PRODUCTION"`}, hasNot: []string{"{sandboxUser}", `data-testid="sandbox-banner"`}},
		{name: "a sandbox user does not exist in production", method: "GET", path: "/users/{sandboxUser}", status: 404},
		{name: "a form sent to a page that only shows is a 405 page", method: "POST", path: "/search?q=x", status: 405,
			has: []string{"This address does not take POST requests."}},
		{name: "an unknown mode is refused", method: "POST", path: "/mode", form: url.Values{"mode": {"STAGING"}}, status: 400,
			has: []string{"mode must be SANDBOX or PRODUCTION"}},
		{name: "the audit log records the switch", method: "GET", path: "/audit", status: 200, has: []string{"mode_switched", "SANDBOX → PRODUCTION"}},
	})
	toks, err := f.app.store.ListUserTokens(t.Context(), models.Production, f.prodUser, 1)
	if err != nil || len(toks) != 1 {
		t.Fatalf("production token: %v", err)
	}
	f.run(t, admin, []pageCase{
		{name: "revoking a production token asks for confirmation first", method: "POST", path: "/tokens/" + toks[0].ID + "/revoke", status: 200,
			has: []string{`data-testid="confirm"`, "This changes live data."}},
		{name: "the unconfirmed production token is still active", method: "GET", path: "/users/{prodUser}", status: 200,
			has: []string{">active<"}, hasNot: []string{">revoked<"}},
		{name: "revoking a production token with confirmation revokes it", method: "POST", path: "/tokens/" + toks[0].ID + "/revoke",
			form: url.Values{"confirm": {"yes"}}, status: 303, located: "/users/{prodUser}?revoked="},
	})
}

func TestConsoleSupportMayReadAndRefreshButNotChange(t *testing.T) {
	f := newConsoleFixture(t)
	support := f.app.signedIn(t, models.RoleSupport)
	f.run(t, support, []pageCase{
		{name: "support sees no link to keys or operators", method: "GET", path: "/", status: 200,
			hasNot: []string{`data-testid="tab-keys"`, `data-testid="tab-operators"`, `href="/users/new"`}},
		{name: "support sees the user without create or revoke buttons", method: "GET", path: "/users/{sandboxUser}", status: 200,
			has: []string{`data-testid="refresh-token"`}, hasNot: []string{`data-testid="revoke-token"`}},
		{name: "support may refresh a token", method: "POST", path: "/users/{sandboxUser}/tokens", status: 303, follow: true, has: []string{`data-testid="new-token-value"`}},
		{name: "support may not revoke a token", method: "POST", path: "/tokens/{sandboxTokenID}/revoke", status: 403},
		{name: "support may not open the API keys", method: "GET", path: "/keys", status: 403, has: []string{"Not allowed for your role"}},
		{name: "support may not add operators", method: "POST", path: "/operators",
			form: url.Values{"email": {"x@example.com"}, "password": {"long-enough-pw"}, "role": {"admin"}}, status: 403},
		{name: "support sees only their own sessions", method: "GET", path: "/sessions", status: 200, hasNot: []string{testAdminEmail}},
	})
	if ops, _ := f.app.store.ListOperators(t.Context()); len(ops) != 2 {
		t.Fatalf("got %d operators, want 2: support created one", len(ops))
	}
}

func TestConsoleSignIn(t *testing.T) {
	a := newConsoleApp(t)
	t.Run("the sign-in page sets its form cookie and token", func(t *testing.T) {
		b := a.client(t)
		resp, doc, _ := b.page("GET", "/login", nil)
		if resp.StatusCode != 200 || b.cookies["td_login"] == "" {
			t.Fatalf("status %d, login cookie %q", resp.StatusCode, b.cookies["td_login"])
		}
		if tok, _ := doc.Find(`input[name=_csrf]`).Attr("value"); tok != b.cookies["td_login"] {
			t.Fatalf("form token %q does not match the cookie", tok)
		}
	})
	t.Run("a form without its cookie is refused", func(t *testing.T) {
		b := a.client(t)
		resp, _, body := b.page("POST", "/login", url.Values{"_csrf": {"x"}, "email": {testAdminEmail}, "password": {testAdminPassword}})
		if resp.StatusCode != 403 || !strings.Contains(body, "The sign-in form expired") {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("the session cookie is HttpOnly and SameSite=Lax, and its value is not the stored id", func(t *testing.T) {
		b := a.client(t)
		_, doc, _ := b.page("GET", "/login", nil)
		tok, _ := doc.Find(`input[name=_csrf]`).Attr("value")
		resp := b.do("POST", "/login", url.Values{"_csrf": {tok}, "email": {testAdminEmail}, "password": {testAdminPassword}, "next": {"/users"}})
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/users" {
			t.Fatalf("status %d to %q, want 303 to /users", resp.StatusCode, resp.Header.Get("Location"))
		}
		var raw string
		for _, sc := range resp.Header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, "td_session=") {
				raw = sc
			}
		}
		for _, attr := range []string{"HttpOnly", "SameSite=Lax", "path=/"} {
			if !strings.Contains(raw, attr) {
				t.Errorf("session cookie %q lacks %s", raw, attr)
			}
		}
		if strings.Contains(raw, "secure") {
			t.Errorf("session cookie %q is Secure over plain http", raw)
		}
		var n int64
		a.store.R.Raw("SELECT COUNT(*) FROM sessions WHERE id = ?", b.cookies[sessionCookieName]).Scan(&n)
		if n != 0 {
			t.Fatal("the cookie value is stored as the session id")
		}
		a.store.R.Raw("SELECT COUNT(*) FROM sessions WHERE id = ?", models.HashSessionToken(b.cookies[sessionCookieName])).Scan(&n)
		if n != 1 {
			t.Fatal("the session is not stored under the cookie's hash")
		}
	})
	t.Run("a wrong password is refused with the email kept", func(t *testing.T) {
		b := a.client(t)
		_, doc, _ := b.page("GET", "/login", nil)
		tok, _ := doc.Find(`input[name=_csrf]`).Attr("value")
		resp, _, body := b.page("POST", "/login", url.Values{"_csrf": {tok}, "email": {"who@example.com"}, "password": {"wrong-password"}})
		if resp.StatusCode != 400 || !strings.Contains(body, "The email or password is not right.") || !strings.Contains(body, `value="who@example.com"`) {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})
	t.Run("a session ends when idle", func(t *testing.T) {
		b := a.client(t)
		b.signIn(testAdminEmail, testAdminPassword)
		real := a.store.Now
		a.store.Now = func() time.Time { return real().Add(a.cfg.SessionIdle + time.Minute) }
		defer func() { a.store.Now = real }()
		resp := b.do("GET", "/users", nil)
		if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=%2Fusers") {
			t.Fatalf("status %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("signing out ends the session", func(t *testing.T) {
		b := a.client(t)
		b.signIn(testAdminEmail, testAdminPassword)
		raw := b.cookies[sessionCookieName]
		if resp, _, _ := b.post("/logout", nil); resp.StatusCode != 303 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		b.cookies[sessionCookieName] = raw // a copied cookie no longer works
		if resp := b.do("GET", "/", nil); resp.StatusCode != 303 {
			t.Fatalf("status %d, want 303 to sign in", resp.StatusCode)
		}
	})
	t.Run("a disabled operator's sessions end", func(t *testing.T) {
		if _, err := a.store.CreateOperator(t.Context(), "leaver@example.com", testPassword, models.RoleDeveloper); err != nil {
			t.Fatal(err)
		}
		b := a.client(t)
		b.signIn("leaver@example.com", testPassword)
		if _, err := a.store.DisableOperator(t.Context(), "leaver@example.com"); err != nil {
			t.Fatal(err)
		}
		if resp := b.do("GET", "/", nil); resp.StatusCode != 303 {
			t.Fatalf("status %d, want 303 to sign in", resp.StatusCode)
		}
	})
	// Last: the failures throttle every later sign-in from this address.
	t.Run("repeated failures slow down even the right password", func(t *testing.T) {
		b := a.client(t)
		var status int
		var body string
		for i := 0; i < 4; i++ {
			_, doc, _ := b.page("GET", "/login", nil)
			tok, _ := doc.Find(`input[name=_csrf]`).Attr("value")
			pw := "wrong-password"
			if i == 3 {
				pw = testAdminPassword
			}
			var resp *http.Response
			resp, _, body = b.page("POST", "/login", url.Values{"_csrf": {tok}, "email": {testAdminEmail}, "password": {pw}})
			status = resp.StatusCode
		}
		if status != 429 || !strings.Contains(body, "Too many failed sign-ins") {
			t.Fatalf("status %d, want 429: %s", status, body)
		}
		if b.cookies[sessionCookieName] != "" {
			t.Fatal("a session was started while throttled")
		}
	})
}

func TestConsoleStaticAssets(t *testing.T) {
	a := newConsoleApp(t)
	b := a.client(t)
	_, doc, _ := b.page("GET", "/login", nil)
	css, _ := doc.Find(`link[rel=stylesheet]`).Attr("href")
	js, _ := doc.Find(`script[src]`).Attr("src")
	for _, c := range []struct {
		name, path, cache, ctype string
		status                   int
	}{
		{"the hashed stylesheet is cached for a year", css, "public, max-age=31536000, immutable", "text/css; charset=utf-8", 200},
		{"the hashed script is cached for a year", js, "public, max-age=31536000, immutable", "text/javascript; charset=utf-8", 200},
		{"the stable name is cached briefly", "/static/console.css", "public, max-age=300", "text/css; charset=utf-8", 200},
		{"an unknown asset is not found", "/static/nope.css", "", "", 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.HasPrefix(c.path, "/static/") {
				t.Fatalf("asset URL %q", c.path)
			}
			resp := b.do("GET", c.path, nil)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if c.cache != "" && resp.Header.Get("Cache-Control") != c.cache {
				t.Errorf("Cache-Control %q, want %q", resp.Header.Get("Cache-Control"), c.cache)
			}
			if c.ctype != "" && resp.Header.Get("Content-Type") != c.ctype {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), c.ctype)
			}
		})
	}
}
