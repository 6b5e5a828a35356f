package web

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"tokendesk/models"
)

// TestWebhookConsoleInBrowser walks support's "we never got the webhook"
// story in the system Chromium, with one browser throughout: an endpoint
// pointing at a loopback receiver, a delivery that succeeds, one that fails
// with the receiver's answer shown, a resend once the receiver is fixed, a
// support operator who may resend but not edit, and the audit log of it
// all. TOKENDESK_SCREENSHOTS=DIR keeps each page at 1280 and 390 pixels.
func TestWebhookConsoleInBrowser(t *testing.T) {
	exe := findChromium(t)
	a := newConsoleApp(t)
	if _, err := a.store.CreateOperator(t.Context(), "support@example.com", testPassword, models.RoleSupport); err != nil {
		t.Fatal(err)
	}
	base := serveApp(t, a)
	rc := newHookReceiver(t)

	ctx := startChromium(t, exe)
	shots := os.Getenv("TOKENDESK_SCREENSHOTS")
	shoot := func(t *testing.T, name string) {
		t.Helper()
		if shots == "" {
			return
		}
		for _, w := range []int64{1280, 390} {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 900)); err != nil {
				t.Fatal(err)
			}
			buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			if err := os.WriteFile(filepath.Join(shots, name+"-"+strconv.FormatInt(w, 10)+".png"), buf, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	}
	step := func(t *testing.T, steps ...chromedp.Action[chromedp.Void]) { t.Helper(); browserDo(t, ctx, steps...) }
	text := func(t *testing.T, sel string) string { t.Helper(); return browserText(t, ctx, sel) }
	count := func(t *testing.T, sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// mark lets a wait tell the next page from the current one.
	mark := func(t *testing.T) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.dataset.stale = "yes"; true`)); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(t *testing.T, email, password string) {
		step(t, chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`#email`)),
			chromedp.SendKeys(chromedp.CSS(`#email`), email),
			chromedp.SendKeys(chromedp.CSS(`#password`), password),
			chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=stats]`)))
	}
	createUser := func(t *testing.T, crm string) string {
		step(t, chromedp.Navigate(base+"/users/new"),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=key0]`), "crm"),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=value0]`), crm),
			chromedp.Click(chromedp.CSS(`[data-testid=create-user]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-token]`)))
		return text(t, `[data-testid=user-id] code`)
	}
	var endpointID, failedDelivery string

	t.Run("an admin creates an endpoint for the loopback receiver", func(t *testing.T) {
		signIn(t, testAdminEmail, testAdminPassword)
		step(t, chromedp.Navigate(base+"/webhooks"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=empty]`)),
			chromedp.Click(chromedp.CSS(`[data-testid=new-webhook]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=webhook-form]`)),
			chromedp.Click(chromedp.CSS(`[data-testid=create-webhook]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=field-error]`)))
		if n := count(t, `[data-testid=field-error]`); n != 2 {
			t.Fatalf("%d field errors for an empty name and URL, want 2", n)
		}
		shoot(t, "webhook-new-errors")
		step(t, chromedp.SendKeys(chromedp.CSS(`[data-testid=webhook-name]`), "CRM receiver"),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=webhook-url]`), rc.URL+"/hook"),
			chromedp.Click(chromedp.CSS(`[data-testid=create-webhook]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=webhook-title]`)))
		if got := text(t, `[data-testid=webhook-title]`); got != "CRM receiver" {
			t.Fatalf("endpoint page titled %q", got)
		}
		endpointID = text(t, `.facts [data-testid=id]`)
		if !models.LooksLikeObjectID(endpointID) {
			t.Fatalf("endpoint id %q", endpointID)
		}
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=reveal-secret]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=webhook-secret]`)))
		if got := text(t, `[data-testid=webhook-secret]`); len(got) != 48 {
			t.Fatalf("generated secret %q", got)
		}
	})
	t.Run("a new user's delivery shows as succeeded in the log", func(t *testing.T) {
		createUser(t, "C-1")
		step(t, chromedp.Navigate(base+"/deliveries"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=delivery-row][data-status=SUCCEEDED]`)))
		if got := text(t, `[data-testid=delivery-row] [data-testid=last-code]`); got != "HTTP 200" {
			t.Fatalf("last answer %q", got)
		}
		shoot(t, "deliveries")
		step(t, chromedp.Navigate(base+"/webhooks"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=success-rate]`)))
		if got := text(t, `[data-testid=success-rate]`); got != "100.0%" {
			t.Fatalf("success rate %q", got)
		}
		shoot(t, "webhooks")
	})
	t.Run("when the receiver fails, the attempt shows its answer", func(t *testing.T) {
		rc.answer(http.StatusInternalServerError, "receiver exploded <b>sorry</b>")
		createUser(t, "C-2")
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=user-delivery-link]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=attempt] [data-testid=response-body]`)))
		if got := text(t, `[data-testid=response-body]`); got != "receiver exploded <b>sorry</b>" {
			t.Fatalf("response body %q", got)
		}
		if got := text(t, `[data-testid=attempt] [data-testid=badge]`); got != "HTTP 500" {
			t.Fatalf("attempt status %q", got)
		}
		failedDelivery = text(t, `[data-testid=delivery-id] code`)
		shoot(t, "delivery-failed")
	})
	t.Run("after the receiver recovers, a resend succeeds", func(t *testing.T) {
		rc.answer(http.StatusOK, "thanks")
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=resend]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)))
		// The page reloads itself while the delivery is pending.
		step(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid=attempt][data-number="2"] [data-testid=response-body]`)))
		if got := text(t, `[data-testid=delivery-status]`); got != "SUCCEEDED" {
			t.Fatalf("status %q after the resend", got)
		}
		if got := text(t, `[data-testid=attempt][data-number="2"] [data-testid=attempt-trigger]`); got != "manual" {
			t.Fatalf("second attempt is %q", got)
		}
		shoot(t, "delivery-resent")
	})
	t.Run("the event shows its fan-out and the pages render", func(t *testing.T) {
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=delivery-event]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=event-id]`)))
		if n := count(t, `[data-testid=delivery-row][data-status=SUCCEEDED]`); n != 1 {
			t.Fatalf("fan-out shows %d succeeded deliveries, want 1", n)
		}
		shoot(t, "event-show")
		for _, p := range []struct{ name, path, sel string }{
			{"events", "/events", "[data-testid=events-table]"},
			{"webhook-show", "/webhooks/" + endpointID, "[data-testid=health]"},
			{"operators-list", "/operators", "[data-testid=operators-table]"},
		} {
			step(t, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
			shoot(t, p.name)
		}
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=operator-link]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=operator-email]`)))
		shoot(t, "operator-show")
		step(t, chromedp.Navigate(base+"/webhooks/"+endpointID),
			chromedp.SetValue(chromedp.CSS(`[data-testid=recover-since]`), "2000-01-01T00:00"),
			chromedp.Click(chromedp.CSS(`[data-testid=recover-submit]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)))
		if got := text(t, `[data-testid=flash]`); !strings.Contains(got, "nothing to recover") {
			t.Fatalf("recover says %q", got)
		}
	})
	t.Run("a support operator can resend but cannot edit the endpoint", func(t *testing.T) {
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=logout]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
		signIn(t, "support@example.com", testPassword)
		step(t, chromedp.Navigate(base+"/deliveries/"+failedDelivery), chromedp.WaitVisible(chromedp.CSS(`[data-testid=resend]`)))
		mark(t)
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=resend]`)),
			chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) [data-testid=flash]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=attempt][data-number="3"] [data-testid=response-body]`)))
		step(t, chromedp.Navigate(base+"/webhooks/"+endpointID), chromedp.WaitVisible(chromedp.CSS(`[data-testid=health]`)))
		if n := count(t, `[data-testid=webhook-form], [data-testid=reveal-secret], [data-testid=delete-webhook]`); n != 0 {
			t.Fatalf("support sees %d endpoint controls", n)
		}
		// Post the edit form anyway, as a crafted page would.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){
			var f = document.createElement('form'); f.method = 'post'; f.action = '/webhooks/`+endpointID+`';
			[['_csrf', document.querySelector('input[name=_csrf]').value], ['name', 'hijacked'], ['url', 'http://127.0.0.1:1/'], ['eventTypes', 'USER_CREATED']].forEach(function(p){
				var i = document.createElement('input'); i.type = 'hidden'; i.name = p[0]; i.value = p[1]; f.appendChild(i); });
			document.body.appendChild(f); f.submit(); return true; })()`)); err != nil {
			t.Fatal(err)
		}
		step(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid=error-page]`)))
		if got := text(t, `[data-testid=error-message]`); !strings.Contains(got, "Your role (support) may not do this") {
			t.Fatalf("refusal says %q", got)
		}
	})
	t.Run("the audit log shows all of it", func(t *testing.T) {
		step(t, chromedp.Navigate(base+"/audit?target="+endpointID), chromedp.WaitVisible(chromedp.CSS(`[data-testid=audit-table]`)))
		got := text(t, `[data-testid=audit-table] tbody`)
		for _, want := range []string{"webhook_created", "webhook_secret_revealed"} {
			if !strings.Contains(got, want) {
				t.Errorf("the endpoint's audit trail lacks %s:\n%s", want, got)
			}
		}
		step(t, chromedp.Navigate(base+"/audit?action=delivery_resent"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=audit-table]`)))
		got = text(t, `[data-testid=audit-table] tbody`)
		if n := count(t, `[data-testid=audit-row]`); n != 2 || !strings.Contains(got, "support@example.com") || !strings.Contains(got, testAdminEmail) {
			t.Fatalf("%d resends in the audit log, want the admin's and support's:\n%s", n, got)
		}
		shoot(t, "audit-filtered")
	})
}
