package widget_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"tokendesk/models"
	"tokendesk/models/modelstest"
	"tokendesk/web"
)

// browserEnv is one tokendesk on a real port and one headless Chromium,
// shared by the subtests; each subtest gets its own tab.
type browserEnv struct {
	base    string // http://127.0.0.1:port of tokendesk
	store   *models.Store
	browser context.Context
}

func findChromium(t *testing.T) string {
	t.Helper()
	modelstest.SkipOnPostgres(t, "browser tests drive pages, the same on both databases; the SQLite run drives them")
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("browser tests need Chromium on PATH (apt-get install -y chromium)")
	}
	t.Skip("skipping browser test: no chromium on PATH (apt-get install -y chromium to run it)")
	return ""
}

func newBrowserEnv(t *testing.T) *browserEnv {
	t.Helper()
	execPath := findChromium(t)

	cfg := web.DefaultConfig()
	cfg.DBPath = filepath.Join(t.TempDir(), "test.db")
	cfg.TenantID = "acme"
	cfg.RateLimit = 0
	cfg.Demo = true
	// Tokens issued without an explicit lifetime live 3 s: the expiry test
	// runs through the same --token-ttl path an operator uses.
	cfg.TokenTTL = 3 * time.Second
	app, err := web.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("new app: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		app.Shutdown(ctx)
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The first run starts the browser; it must not carry a timeout, or the
	// timeout would end the browser with it.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browserEnv{base: "http://" + ln.Addr().String(), store: app.Store(), browser: browser}
}

// tab opens a new tab that closes when the subtest ends; every action in it
// is bounded, so a stuck page fails the test instead of hanging it.
func (e *browserEnv) tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(e.browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	tctx, cancelT := context.WithTimeout(ctx, 20*time.Second)
	t.Cleanup(cancelT)
	return tctx
}

// token issues a link token for a new user; ttl 0 uses the app's lifetime.
func (e *browserEnv) token(t *testing.T, ttl time.Duration) *models.IssuedToken {
	t.Helper()
	ctx := context.Background()
	u, err := e.store.CreateUser(ctx, models.Sandbox, nil, "browser-test")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.store.RefreshToken(ctx, models.Sandbox, u.User.ID, "browser-test", ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition; on timeout it reports what the page
// recorded, which is what one needs to see to understand the failure.
func waitFor(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(8*time.Second)))
	if err != nil {
		calls, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.calls || null)`))
		t.Fatalf("waiting for %s: %v; calls so far: %s", cond, err, calls)
	}
}

// recorder is page script that makes a widget whose callbacks append to
// window.calls.
func recorder(class, token, extra string) string {
	return fmt.Sprintf(`(() => {
		window.calls = [];
		const copy = (d) => d === undefined ? null : typeof d === "function" ? (window.updater = d, "function") : JSON.parse(JSON.stringify(d));
		const rec = (name) => (data) => window.calls.push({name, data: copy(data)});
		window.w = new %s({
			userToken: %q, %s
			onReady: rec("ready"), onTokenExpired: rec("expired"), onClose: rec("close"), onUIEvent: rec("ui"),
		});
		return true;
	})()`, class, token, extra)
}

const countOf = `((name, pred) => window.calls.filter(c => c.name === name && (!pred || pred(c.data))).length)`

func TestWidgetInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	env := newBrowserEnv(t)

	t.Run("a token with a 3-second lifetime fires onTokenExpired exactly once, open or not", func(t *testing.T) {
		ctx := env.tab(t)
		open, closed := env.token(t, 0), env.token(t, 0)
		if life := time.Until(open.ExpiresAt); life > 4*time.Second || life < 2*time.Second {
			t.Fatalf("token lives %v, want the configured 3 s (up to 4 s: expiry rounds up to a second)", life)
		}
		do(t, ctx, chromedp.Navigate(env.base+"/demo"))
		eval[bool](t, ctx, recorder("WinkWidget", open.AccessToken, ""))
		eval[bool](t, ctx, `window.w.open(), true`)
		waitFor(t, ctx, countOf+`("ready") === 1`)
		// A second widget that is never opened must learn of its expiry too.
		eval[bool](t, ctx, `(() => {
			window.closedCalls = 0;
			window.w2 = new WinkWidget({userToken: `+fmt.Sprintf("%q", closed.AccessToken)+`, onTokenExpired: () => window.closedCalls++});
			return true;
		})()`)
		waitFor(t, ctx, countOf+`("expired") >= 1 && window.closedCalls >= 1`)
		// Linger past expiry: a second firing (timer re-armed, server echo)
		// would show up here.
		time.Sleep(1500 * time.Millisecond)
		if got := eval[int](t, ctx, countOf+`("expired")`); got != 1 {
			t.Fatalf("onTokenExpired fired %d times for the open widget, want 1", got)
		}
		if got := eval[int](t, ctx, `window.closedCalls`); got != 1 {
			t.Fatalf("onTokenExpired fired %d times for the closed widget, want 1", got)
		}
		if got := eval[string](t, ctx, `document.querySelector('[role=dialog]').dataset.winkScreen`); got != "expired" {
			t.Fatalf("open widget shows %q, want the expired screen", got)
		}
		if got := eval[int](t, ctx, countOf+`("ui", d => d.eventName === "TokenExpiredPageOpened")`); got != 1 {
			t.Fatalf("expired screen reported %d times, want 1", got)
		}
		// Opening the expired, never-used widget shows expiry without asking
		// the server and without firing again.
		eval[bool](t, ctx, `window.w.close(), window.w2.open(), true`)
		waitFor(t, ctx, `document.querySelector('[role=dialog]')?.dataset.winkScreen === "expired"`)
		if got := eval[int](t, ctx, `window.closedCalls`); got != 1 {
			t.Fatalf("onTokenExpired fired %d times after opening, want 1", got)
		}
	})

	t.Run("when the server says the token expired, onTokenExpired fires once with an updater", func(t *testing.T) {
		ctx := env.tab(t)
		tok := env.token(t, time.Hour)
		// The row expired though the token's own exp is an hour away: what
		// a browser with a slow clock sees.
		past := time.Now().Add(-time.Minute).UnixMilli()
		if err := env.store.W.Exec("UPDATE link_tokens SET expires_at = ? WHERE id = ?", past, tok.ID).Error; err != nil {
			t.Fatal(err)
		}
		do(t, ctx, chromedp.Navigate(env.base+"/demo"))
		eval[bool](t, ctx, recorder("WinkWidget", tok.AccessToken, ""))
		eval[bool](t, ctx, `window.w.open(), true`)
		waitFor(t, ctx, `document.querySelector('[role=dialog]')?.dataset.winkScreen === "expired"`)
		if got := eval[[]any](t, ctx, `window.calls.filter(c => c.name === "expired").map(c => c.data)`); len(got) != 1 || got[0] != "function" {
			t.Fatalf("onTokenExpired got %v, want one call with the updater function", got)
		}
		// The page answers with a fresh token through the updater, as Smile
		// pages do; the same dialog connects.
		fresh := env.token(t, time.Hour)
		eval[bool](t, ctx, fmt.Sprintf(`window.updater(%q), true`, fresh.AccessToken))
		waitFor(t, ctx, countOf+`("ready") === 1`)
		if got := eval[int](t, ctx, countOf+`("expired")`); got != 1 {
			t.Fatalf("onTokenExpired fired %d times, want 1", got)
		}
	})

	t.Run("a second launch with the same token shows the already-used error", func(t *testing.T) {
		ctx := env.tab(t)
		tok := env.token(t, time.Hour)
		do(t, ctx, chromedp.Navigate(env.base+"/demo"))
		eval[bool](t, ctx, recorder("WinkWidget", tok.AccessToken, ""))
		eval[bool](t, ctx, `window.w.open(), true`)
		waitFor(t, ctx, `document.querySelector('[role=dialog]')?.dataset.winkScreen === "connected"`)
		if got, want := eval[string](t, ctx, `document.querySelector('[data-wink=user]').textContent`), tok.UserID; got != want {
			t.Errorf("widget says user %q, want %q", got, want)
		}
		if got := eval[string](t, ctx, `document.querySelector('[data-wink=mode]').textContent`); got != "SANDBOX" {
			t.Errorf("widget says mode %q, want SANDBOX", got)
		}
		eval[bool](t, ctx, `window.w.close(), window.w.open(), true`)
		waitFor(t, ctx, `document.querySelector('[role=dialog]')?.dataset.winkScreen === "error"`)
		msg := eval[string](t, ctx, `document.querySelector('[data-wink=message]').textContent`)
		if !strings.HasPrefix(msg, "It was already used on ") {
			t.Errorf("error screen says %q, want it to say the token was already used and when", msg)
		}
		// For people, not developers: no API wording, no raw UTC time.
		if strings.Contains(msg, "link token refused") || strings.Contains(msg, "Z;") || strings.Contains(msg, "T0") || strings.Contains(msg, "T1") || strings.Contains(msg, "T2") {
			t.Errorf("error screen shows developer text: %q", msg)
		}
		if got := eval[string](t, ctx, `document.querySelector('[role=dialog] h2').textContent`); got != "This link was already used" {
			t.Errorf("error title %q", got)
		}
		if got := eval[int](t, ctx, countOf+`("expired")`); got != 0 {
			t.Errorf("onTokenExpired fired %d times for a used token, want 0", got)
		}
	})

	t.Run("onClose reports close on Escape, exit on Done and error from an error screen", func(t *testing.T) {
		ctx := env.tab(t)
		do(t, ctx, chromedp.Navigate(env.base+"/demo"))
		// Open from the page's button so focus has somewhere to return to.
		launch := func(token string) {
			t.Helper()
			eval[bool](t, ctx, recorder("WinkWidget", token, ""))
			eval[bool](t, ctx, `(() => {
				const b = document.querySelector('#launch button');
				b.focus();
				window.w.open();
				return true;
			})()`)
		}

		launch(env.token(t, time.Hour).AccessToken)
		waitFor(t, ctx, `document.querySelector('[role=dialog]')?.dataset.winkScreen === "connected"`)
		dialog := eval[map[string]string](t, ctx, `(() => {
			const d = document.querySelector('[role=dialog]');
			return {modal: d.getAttribute('aria-modal'), title: document.getElementById(d.getAttribute('aria-labelledby'))?.textContent || ""};
		})()`)
		if dialog["modal"] != "true" || dialog["title"] != "You are connected" {
			t.Errorf("dialog is %v, want aria-modal and labelled by its title", dialog)
		}
		// Tab and Shift+Tab cycle inside the dialog.
		for range 5 {
			do(t, ctx, chromedp.KeyEvent(kb.Tab))
			if !eval[bool](t, ctx, `document.querySelector('[role=dialog]').contains(document.activeElement)`) {
				t.Fatal("Tab moved focus out of the dialog")
			}
		}
		do(t, ctx, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
		if !eval[bool](t, ctx, `document.querySelector('[role=dialog]').contains(document.activeElement)`) {
			t.Fatal("Shift+Tab moved focus out of the dialog")
		}
		do(t, ctx, chromedp.KeyEvent(kb.Escape))
		waitFor(t, ctx, countOf+`("close") === 1`)
		closed := eval[map[string]any](t, ctx, `({reason: window.calls.find(c => c.name === "close").data.reason,
			gone: !document.querySelector('[role=dialog]'),
			focus: document.activeElement === document.querySelector('#launch button')})`)
		if closed["reason"] != "close" || closed["gone"] != true || closed["focus"] != true {
			t.Errorf("after Escape: %v, want reason close, dialog gone, focus back on the launch button", closed)
		}

		launch(env.token(t, time.Hour).AccessToken)
		waitFor(t, ctx, `document.querySelector('[role=dialog]')?.dataset.winkScreen === "connected"`)
		do(t, ctx, chromedp.Click(chromedp.CSS(`[data-wink=primary]`)))
		waitFor(t, ctx, countOf+`("close", d => d.reason === "exit") === 1`)

		launch("not-a-token")
		waitFor(t, ctx, `document.querySelector('[role=dialog]')?.dataset.winkScreen === "error"`)
		do(t, ctx, chromedp.Click(chromedp.CSS(`[data-wink=primary]`)))
		waitFor(t, ctx, countOf+`("close", d => d.reason === "error") === 1`)
	})

	t.Run("updateToken keeps the widget open and connects it with the new token", func(t *testing.T) {
		ctx := env.tab(t)
		first, second := env.token(t, time.Hour), env.token(t, time.Hour)
		do(t, ctx, chromedp.Navigate(env.base+"/demo"))
		// apiHost in the Smile form (with /v1) must work as well as the bare origin.
		eval[bool](t, ctx, recorder("WinkWidget", first.AccessToken, fmt.Sprintf("apiHost: %q,", env.base+"/v1")))
		eval[bool](t, ctx, `window.w.open(), true`)
		waitFor(t, ctx, countOf+`("ready") === 1`)
		eval[bool](t, ctx, `document.querySelector('[role=dialog]').dataset.marker = "same", true`)
		eval[bool](t, ctx, fmt.Sprintf(`window.w.updateToken(%q), true`, second.AccessToken))
		waitFor(t, ctx, countOf+`("ready") === 2`)
		got := eval[map[string]any](t, ctx, `({
			user: document.querySelector('[data-wink=user]').textContent,
			same: document.querySelector('[role=dialog]').dataset.marker === "same",
			closes: window.calls.filter(c => c.name === "close").length,
			open: window.w.isOpen(),
		})`)
		if got["user"] != second.UserID || got["same"] != true || got["closes"] != float64(0) || got["open"] != true {
			t.Fatalf("after updateToken: %v, want the same open dialog connected as %s and no onClose", got, second.UserID)
		}
		// The first token was consumed by the first launch, the second by the update.
		for _, tok := range []*models.IssuedToken{first, second} {
			row, err := env.store.GetToken(context.Background(), models.Sandbox, tok.ID)
			if err != nil {
				t.Fatal(err)
			}
			if row.ConsumedAt == nil {
				t.Errorf("token %s was not consumed", tok.ID)
			}
		}
	})

	t.Run("a page written for the Smile SDK works with only its script URL changed", func(t *testing.T) {
		ctx := env.tab(t)
		tok := env.token(t, time.Hour)
		// Another origin, as a customer's site is: the SDK must find its API
		// host from its own script URL and pass CORS.
		shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, smileQuickstartPage(env.base+"/static/wink.js", tok.AccessToken))
		}))
		t.Cleanup(shop.Close)
		do(t, ctx, chromedp.Navigate(shop.URL))
		waitFor(t, ctx, `document.querySelector('[role=dialog]')?.dataset.winkScreen === "connected"`)
		if got := eval[string](t, ctx, `document.querySelector('[data-wink=user]').textContent`); got != tok.UserID {
			t.Errorf("connected as %q, want %q", got, tok.UserID)
		}
		ui := eval[map[string]string](t, ctx, `window.seen.find(e => e.startsWith("ui ") && e.includes("SessionPageOpened")) ? {ok: "yes"} : {seen: JSON.stringify(window.seen)}`)
		if ui["ok"] != "yes" {
			t.Errorf("onUIEvent never reported the session screen; saw %s", ui["seen"])
		}
		do(t, ctx, chromedp.Click(chromedp.CSS(`[data-wink=close]`)))
		waitFor(t, ctx, `window.seen.includes("closed close")`)
	})
}

// smileQuickstartPage is a customer page in the shape the Smile SDK's
// quickstart gives: a plain script tag, then an inline script that builds a
// SmileLinkModal with Smile's options, including Smile's own API host and
// options this SDK ignores, and opens it at once.
func smileQuickstartPage(scriptURL, token string) string {
	return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Connect your employer</title></head>
<body>
  <script>window.seen = [];</script>
  <script src="` + scriptURL + `"></script>
  <script type="text/javascript">
    const smileLinkModal = new SmileLinkModal({
      apiHost: "https://link-sandbox.smileapi.io/v1",
      userToken: "` + token + `",
      templateId: "tpl-0000",
      topProviders: ["sss_ph"],
      enableUpload: false,
      onAccountCreated: ({ accountId, userId, providerId }) => { window.seen.push("created " + accountId); },
      onAccountConnected: ({ accountId, userId, providerId }) => { window.seen.push("connected " + accountId); },
      onAccountRemoved: ({ accountId, userId, providerId }) => { window.seen.push("removed " + accountId); },
      onAccountError: ({ accountId, userId, providerId, errorCode }) => { window.seen.push("error " + errorCode); },
      onUploadsCreated: ({ uploads, userId }) => { window.seen.push("uploads " + userId); },
      onClose: ({ reason }) => { window.seen.push("closed " + reason); },
      onTokenExpired: updateToken => { window.seen.push("expired"); },
      onUIEvent: ({ eventName, eventTime, mode, userId, account, archive }) => {
        window.seen.push("ui " + eventName + " " + mode + " " + userId);
      },
    });
    smileLinkModal.open()
  </script>
</body>
</html>`
}
