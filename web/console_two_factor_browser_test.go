package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// TestTwoFactorInBrowser enrols an operator with a code from their
// "authenticator" (the secret the page shows, run through the same RFC 6238
// library an app follows), signs out, and signs in with password and code,
// then with a recovery code.
func TestTwoFactorInBrowser(t *testing.T) {
	exe := findChromium(t)
	a := newConsoleApp(t)
	now := time.Now()
	a.store.Now = func() time.Time { return now }
	base := serveApp(t, a)
	ctx := startChromium(t, exe)
	step := func(t *testing.T, steps ...chromedp.Action[chromedp.Void]) { t.Helper(); browserDo(t, ctx, steps...) }
	text := func(t *testing.T, sel string) string { t.Helper(); return browserText(t, ctx, sel) }
	shoot := func(name string) {
		dir := os.Getenv("TOKENDESK_SCREENSHOTS")
		if dir == "" {
			return
		}
		for _, w := range []int64{1280, 390} {
			chromedp.Do(ctx, chromedp.EmulateViewport(w, 900))
			if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
				os.WriteFile(filepath.Join(dir, name+"-"+map[int64]string{1280: "1280", 390: "390"}[w]+".png"), buf, 0o644)
			}
		}
		chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900))
	}
	password := func(t *testing.T) {
		step(t, chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`#email`)),
			chromedp.SendKeys(chromedp.CSS(`#email`), testAdminEmail),
			chromedp.SendKeys(chromedp.CSS(`#password`), testAdminPassword),
			chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)))
	}
	var secret string
	var recovery []string
	t.Run("an operator enrols with the secret shown and a first code", func(t *testing.T) {
		password(t)
		step(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid=stats]`)),
			chromedp.Navigate(base+"/account/2fa"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=two-factor-secret]`)))
		secret = text(t, `[data-testid=two-factor-secret]`)
		var n int
		for range 50 { // the image decodes after the page is visible
			if n, _ = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector("img.qr").naturalWidth`)); n > 0 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if n == 0 {
			src, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("img.qr") ? document.querySelector("img.qr").src.slice(0, 80) : "none"`))
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 400)`))
			t.Fatalf("the QR code did not load: %s\n%s", src, html)
		}
		shoot("two-factor-enrol")
		code, err := totp.GenerateCode(secret, now)
		if err != nil {
			t.Fatal(err)
		}
		step(t, chromedp.SendKeys(chromedp.CSS(`[data-testid=two-factor-code]`), code),
			chromedp.Click(chromedp.CSS(`[data-testid=two-factor-confirm]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=recovery-codes]`)))
		shoot("two-factor-codes")
		list, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("[data-testid=recovery-code]")].map(e => e.textContent)`))
		if err != nil || len(list) != 10 {
			t.Fatalf("%d recovery codes shown (%v)", len(list), err)
		}
		recovery = list
		// Shown once: a reload no longer has them.
		step(t, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid=recovery-left]`)))
		if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-testid=recovery-code]").length`)); n != 0 {
			t.Fatal("the recovery codes show again after a reload")
		}
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=logout]`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	})
	t.Run("the password alone no longer signs in; the next code does", func(t *testing.T) {
		now = now.Add(30 * time.Second)
		password(t)
		step(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-code]`)))
		shoot("two-factor-login")
		step(t, chromedp.SendKeys(chromedp.CSS(`[data-testid=login-code]`), "000000"),
			chromedp.Click(chromedp.CSS(`[data-testid=login-code-submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-error]`)))
		code, _ := totp.GenerateCode(secret, now)
		step(t, chromedp.SendKeys(chromedp.CSS(`[data-testid=login-code]`), code),
			chromedp.Click(chromedp.CSS(`[data-testid=login-code-submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=stats]`)))
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=logout]`)), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	})
	t.Run("a recovery code signs in once", func(t *testing.T) {
		password(t)
		step(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-code]`)),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=login-code]`), recovery[3]),
			chromedp.Click(chromedp.CSS(`[data-testid=login-code-submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=stats]`)))
		step(t, chromedp.Navigate(base+"/account/2fa"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=recovery-left]`)))
		if got := text(t, `[data-testid=recovery-left]`); !strings.HasPrefix(got, "9 recovery codes") {
			t.Fatalf("page says %q", got)
		}
	})
}
