package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

const (
	testAdminEmail    = "admin@example.com"
	testAdminPassword = "correct-horse-battery"
	testPassword      = "a-long-enough-password"
)

// newConsoleApp builds the app on a fresh database with a known first admin.
func newConsoleApp(t testing.TB) *App {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DBPath = modelstest.Database(t)
	cfg.SecretKeyFile = filepath.Join(t.TempDir(), "master.key")
	cfg.TenantID = "acme"
	cfg.RateLimit = 0
	cfg.AdminEmail, cfg.AdminPassword = testAdminEmail, testAdminPassword
	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("build app: %v", err)
	}
	t.Cleanup(func() { a.store.Close() })
	return a
}

// browserless is a signed-in (or anonymous) client of the app's handlers.
type browserless struct {
	t       testing.TB
	app     *App
	cookies map[string]string
	csrf    string
}

func (a *App) client(t testing.TB) *browserless {
	return &browserless{t: t, app: a, cookies: map[string]string{}}
}

// do sends a request and keeps the cookies the response sets.
func (b *browserless) do(method, path string, form url.Values) *http.Response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.app.Fiber().Test(req, -1)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return resp
}

// page sends a request and parses the HTML answer.
func (b *browserless) page(method, path string, form url.Values) (*http.Response, *goquery.Document, string) {
	b.t.Helper()
	resp := b.do(method, path, form)
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("read body: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(raw)))
	if err != nil {
		b.t.Fatalf("parse HTML of %s %s: %v", method, path, err)
	}
	if tok, ok := doc.Find(`input[name=_csrf]`).First().Attr("value"); ok && b.cookies[sessionCookieName] != "" {
		b.csrf = tok
	}
	return resp, doc, string(raw)
}

// post sends a form with the session's CSRF token.
func (b *browserless) post(path string, form url.Values) (*http.Response, *goquery.Document, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", b.csrf)
	return b.page(http.MethodPost, path, form)
}

const sessionCookieName = "td_session"

// signIn signs in through the form and fails the test if that does not work.
func (b *browserless) signIn(email, password string) {
	b.t.Helper()
	_, doc, _ := b.page(http.MethodGet, "/login", nil)
	tok, _ := doc.Find(`input[name=_csrf]`).Attr("value")
	resp := b.do(http.MethodPost, "/login", url.Values{"_csrf": {tok}, "email": {email}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther || b.cookies[sessionCookieName] == "" {
		b.t.Fatalf("sign in as %s: status %d, no session cookie", email, resp.StatusCode)
	}
	b.page(http.MethodGet, "/", nil) // picks up the session's CSRF token
	if b.csrf == "" {
		b.t.Fatalf("sign in as %s: the dashboard has no CSRF token", email)
	}
}

// signedIn makes an operator with role and a client signed in as them.
func (a *App) signedIn(t testing.TB, role models.Role) *browserless {
	t.Helper()
	b := a.client(t)
	if role == models.RoleAdmin {
		b.signIn(testAdminEmail, testAdminPassword)
		return b
	}
	email := string(role) + "@example.com"
	if _, err := a.store.CreateOperator(t.Context(), email, testPassword, role); err != nil {
		t.Fatalf("create %s: %v", role, err)
	}
	b.signIn(email, testPassword)
	return b
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
