package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"tokendesk/models"
)

// findAxe finds axe-core's script: TOKENDESK_AXE, or where .ci/run
// installs it (npm install --prefix .ci axe-core). Without it the test
// fails under CI and is skipped, with how to get it, elsewhere.
func findAxe(t *testing.T) []byte {
	t.Helper()
	paths := []string{os.Getenv("TOKENDESK_AXE"), filepath.Join("..", ".ci", "node_modules", "axe-core", "axe.min.js")}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			return b
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no axe-core: .ci/run installs it (npm install --prefix .ci axe-core); or set TOKENDESK_AXE to axe.min.js")
	}
	t.Skip("skipping the accessibility test: no axe-core (npm install --prefix .ci axe-core, or set TOKENDESK_AXE to its axe.min.js)")
	return nil
}

type axeViolation struct {
	ID    string   `json:"id"`
	Help  string   `json:"help"`
	Nodes []string `json:"nodes"`
}

// TestConsolePassesAxe injects axe-core into every console page, signed
// out and signed in, in both modes, at 1280 and 390 pixels wide, and fails
// on any violation it reports. On the way it checks the layout at 1280,
// 1024 and 390 pixels: nothing scrolls the page sideways, no table is wider
// than its card on a desktop, and the chart fits.
func TestConsolePassesAxe(t *testing.T) {
	exe := findChromium(t)
	axe := findAxe(t)
	a := newConsoleApp(t)
	ctx := t.Context()
	ids := map[models.Mode]map[string]string{}
	for _, m := range models.Modes {
		u, err := a.store.CreateUser(ctx, m, models.Metadata{"email": "maria@example.com"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://127.0.0.1:1/hooks"
		if m == models.Production {
			url = "https://hooks.example.com/in"
		}
		name, secret, yes := "crm", "a-secret-of-some-length", true
		ep, err := a.store.CreateWebhookEndpoint(ctx, m, models.WebhookInput{Name: &name, URL: &url,
			EventTypes: []string{models.EventUserCreated}, Active: &yes, Secret: &secret})
		if err != nil {
			t.Fatal(err)
		}
		u2, err := a.store.CreateUser(ctx, m, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		dl, err := a.store.ListDeliveries(ctx, m, models.DeliveryFilter{})
		if err != nil || len(dl.Items) == 0 {
			t.Fatalf("no delivery in %s: %v", m, err)
		}
		k, err := a.store.CreateAPIKey(ctx, m, "billing", "test")
		if err != nil {
			t.Fatal(err)
		}
		rid := "0190d6a8-0000-7000-8000-00000000000" + map[models.Mode]string{models.Sandbox: "1", models.Production: "2"}[m]
		if err := a.store.RecordAPIRequests(ctx, []models.APIRequest{{ID: rid, Mode: m, APIKeyID: k.ID, APIKey: k.Key,
			Method: "POST", Path: "/v1/tokens", Query: "userId=" + u2.User.ID, UserID: u2.User.ID, Status: 404,
			ErrorCode: "MISSING_RESOURCE", ErrorMessage: "no user", DurationUS: 900, RequestBody: `{"secret":"[redacted]"}`, CreatedAt: time.Now()}}); err != nil {
			t.Fatal(err)
		}
		ids[m] = map[string]string{"user": u.User.ID, "endpoint": ep.ID, "delivery": dl.Items[0].ID, "event": u.Event.ID, "key": k.ID, "request": rid}
	}
	ops, err := a.store.ListOperators(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := serveApp(t, a)

	bctx := startChromium(t, exe)
	run := func(actions ...chromedp.Action[chromedp.Void]) error {
		c, stop := context.WithTimeout(bctx, 20*time.Second)
		defer stop()
		return chromedp.Do(c, actions...)
	}
	check := func(t *testing.T, name string) {
		t.Helper()
		for _, w := range []int64{1280, 1024, 390} {
			if err := run(chromedp.EmulateViewport(w, 900)); err != nil {
				t.Fatal(err)
			}
			// Layout: the page never scrolls sideways; at desktop widths no
			// table is wider than its card; the chart fits its card.
			over, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(function () {
				var out = [];
				if (document.documentElement.scrollWidth > window.innerWidth + 1) { out.push("the page scrolls sideways"); }
				if (window.innerWidth >= 1024) {
					document.querySelectorAll(".table-wrap").forEach(function (e) {
						if (e.scrollWidth > e.clientWidth + 1) { out.push("table " + (e.querySelector("table").dataset.testid || "") + " overflows its card by " + (e.scrollWidth - e.clientWidth) + " px"); }
					});
				}
				var svg = document.querySelector(".chart svg");
				if (svg && svg.getBoundingClientRect().right > svg.closest(".card").getBoundingClientRect().right + 1) { out.push("the chart is cut off"); }
				return out.join("; ");
			})()`))
			if err != nil {
				t.Fatal(err)
			}
			if over != "" {
				t.Errorf("%s at %d px: %s", name, w, over)
			}
			if dir := os.Getenv("TOKENDESK_SCREENSHOTS"); dir != "" {
				buf, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatal(err)
				}
				file := strings.Trim(strings.NewReplacer("/", "_", "?", "_", "=", "_").Replace(name), "_")
				if file == "" {
					file = "dashboard"
				}
				os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-%d.png", mode(bctx), file, w)), buf, 0o644)
			}
			if w == 1024 {
				continue // axe's verdict does not change between desktop widths
			}
			if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](string(axe)+";true")); err != nil {
				t.Fatalf("inject axe-core: %v", err)
			}
			out, err := chromedp.Run(bctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ['violations']}).then(function (r) {
				return JSON.stringify(r.violations.map(function (v) {
					return {id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map(function (n) { return n.target.join(' '); })};
				}));
			})`, func(p *runtime.EvaluateParams) { yes := true; p.AwaitPromise = &yes }))
			if err != nil {
				t.Fatalf("run axe-core: %v", err)
			}
			var vs []axeViolation
			if err := json.Unmarshal([]byte(out), &vs); err != nil {
				t.Fatalf("axe-core answered %q: %v", out, err)
			}
			for _, v := range vs {
				t.Errorf("%s at %d px: %s (%s) at %s", name, w, v.ID, v.Help, strings.Join(v.Nodes, " | "))
			}
		}
	}

	t.Run("sign-in page", func(t *testing.T) {
		if err := run(chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`))); err != nil {
			t.Fatal(err)
		}
		check(t, "/login")
	})
	if err := run(chromedp.SendKeys(chromedp.CSS(`#email`), testAdminEmail), chromedp.SendKeys(chromedp.CSS(`#password`), testAdminPassword),
		chromedp.Click(chromedp.CSS(`[data-testid=login-submit]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=stats]`))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for _, m := range models.Modes {
		t.Run(string(m), func(t *testing.T) {
			if mode(bctx) != string(m) {
				if err := run(chromedp.Click(chromedp.CSS(`[data-testid=mode-`+strings.ToLower(string(m))+`]`)),
					chromedp.WaitVisible(chromedp.CSS(`body[data-mode=`+string(m)+`]`))); err != nil {
					t.Fatalf("switch to %s: %v", m, err)
				}
			}
			id := ids[m]
			for _, path := range []string{
				"/", "/users", "/users/new", "/users/" + id["user"], "/tokens/inspect", "/widget", "/keys", "/keys/" + id["key"],
				"/webhooks", "/webhooks/new", "/webhooks/" + id["endpoint"], "/deliveries", "/deliveries/" + id["delivery"],
				"/events", "/events/" + id["event"], "/requests", "/requests/" + id["request"], "/audit", "/sessions",
				"/operators", "/operators/" + ops[0].ID, "/account", "/search?q=nothing-at-all", "/search?q=maria",
			} {
				if err := run(chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS(`main`))); err != nil {
					t.Fatalf("open %s: %v", path, err)
				}
				check(t, path)
			}
		})
	}
}

// mode is the mode the page on screen shows, for screenshot names.
func mode(ctx context.Context) string {
	m, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.mode || "signed-out"`))
	if err != nil {
		return "page"
	}
	return m
}
