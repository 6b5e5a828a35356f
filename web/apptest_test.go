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

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"tokendesk/handlers/api"
	"tokendesk/models"
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
	cfg.DBPath = filepath.Join(tb.TempDir(), "tokendesk.db")
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
	validateAgainstOpenAPI(tb, method, target, body, req.Header, out)
	return out
}

var (
	openAPIOnce   sync.Once
	openAPIRouter routers.Router
	openAPIErr    error
)

// validateAgainstOpenAPI checks a response with a real OpenAPI validator,
// for every documented path; an undocumented /v1 path must be an error.
func validateAgainstOpenAPI(tb testing.TB, method, target, body string, header http.Header, out *apiResponse) {
	tb.Helper()
	if !strings.HasPrefix(target, "/v1/") || strings.HasPrefix(target, "/v1/openapi.yaml") {
		return
	}
	openAPIOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPIDocument)
		if err != nil {
			openAPIErr = err
			return
		}
		if err = doc.Validate(loader.Context); err != nil {
			openAPIErr = err
			return
		}
		doc.Servers = openapi3.Servers{{URL: "http://example.test/v1"}}
		openAPIRouter, openAPIErr = gorillamux.NewRouter(doc)
	})
	if openAPIErr != nil {
		tb.Fatalf("openapi document: %v", openAPIErr)
	}
	req, _ := http.NewRequest(method, "http://example.test"+target, strings.NewReader(body))
	req.Header = header.Clone()
	route, params, err := openAPIRouter.FindRoute(req)
	if err != nil {
		if out.Status < 400 {
			tb.Errorf("%s %s answered %d but is not in the OpenAPI document: %v", method, target, out.Status, err)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: true}}
	rv := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: out.Status, Header: out.Header,
		Body: io.NopCloser(bytes.NewReader(out.Body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), rv); err != nil {
		tb.Errorf("%s %s: response %d does not match the OpenAPI document: %v\n%s", method, target, out.Status, err, out.Body)
	}
}
