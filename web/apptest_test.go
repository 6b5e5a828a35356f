package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"tokendesk/handlers/api/apitest"
	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// testApp is an app on a fresh database, with keys for both modes.
type testApp struct {
	*App
	sandbox, production string // "key:secret" pairs
	logs                *syncBuffer
}

// syncBuffer collects the app's log lines; handlers log from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestApp(tb testing.TB, edit func(*Config)) *testApp {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.DBPath = modelstest.Database(tb)
	cfg.SecretKeyFile = filepath.Join(tb.TempDir(), "master.key")
	cfg.TenantID = "acme"
	cfg.RateLimit = 0
	if edit != nil {
		edit(&cfg)
	}
	logs := &syncBuffer{}
	a, err := New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		tb.Fatalf("new app: %v", err)
	}
	tb.Cleanup(func() { a.Shutdown(context.Background()) })
	ta := &testApp{App: a, logs: logs}
	for _, m := range models.Modes {
		k, err := a.Store().CreateAPIKey(context.Background(), m, "test "+string(m), "test")
		if err != nil {
			tb.Fatalf("create key: %v", err)
		}
		if m == models.Sandbox {
			ta.sandbox = k.Key + ":" + k.Secret
		} else {
			ta.production = k.Key + ":" + k.Secret
		}
	}
	return ta
}

// apiResponse is a decoded API answer.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
	Env    struct {
		Code      models.Code     `json:"code"`
		Message   string          `json:"message"`
		RequestID string          `json:"requestId"`
		Data      json.RawMessage `json:"data"`
	}
}

// call sends one request through the app and checks the answer against our
// OpenAPI document.
func (ta *testApp) call(tb testing.TB, method, target, creds string, body string, header map[string]string) *apiResponse {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if creds != "" {
		k, s, _ := strings.Cut(creds, ":")
		req.SetBasicAuth(k, s)
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := ta.Fiber().Test(req, -1)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	out := &apiResponse{Status: resp.StatusCode, Header: resp.Header}
	out.Body, _ = io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(out.Body, &out.Env); err != nil {
			tb.Fatalf("%s %s: body is not an envelope: %v\n%s", method, target, err, out.Body)
		}
	}
	apitest.CheckResponse(tb, method, target, req.Header, apitest.Response{Status: out.Status, Header: out.Header, Body: out.Body})
	return out
}
