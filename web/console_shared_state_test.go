package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"tokendesk/models"
)

// twoConsoleApps builds two apps on one database file, as two instances of
// the server behind one load balancer.
func twoConsoleApps(t *testing.T) (*App, *App) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "console.db")
	open := func() *App {
		cfg := DefaultConfig()
		cfg.DBPath, cfg.TenantID, cfg.RateLimit = path, "acme", 0
		cfg.AdminEmail, cfg.AdminPassword = testAdminEmail, testAdminPassword
		a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatalf("build app: %v", err)
		}
		t.Cleanup(func() { a.store.Close() })
		return a
	}
	return open(), open()
}

func TestConsoleInstancesShareOneDatabase(t *testing.T) {
	t.Run("a secret shown once is shown by the instance the redirect lands on, once", func(t *testing.T) {
		a, b := twoConsoleApps(t)
		br := a.signedIn(t, models.RoleAdmin)
		resp, _, _ := br.post("/keys", url.Values{"name": {"crm-sync"}})
		once := br.cookies["td_once"]
		if resp.StatusCode != http.StatusSeeOther || once == "" {
			t.Fatalf("create key: status %d, once cookie %q; want 303 and a cookie", resp.StatusCode, once)
		}
		br.app = b // the redirect is served by the other instance
		_, doc, _ := br.page(http.MethodGet, resp.Header.Get("Location"), nil)
		if doc.Find(`[data-testid="new-key-secret"]`).Length() != 1 {
			t.Fatal("the other instance did not show the new key's secret")
		}
		br.app = a
		br.cookies["td_once"] = once // a replayed cookie finds nothing either
		if _, doc, _ := br.page(http.MethodGet, "/keys", nil); doc.Find(`[data-testid="new-key-secret"]`).Length() != 0 {
			t.Fatal("the secret was shown a second time")
		}
	})
	t.Run("wrong passwords sent to two instances are counted together", func(t *testing.T) {
		a, b := twoConsoleApps(t)
		status := 0
		for i := range freeSignInFailures + 1 {
			br := []*App{a, b}[i%2].client(t)
			_, doc, _ := br.page(http.MethodGet, "/login", nil)
			tok, _ := doc.Find(`input[name=_csrf]`).Attr("value")
			resp, _, _ := br.page(http.MethodPost, "/login", url.Values{"_csrf": {tok}, "email": {testAdminEmail}, "password": {"a-wrong-guess"}})
			status = resp.StatusCode
		}
		if got, want := status, http.StatusTooManyRequests; got != want {
			t.Fatalf("the try after %d failures on two instances: status %d, want %d", freeSignInFailures, got, want)
		}
	})
}
