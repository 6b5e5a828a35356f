package widget_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tokendesk/web"
)

func newApp(t *testing.T, demo bool) *web.App {
	t.Helper()
	cfg := web.DefaultConfig()
	cfg.DBPath = filepath.Join(t.TempDir(), "test.db")
	cfg.TenantID = "acme"
	cfg.Demo = demo
	app, err := web.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("new app: %v", err)
	}
	t.Cleanup(func() { app.Shutdown(context.Background()) })
	return app
}

func TestWidgetRoutes(t *testing.T) {
	withDemo, withoutDemo := newApp(t, true), newApp(t, false)
	tests := []struct {
		name       string
		app        *web.App
		path       string
		header     map[string]string
		wantStatus int
		wantHeader map[string]string
		wantBody   []string
	}{
		{
			name: "the SDK is served at its stable URL, loadable from any site", app: withoutDemo, path: "/static/wink.js",
			wantStatus: 200,
			wantHeader: map[string]string{"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=300",
				"Cross-Origin-Resource-Policy": "cross-origin"},
			wantBody: []string{"window.WinkWidget = WinkWidget", "window.SmileLinkModal = SmileLinkModal"},
		},
		{
			name: "the demo page is not served without --demo", app: withoutDemo, path: "/demo",
			wantStatus: 404,
		},
		{
			name: "the demo page shows this server's embedding code", app: withDemo, path: "/demo",
			wantStatus: 200,
			wantBody:   []string{`&lt;script src=&#34;http://example.com/static/wink.js&#34;&gt;`, "new WinkWidget", `/v1/tokens?userId=`},
		},
		{
			name: "the demo page's script is served with --demo", app: withDemo, path: "/static/demo.js",
			wantStatus: 200, wantBody: []string{"new WinkWidget"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			res, err := tt.app.Fiber().Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			if got, want := res.StatusCode, tt.wantStatus; got != want {
				t.Fatalf("status %d, want %d", got, want)
			}
			for k, want := range tt.wantHeader {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(string(body), want) {
					t.Errorf("body lacks %q", want)
				}
			}
		})
	}

	t.Run("a client with the current SDK revalidates without downloading it", func(t *testing.T) {
		res, err := withoutDemo.Fiber().Test(httptest.NewRequest("GET", "/static/wink.js", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/static/wink.js", nil)
		req.Header.Set("If-None-Match", res.Header.Get("ETag"))
		res, err = withoutDemo.Fiber().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := res.StatusCode, 304; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
	})

	// The app's CSP allows no inline script or style; the demo page must
	// not need them or it would break under its own server.
	t.Run("the demo page has no inline script or style", func(t *testing.T) {
		res, err := withDemo.Fiber().Test(httptest.NewRequest("GET", "/demo", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		for _, tag := range regexp.MustCompile(`<script[^>]*>[^<]*`).FindAll(body, -1) {
			if !strings.Contains(string(tag), " src=") || !strings.HasSuffix(string(tag), ">") {
				t.Errorf("inline script: %q", tag)
			}
		}
		for _, bad := range []*regexp.Regexp{regexp.MustCompile(`\sstyle=`), regexp.MustCompile(`<style`), regexp.MustCompile(`\son[a-z]+=`)} {
			if m := bad.Find(body); m != nil {
				t.Errorf("page has %q", m)
			}
		}
	})
}
