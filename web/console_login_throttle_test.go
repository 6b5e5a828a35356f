package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"tokendesk/models"
)

// freeSignInFailures is how many wrong passwords one e-mail may have from one
// address before each further try must wait (the console's throttle).
const freeSignInFailures = 3

func TestSignInThrottleHoldsAgainstConcurrentGuesses(t *testing.T) {
	a := newConsoleApp(t)
	b := a.client(t)
	_, doc, _ := b.page(http.MethodGet, "/login", nil)
	tok, _ := doc.Find(`input[name=_csrf]`).Attr("value")
	form := url.Values{"_csrf": {tok}, "email": {testAdminEmail}, "password": {"a-wrong-guess"}}.Encode()

	const guesses = 100
	statuses := make([]int, guesses)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range guesses {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: "td_login", Value: b.cookies["td_login"]})
			<-start
			resp, err := a.Fiber().Test(req, -1)
			if err != nil {
				t.Errorf("guess %d: %v", i, err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	checked, refused := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusBadRequest: // the password was checked and was wrong
			checked++
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Errorf("a guess was answered %d", s)
		}
	}
	if checked > freeSignInFailures || checked == 0 {
		t.Fatalf("%d of %d concurrent guesses were checked, want 1 to %d (%d refused)", checked, guesses, freeSignInFailures, refused)
	}
	page, err := a.store.ListAudit(t.Context(), models.AuditFilter{Action: string(models.AuditSignInFailed), Size: 150})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(page.Items); got != checked {
		t.Fatalf("%d failed sign-ins audited, want one per checked guess (%d)", got, checked)
	}
}

func TestFailedSignInKeepsOnlyAnOperatorsEmail(t *testing.T) {
	var logs bytes.Buffer
	cfg := DefaultConfig()
	cfg.DBPath = filepath.Join(t.TempDir(), "console.db")
	cfg.TenantID, cfg.RateLimit = "acme", 0
	cfg.AdminEmail, cfg.AdminPassword = testAdminEmail, testAdminPassword
	a, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.store.Close() })

	const typedPassword = "Secret-Typed-In-The-Email-Box"
	for _, email := range []string{typedPassword, testAdminEmail} {
		b := a.client(t)
		_, doc, _ := b.page(http.MethodGet, "/login", nil)
		tok, _ := doc.Find(`input[name=_csrf]`).Attr("value")
		resp, _, _ := b.page(http.MethodPost, "/login", url.Values{"_csrf": {tok}, "email": {email}, "password": {"wrong-password"}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("sign in as %q: status %d, want 400", email, resp.StatusCode)
		}
	}
	if strings.Contains(logs.String(), typedPassword) {
		t.Fatalf("the log holds what was typed as the e-mail:\n%s", logs.String())
	}
	page, err := a.store.ListAudit(t.Context(), models.AuditFilter{Action: string(models.AuditSignInFailed), Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Items {
		got = append(got, e.OperatorEmail)
	}
	if want := []string{testAdminEmail, "an unknown e-mail"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("audited e-mails %q, want %q (newest first)", got, want)
	}
	b := a.signedIn(t, models.RoleAdmin)
	if _, _, body := b.page(http.MethodGet, "/audit", nil); strings.Contains(body, typedPassword) {
		t.Fatal("the audit page shows what was typed as the e-mail")
	}
}
