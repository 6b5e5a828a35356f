package api_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"tokendesk/handlers/api/apitest"
	"tokendesk/models"
	"tokendesk/models/modelstest"
	"tokendesk/web"
)

func newApp(t *testing.T) *web.App {
	t.Helper()
	cfg := web.DefaultConfig()
	cfg.DBPath = modelstest.Database(t)
	cfg.SecretKeyFile = filepath.Join(t.TempDir(), "master.key")
	cfg.TenantID = "acme"
	cfg.RateLimit = 0
	app, err := web.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("new app: %v", err)
	}
	t.Cleanup(func() { app.Shutdown(context.Background()) })
	return app
}

// issue makes a user in mode and returns its first link token.
func issue(t *testing.T, s *models.Store, mode models.Mode) *models.IssuedToken {
	t.Helper()
	u, err := s.CreateUser(context.Background(), mode, nil, "test")
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u.Token
}

type envelope struct {
	Code      string          `json:"code"`
	Message   string          `json:"message"`
	RequestID string          `json:"requestId"`
	Data      json.RawMessage `json:"data"`
}

func TestLinkSessions(t *testing.T) {
	app := newApp(t)
	s := app.Store()
	ctx := context.Background()

	scenarios := []struct {
		name       string
		method     string
		header     func(t *testing.T) http.Header
		wantStatus int
		wantCode   string
		wantReason string
		wantInBody []string
	}{
		{
			name: "a fresh token starts a session and says who it is for", method: "POST",
			header: func(t *testing.T) http.Header {
				return bearer(issue(t, s, models.Production).AccessToken)
			},
			wantStatus: 201, wantCode: "CREATED",
			wantInBody: []string{`"mode":"PRODUCTION"`, `"userId":"acme-`, `"tokenId":"tk-`, `"consumedAt":"`, `"status":"IN_PROGRESS"`},
		},
		{
			name: "a token used once is refused the second time, saying when it was used", method: "POST",
			header: func(t *testing.T) http.Header {
				tok := issue(t, s, models.Sandbox)
				if _, err := s.ConsumeToken(ctx, tok.AccessToken); err != nil {
					t.Fatalf("first use: %v", err)
				}
				return bearer(tok.AccessToken)
			},
			wantStatus: 401, wantCode: "INVALID_TOKEN", wantReason: "USED",
			wantInBody: []string{"already used at 20", "issue a new token for every launch"},
		},
		{
			name: "an expired token is refused, saying when it expired", method: "POST",
			header: func(t *testing.T) http.Header {
				real := s.Now
				s.Now = func() time.Time { return real().Add(-2 * time.Hour) }
				defer func() { s.Now = real }()
				u, err := s.CreateUser(ctx, models.Sandbox, nil, "test")
				if err != nil {
					t.Fatal(err)
				}
				tok, err := s.RefreshToken(ctx, models.Sandbox, u.User.ID, "test", time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				return bearer(tok.AccessToken)
			},
			wantStatus: 401, wantCode: "INVALID_TOKEN", wantReason: "EXPIRED",
			wantInBody: []string{"it expired at 20"},
		},
		{
			name: "a revoked token is refused, saying when it was revoked", method: "POST",
			header: func(t *testing.T) http.Header {
				tok := issue(t, s, models.Sandbox)
				if _, err := s.RevokeToken(ctx, models.Sandbox, tok.ID, "test"); err != nil {
					t.Fatal(err)
				}
				return bearer(tok.AccessToken)
			},
			wantStatus: 401, wantCode: "INVALID_TOKEN", wantReason: "REVOKED",
			wantInBody: []string{"it was revoked at 20"},
		},
		{
			name: "a token whose claims were altered is refused as tampered", method: "POST",
			header: func(t *testing.T) http.Header {
				return bearer(tamper(t, issue(t, s, models.Sandbox).AccessToken))
			},
			wantStatus: 401, wantCode: "INVALID_TOKEN", wantReason: "INVALID",
			wantInBody: []string{"signature does not match"},
		},
		{
			name: "a token signed with a key this server does not have is refused", method: "POST",
			header: func(t *testing.T) http.Header {
				return bearer(foreignToken(t))
			},
			wantStatus: 401, wantCode: "INVALID_TOKEN", wantReason: "INVALID",
			wantInBody: []string{`key this server does not have (kid \"k-elsewhere\")`},
		},
		{
			name: "a well-signed token with no row here is refused as never issued", method: "POST",
			header: func(t *testing.T) http.Header {
				tok := issue(t, s, models.Sandbox)
				if err := s.W.Exec("DELETE FROM link_tokens WHERE id = ?", tok.ID).Error; err != nil {
					t.Fatal(err)
				}
				return bearer(tok.AccessToken)
			},
			wantStatus: 401, wantCode: "INVALID_TOKEN", wantReason: "NOT_ISSUED",
			wantInBody: []string{"never issued by this server"},
		},
		{
			name: "text that is not a token is refused", method: "POST",
			header:     func(t *testing.T) http.Header { return bearer("not-a-token") },
			wantStatus: 401, wantCode: "INVALID_TOKEN", wantReason: "INVALID",
			wantInBody: []string{"not three dot-separated parts"},
		},
		{
			name: "a request without a token is told how to send one", method: "POST",
			header:     func(t *testing.T) http.Header { return http.Header{} },
			wantStatus: 401, wantCode: "INVALID_TOKEN", wantReason: "MISSING",
			wantInBody: []string{"Authorization: Bearer"},
		},
		{
			name: "API key credentials are not a link token", method: "POST",
			header: func(t *testing.T) http.Header {
				return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("key:secret"))}}
			},
			wantStatus: 401, wantCode: "INVALID_TOKEN", wantReason: "MISSING",
		},
		{
			name: "GET is not a method of link sessions", method: "GET",
			header:     func(t *testing.T) http.Header { return http.Header{} },
			wantStatus: 501, wantCode: "UNSUPPORTED_METHOD",
		},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			req := httptest.NewRequest(sc.method, "/v1/link/sessions", nil)
			req.Header = sc.header(t)
			req.Header.Set("Origin", "https://shop.example")
			res, err := app.Fiber().Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			apitest.CheckResponse(t, req.Method, req.URL.RequestURI(), req.Header, apitest.Response{Status: res.StatusCode, Header: res.Header, Body: body})
			if got, want := res.StatusCode, sc.wantStatus; got != want {
				t.Fatalf("status %d, want %d; body %s", got, want, body)
			}
			var env envelope
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatalf("body is not an envelope: %v: %s", err, body)
			}
			if got, want := env.Code, sc.wantCode; got != want {
				t.Errorf("code %q, want %q", got, want)
			}
			if env.RequestID == "" {
				t.Error("envelope has no request id")
			}
			if sc.wantReason != "" {
				var d struct{ Reason string }
				json.Unmarshal(env.Data, &d)
				if got, want := d.Reason, sc.wantReason; got != want {
					t.Errorf("reason %q, want %q", got, want)
				}
				if got := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
					t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
				}
			}
			for _, want := range sc.wantInBody {
				if !strings.Contains(string(body), want) {
					t.Errorf("body lacks %q: %s", want, body)
				}
			}
			// Every answer, refusals included, must be readable by a page on
			// another origin, or the SDK could not say why it failed.
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin %q, want *", got)
			}
		})
	}

	t.Run("a CORS preflight from any origin is allowed to send the Bearer header", func(t *testing.T) {
		req := httptest.NewRequest("OPTIONS", "/v1/link/sessions", nil)
		req.Header.Set("Origin", "https://shop.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		res, err := app.Fiber().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := res.StatusCode, 204; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		for h, want := range map[string]string{
			"Access-Control-Allow-Origin":  "*",
			"Access-Control-Allow-Methods": "POST, OPTIONS",
			"Access-Control-Allow-Headers": "Authorization, Content-Type",
		} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s %q, want %q", h, got, want)
			}
		}
		if got := res.Header.Get("Access-Control-Allow-Credentials"); got != "" {
			t.Errorf("Access-Control-Allow-Credentials %q: no cookie is ever involved", got)
		}
	})
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// tamper rewrites the token's subject and keeps the old signature.
func tamper(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["sub"] = "acme-someoneelse"
	payload, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// foreignToken is a well-formed link token signed by a key that is not ours.
func foreignToken(t *testing.T) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"sub": "acme-0123", "mode": "SANDBOX", "jti": "tk-0123",
		"exp": time.Now().Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = "k-elsewhere"
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
