package web

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// findChromium finds the system browser on PATH. Without one the browser
// tests fail under CI and are skipped, with the reason, elsewhere.
func findChromium(t *testing.T) string {
	t.Helper()
	modelstest.SkipOnPostgres(t, "browser tests drive pages, the same on both databases; the SQLite run drives them")
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium on PATH: CI must install it (apt-get install -y chromium)")
	}
	t.Skip("skipping browser tests: no Chromium on PATH (apt-get install -y chromium to run them)")
	return ""
}

// startChromium starts the system browser for one test, headless and with
// the flags that keep it off the network (see STACK.md), and returns the
// context its steps run in; it stops when the test ends. The first run
// carries no timeout: a step's timeout would end the browser with it.
func startChromium(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// browserDo runs steps in the test's browser, failing t after 15 s.
func browserDo(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// browserText is the trimmed text of the first element sel matches.
func browserText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// serveApp runs the real app on a free port until the test ends.
func serveApp(t *testing.T, a *App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go a.Serve(ln)
	t.Cleanup(func() { a.fiber.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String()
}

// TestConsoleInBrowser drives the console in the system Chromium, one
// browser for every step. Set TOKENDESK_SCREENSHOTS=DIR to keep a
// screenshot of each page at 1280 and 390 pixels wide.
func TestConsoleInBrowser(t *testing.T) {
	exe := findChromium(t)
	a := newConsoleApp(t)
	if _, err := a.store.CreateOperator(t.Context(), "support@example.com", testPassword, models.RoleSupport); err != nil {
		t.Fatal(err)
	}
	base := serveApp(t, a)

	ctx := startChromium(t, exe)
	// Let the page's script read what the copy button put on the clipboard.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted, Origin: base,
		})
		if err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}

	shots := os.Getenv("TOKENDESK_SCREENSHOTS")
	shoot := func(t *testing.T, name string) {
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
	signIn := func(t *testing.T, email, password string) {
		step(t, chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`#email`)),
			chromedp.SendKeys(chromedp.CSS(`#email`), email),
			chromedp.SendKeys(chromedp.CSS(`#password`), password),
			chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=stats]`)))
	}
	var userID, firstToken, token string

	t.Run("the sign-in page renders without script errors", func(t *testing.T) {
		step(t, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
		shoot(t, "login")
	})
	t.Run("an admin signs in and lands on the sandbox dashboard", func(t *testing.T) {
		signIn(t, testAdminEmail, testAdminPassword)
		if got := text(t, `[data-testid=operator]`); !strings.Contains(got, testAdminEmail) {
			t.Fatalf("header says %q", got)
		}
		if count(t, `[data-testid=sandbox-banner]`) != 1 {
			t.Fatal("no SANDBOX banner")
		}
	})
	t.Run("the admin switches to PRODUCTION and back", func(t *testing.T) {
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=mode-production]`)),
			chromedp.WaitVisible(chromedp.CSS(`body[data-mode=PRODUCTION]`)))
		if count(t, `[data-testid=sandbox-banner]`) != 0 {
			t.Fatal("the SANDBOX banner shows in PRODUCTION")
		}
		shoot(t, "dashboard-production")
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=mode-sandbox]`)),
			chromedp.WaitVisible(chromedp.CSS(`body[data-mode=SANDBOX]`)))
	})
	t.Run("the admin creates a user and sees its first token", func(t *testing.T) {
		step(t, chromedp.Navigate(base+"/users/new"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=user-form]`)))
		shoot(t, "user-new")
		step(t, chromedp.SendKeys(chromedp.CSS(`[data-testid=key0]`), "crm"),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=value0]`), "<img src=x>C-42"),
			chromedp.Click(chromedp.CSS(`[data-testid=create-user]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-token]`)))
		firstToken = text(t, `[data-testid=new-token-value]`)
		userID = text(t, `[data-testid=user-id] code`)
		if !models.LooksLikeUserID(userID) || strings.Count(firstToken, ".") != 2 {
			t.Fatalf("user %q, token %q", userID, firstToken)
		}
		if got := text(t, `[data-testid=metadata] dd`); got != "<img src=x>C-42" {
			t.Fatalf("metadata shows %q, want the text as typed", got)
		}
		if count(t, `[data-testid=metadata] img`) != 0 {
			t.Fatal("metadata was rendered as HTML")
		}
	})
	t.Run("refreshing issues a new token and the copy button copies it", func(t *testing.T) {
		// The page before the click shows a token too: wait for the new page.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.dataset.stale = "yes"; true`)); err != nil {
			t.Fatal(err)
		}
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=refresh-token]`)),
			chromedp.WaitVisible(chromedp.CSS(`body:not([data-stale]) [data-testid=new-token]`)))
		token = text(t, `[data-testid=new-token-value]`)
		if token == firstToken || strings.Count(token, ".") != 2 {
			t.Fatalf("refresh gave %q", token)
		}
		step(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid=copy-token]`)),
			chromedp.Click(chromedp.CSS(`[data-testid=copy-token]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=copy-token][data-copied=true]`)))
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		got, err := chromedp.Run(sctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("read clipboard: %v", err)
		}
		if got != token {
			t.Fatalf("clipboard holds %q, want the new token", got)
		}
		if n := count(t, `[data-testid=token-row]`); n != 2 {
			t.Fatalf("%d token rows, want 2", n)
		}
		shoot(t, "user-show")
	})
	t.Run("the inspector says the copied token is valid and links its user", func(t *testing.T) {
		step(t, chromedp.Navigate(base+"/tokens/inspect"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=inspect-token]`)),
			chromedp.SetValue(chromedp.CSS(`[data-testid=inspect-token]`), token),
			chromedp.Click(chromedp.CSS(`[data-testid=inspect-submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=verdict]`)))
		if got := text(t, `[data-testid=verdict-headline]`); !strings.HasPrefix(got, "Valid") {
			t.Fatalf("verdict %q", got)
		}
		if got := text(t, `[data-testid=verdict-user] a`); got != userID {
			t.Fatalf("verdict links %q, want %q", got, userID)
		}
		if got := text(t, `[data-testid=verdict-expiry] time`); !strings.HasPrefix(got, "expires in ") {
			t.Fatalf("expiry reads %q", got)
		}
		shoot(t, "inspector")
	})
	t.Run("the admin creates an API key and revokes it after confirming", func(t *testing.T) {
		step(t, chromedp.Navigate(base+"/keys"),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=key-name]`), "billing-service"),
			chromedp.Click(chromedp.CSS(`[data-testid=create-key]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-key]`)))
		if secret := text(t, `[data-testid=new-key-secret]`); len(secret) != 48 {
			t.Fatalf("secret %q", secret)
		}
		shoot(t, "keys")
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=revoke-key]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=confirm]`)))
		disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid=confirm-submit]').disabled`))
		if err != nil || !disabled {
			t.Fatalf("the revoke button is enabled before the box is ticked (%v)", err)
		}
		shoot(t, "confirm")
		step(t, chromedp.Click(chromedp.CSS(`[data-testid=confirm-check]`)),
			chromedp.Click(chromedp.CSS(`[data-testid=confirm-submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)))
		if got := text(t, `[data-testid=key-row] [data-testid=badge]`); got != "revoked" {
			t.Fatalf("key status %q", got)
		}
	})
	t.Run("the other pages render", func(t *testing.T) {
		for _, p := range []struct{ name, path, sel string }{
			{"dashboard", "/", "[data-testid=chart]"},
			{"users", "/users", "[data-testid=users-table]"},
			{"audit", "/audit", "[data-testid=audit-table]"},
			{"sessions", "/sessions", "[data-testid=sessions-table]"},
			{"operators", "/operators", "[data-testid=operators-table]"},
			{"account", "/account", "[data-testid=password-form]"},
			{"not-found", "/no/such/page", "[data-testid=error-page]"},
		} {
			step(t, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
			shoot(t, p.name)
		}
	})
	t.Run("a support operator sees no admin actions and is refused them", func(t *testing.T) {
		step(t, chromedp.Navigate(base+"/"), chromedp.Click(chromedp.CSS(`[data-testid=logout]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
		signIn(t, "support@example.com", testPassword)
		if count(t, `[data-testid=tab-keys]`)+count(t, `[data-testid=tab-operators]`) != 0 {
			t.Fatal("support sees the keys or operators tab")
		}
		step(t, chromedp.Navigate(base+"/operators"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=error-page]`)))
		if got := text(t, `[data-testid=error-title]`); got != "Not allowed for your role" {
			t.Fatalf("error title %q", got)
		}
		if got := text(t, `[data-testid=error-message]`); !strings.Contains(got, "Your role (support) may not do this") {
			t.Fatalf("error message %q", got)
		}
		shoot(t, "forbidden")
	})
}

func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", "\\'") + "'" }
