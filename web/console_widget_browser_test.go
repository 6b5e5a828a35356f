package web

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tokendesk/models"
)

// TestWidgetEmulatorInBrowser runs the emulator the way support does: sign
// in, issue a 3-second SANDBOX token, launch, and watch the callbacks arrive,
// onTokenExpired once. Set TOKENDESK_SCREENSHOTS=DIR to keep
// screenshots at 1280 and 390 pixels wide.
func TestWidgetEmulatorInBrowser(t *testing.T) {
	exe := findChromium(t)
	a := newConsoleApp(t)
	ctx0 := t.Context()
	if _, err := a.store.CreateOperator(ctx0, "support@example.com", testPassword, models.RoleSupport); err != nil {
		t.Fatal(err)
	}
	u, err := a.store.CreateUser(ctx0, models.Sandbox, models.Metadata{"crm": "C-7"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	userID := u.User.ID
	base := serveApp(t, a)

	bctx := startChromium(t, exe)
	ctx, cancelT := context.WithTimeout(bctx, 30*time.Second)
	defer cancelT()

	step := func(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(t *testing.T, expr string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return s
	}
	logged := func(t *testing.T, callback string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=callback-log] [data-callback=`+callback+`]').length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	shoot := func(t *testing.T, name string) {
		dir := os.Getenv("TOKENDESK_SCREENSHOTS")
		if dir == "" {
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
			if err := os.WriteFile(filepath.Join(dir, name+"-"+strconv.FormatInt(w, 10)+".png"), buf, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("support signs in and opens the emulator from the user page", func(t *testing.T) {
		step(t, chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`#email`)),
			chromedp.SendKeys(chromedp.CSS(`#email`), "support@example.com"),
			chromedp.SendKeys(chromedp.CSS(`#password`), testPassword),
			chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=stats]`)),
			chromedp.Navigate(base+"/users/"+userID),
			chromedp.Click(chromedp.CSS(`[data-testid=try-emulator]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=issue-form]`)))
		if got := eval(t, `document.querySelector('[data-testid=emulator-user]').value`); got != userID {
			t.Fatalf("the user id box holds %q, want %q", got, userID)
		}
	})

	var started time.Time
	t.Run("a 3-second SANDBOX token launches the widget and logs onReady and onUIEvent", func(t *testing.T) {
		step(t, chromedp.SetValue(chromedp.CSS(`[data-testid=emulator-lifetime]`), "3s"),
			chromedp.Click(chromedp.CSS(`[data-testid=emulator-issue]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=launch]`)))
		started = time.Now()
		step(t, chromedp.WaitVisible(chromedp.CSS(`[data-callback=onReady]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-callback=onUIEvent]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-wink-screen=connected]`)))
		if got := eval(t, `document.querySelector('[data-callback=onReady] code').textContent`); !strings.Contains(got, userID) || !strings.Contains(got, `"SANDBOX"`) {
			t.Fatalf("onReady logged %s, want the user and its mode", got)
		}
		if got := eval(t, `[...document.querySelectorAll('[data-callback=onUIEvent] code')].map(c => c.textContent).join("\n")`); !strings.Contains(got, "SessionPageOpened") {
			t.Fatalf("onUIEvent logged %s, want the session screen", got)
		}
		if got := eval(t, `document.querySelector('#emulator').getAttribute('data-token') || ''`); got != "" {
			t.Fatal("the token stays in a data attribute after the script read it")
		}
		shoot(t, "widget-emulator-open")
	})

	t.Run("onTokenExpired is logged exactly once", func(t *testing.T) {
		step(t, chromedp.WaitVisible(chromedp.CSS(`[data-callback=onTokenExpired]`)))
		if took := time.Since(started); took > 4*time.Second {
			t.Fatalf("onTokenExpired came %v after the launch, later than the token's 3 s", took)
		}
		// A second firing would come from the server's answer or a re-armed
		// timer, both within moments: give them time to show.
		time.Sleep(1500 * time.Millisecond)
		if got, want := logged(t, "onTokenExpired"), 1; got != want {
			t.Fatalf("onTokenExpired logged %d times, want %d", got, want)
		}
		if got := eval(t, `document.querySelector('[data-testid=launch-expiry] time').textContent`); !strings.HasPrefix(got, "expired") {
			t.Fatalf("the countdown reads %q after expiry", got)
		}
	})

	t.Run("closing the widget logs onClose with its reason", func(t *testing.T) {
		step(t, chromedp.Click(chromedp.CSS(`[data-wink=primary]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-callback=onClose]`)))
		if got := eval(t, `document.querySelector('[data-callback=onClose] code').textContent`); got != `{"reason":"error"}` {
			t.Fatalf("onClose logged %s", got)
		}
		shoot(t, "widget-emulator-closed")
	})
}
