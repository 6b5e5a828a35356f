package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"tokendesk/models"
)

func TestTwoFactorRequiredAndReset(t *testing.T) {
	a := newConsoleApp(t)
	now := time.Now()
	a.store.Now = func() time.Time { return now }
	admin := a.signedIn(t, models.RoleAdmin)
	dev := a.signedIn(t, models.RoleDeveloper)
	enrol := func(t *testing.T, b *browserless) {
		t.Helper()
		_, doc, _ := b.page("GET", "/account/2fa", nil)
		secret := strings.TrimSpace(doc.Find(`[data-testid=two-factor-secret]`).Text())
		code, _ := totp.GenerateCode(secret, now)
		if resp, _, _ := b.post("/account/2fa", url.Values{"code": {code}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("confirm: status %d", resp.StatusCode)
		}
	}
	enrol(t, admin)

	t.Run("an admin requires it for everyone, audited", func(t *testing.T) {
		resp, _, _ := admin.post("/operators/2fa/require", url.Values{"required": {"true"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", resp.StatusCode)
		}
		page, _ := a.store.ListAudit(t.Context(), models.AuditFilter{Action: models.AuditTwoFactorRequired, Size: 5})
		if len(page.Items) != 1 || page.Items[0].Detail != "required for everyone" {
			t.Fatalf("audit %+v", page.Items)
		}
	})
	t.Run("an operator without it can only set it up", func(t *testing.T) {
		for _, path := range []string{"/", "/users", "/account"} {
			resp := dev.do("GET", path, nil)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account/2fa" {
				t.Fatalf("GET %s: %d to %q, want 303 to /account/2fa", path, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		_, _, body := dev.page("GET", "/account/2fa", nil)
		if !strings.Contains(body, "requires two-factor sign-in for everyone") {
			t.Fatal("the page does not say why")
		}
		if resp, _, body := dev.post("/account/2fa", url.Values{"code": {"123"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "does not match") {
			t.Fatalf("a wrong code: status %d", resp.StatusCode)
		}
		enrol(t, dev)
		if resp := dev.do("GET", "/users", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("after enrolling, /users answers %d", resp.StatusCode)
		}
		if resp, _, body := dev.post("/account/2fa/off", url.Values{"password": {testPassword}}); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "stays on") {
			t.Fatalf("turning it off while required: status %d", resp.StatusCode)
		}
	})
	t.Run("an admin resets it for one who lost the device, after confirming", func(t *testing.T) {
		op, _ := a.store.FindOperator(t.Context(), "developer@example.com")
		_, _, body := admin.page("GET", "/operators/"+op.ID, nil)
		if !strings.Contains(body, `data-testid="reset-two-factor"`) {
			t.Fatal("no reset button on the operator's page")
		}
		if resp, _, body := admin.post("/operators/"+op.ID+"/2fa/reset", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "confirm-submit") {
			t.Fatalf("reset without confirming: status %d", resp.StatusCode)
		}
		if resp, _, _ := admin.post("/operators/"+op.ID+"/2fa/reset", url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("reset: status %d", resp.StatusCode)
		}
		if tf, _ := a.store.TwoFactorOf(t.Context(), op.ID); tf.Enabled {
			t.Fatal("still on after the reset")
		}
		if resp := dev.do("GET", "/users", nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Fatalf("their session survived the reset: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		page, _ := a.store.ListAudit(t.Context(), models.AuditFilter{Action: models.AuditTwoFactorReset, Size: 5})
		if len(page.Items) != 1 || page.Items[0].TargetID != op.ID {
			t.Fatalf("audit %+v", page.Items)
		}
	})
}
