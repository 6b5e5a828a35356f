package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tokendesk/models"
)

// waitForRequest polls the request log until id is in it, or fails.
func waitForRequest(t *testing.T, a *App, mode models.Mode, id string) *models.APIRequest {
	t.Helper()
	for range 200 {
		r, err := a.store.GetAPIRequest(t.Context(), mode, id)
		if err == nil {
			return r
		}
		if models.ErrorCode(err) != models.CodeMissingResource {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("request %s never reached the log", id)
	return nil
}

func TestAPIRequestLog(t *testing.T) {
	ta := newTestApp(t, func(c *Config) { c.AdminEmail, c.AdminPassword = testAdminEmail, testAdminPassword })
	a := ta.App

	created := ta.call(t, "POST", "/v1/users", ta.sandbox, `{"externalMetadata":{"crm":"C-7"}}`, nil)
	var data struct{ User struct{ ID string } }
	if err := json.Unmarshal(created.Env.Data, &data); err != nil || data.User.ID == "" {
		t.Fatalf("create user: %s", created.Body)
	}
	userID := data.User.ID
	refreshed := ta.call(t, "POST", "/v1/tokens?userId="+userID, ta.sandbox, "", nil)
	missing := ta.call(t, "POST", "/v1/tokens?userId=acme-00000000000000000000000000000000", ta.sandbox, "", nil)
	hook := ta.call(t, "POST", "/v1/webhooks", ta.sandbox,
		`{"name":"crm","url":"http://localhost:9/h","eventTypes":["USER_CREATED"],"active":true,"secret":"super-secret-value-123"}`, nil)
	unauth := ta.call(t, "GET", "/v1/users", "", "", nil)

	t.Run("a request is recorded with its key, user, status and time", func(t *testing.T) {
		r := waitForRequest(t, a, models.Sandbox, refreshed.Env.RequestID)
		if r.Method != "POST" || r.Path != "/v1/tokens" || r.UserID != userID || r.Status != 201 || r.APIKey == "" ||
			r.ErrorCode != "" || r.CreatedAt.IsZero() || !strings.Contains(r.Query, "userId=") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("a created user is the user its request concerned", func(t *testing.T) {
		r := waitForRequest(t, a, models.Sandbox, created.Env.RequestID)
		if r.UserID != userID || !strings.Contains(r.RequestBody, "C-7") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("an error keeps its code and message", func(t *testing.T) {
		r := waitForRequest(t, a, models.Sandbox, missing.Env.RequestID)
		if r.Status != 404 || r.ErrorCode != string(models.CodeMissingResource) || r.ErrorMessage != missing.Env.Message {
			t.Fatalf("got %+v, want the envelope's %s %q", r, missing.Env.Code, missing.Env.Message)
		}
	})
	t.Run("a write's body is kept with its secret redacted", func(t *testing.T) {
		r := waitForRequest(t, a, models.Sandbox, hook.Env.RequestID)
		if strings.Contains(r.RequestBody, "super-secret-value-123") || !strings.Contains(r.RequestBody, models.Redacted) ||
			!strings.Contains(r.RequestBody, "localhost:9") {
			t.Fatalf("body %q", r.RequestBody)
		}
	})
	t.Run("the other mode does not see it", func(t *testing.T) {
		if _, err := a.store.GetAPIRequest(t.Context(), models.Production, refreshed.Env.RequestID); models.ErrorCode(err) != models.CodeMissingResource {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a request without a valid key is not kept", func(t *testing.T) {
		time.Sleep(2 * flushEvery)
		for _, m := range models.Modes {
			if _, err := a.store.GetAPIRequest(t.Context(), m, unauth.Env.RequestID); models.ErrorCode(err) != models.CodeMissingResource {
				t.Fatalf("%s: got %v", m, err)
			}
		}
	})

	b := a.client(t)
	b.signIn(testAdminEmail, testAdminPassword)
	t.Run("the search box finds a request by the id a customer quotes", func(t *testing.T) {
		resp := b.do(http.MethodGet, "/search?q="+url.QueryEscape(" "+strings.ToUpper(missing.Env.RequestID)+" "), nil)
		if got, want := resp.Header.Get("Location"), "/requests/"+missing.Env.RequestID; resp.StatusCode != http.StatusSeeOther || got != want {
			t.Fatalf("status %d, location %q, want %q", resp.StatusCode, got, want)
		}
		_, doc, _ := b.page(http.MethodGet, "/requests/"+missing.Env.RequestID, nil)
		if got := doc.Find(`[data-testid="request-error-code"]`).Text(); got != string(models.CodeMissingResource) {
			t.Fatalf("error code on the page: %q", got)
		}
		if got := doc.Find(`[data-testid="request-error-message"]`).Text(); got != missing.Env.Message {
			t.Fatalf("message on the page: %q", got)
		}
	})
	t.Run("the request page shows the redacted body", func(t *testing.T) {
		_, doc, raw := b.page(http.MethodGet, "/requests/"+hook.Env.RequestID, nil)
		if strings.Contains(raw, "super-secret-value-123") || !strings.Contains(doc.Find(`[data-testid="request-body"]`).Text(), models.Redacted) {
			t.Fatalf("body on the page: %q", doc.Find(`[data-testid="request-body"]`).Text())
		}
	})
	t.Run("the user's page lists its requests", func(t *testing.T) {
		_, doc, _ := b.page(http.MethodGet, "/users/"+userID, nil)
		rows := doc.Find(`[data-testid="user-requests"] [data-testid="request-row"]`)
		if got, want := rows.Length(), 2; got != want {
			t.Fatalf("%d requests on the user's page, want %d", got, want)
		}
	})
	t.Run("the key's page lists its requests", func(t *testing.T) {
		r := waitForRequest(t, a, models.Sandbox, refreshed.Env.RequestID)
		_, keys, _ := b.page(http.MethodGet, "/keys", nil)
		if keys.Find(`a[data-testid=key-link][href="/keys/`+r.APIKeyID+`"]`).Length() != 1 {
			t.Fatal("the key list does not link the key's page")
		}
		_, doc, _ := b.page(http.MethodGet, "/keys/"+r.APIKeyID, nil)
		if got := doc.Find(`[data-testid="request-row"]`).Length(); got < 4 {
			t.Fatalf("%d requests on the key's page, want at least 4", got)
		}
	})
	t.Run("the log filters by status, path, key and user", func(t *testing.T) {
		r := waitForRequest(t, a, models.Sandbox, refreshed.Env.RequestID)
		for _, c := range []struct {
			query string
			want  int
		}{
			{"status=errors", 1},
			{"status=404", 1},
			{"status=2xx", 3},
			{"path=" + url.QueryEscape("/v1/tokens"), 2},
			{"key=" + r.APIKeyID, 4},
			{"user=" + userID, 2},
			{"status=4xx&path=" + url.QueryEscape("/v1/users"), 0},
		} {
			_, doc, _ := b.page(http.MethodGet, "/requests?"+c.query, nil)
			if got := doc.Find(`[data-testid="request-row"]`).Length(); got != c.want {
				t.Errorf("%s: %d rows, want %d", c.query, got, c.want)
			}
		}
		resp, doc, _ := b.page(http.MethodGet, "/requests?status=teapot&path=v1", nil)
		if resp.StatusCode != http.StatusBadRequest || doc.Find(`[data-testid="field-error"]`).Length() != 2 ||
			doc.Find(`input[name=path]`).AttrOr("value", "") != "v1" {
			t.Fatalf("bad filters: status %d, %d field errors", resp.StatusCode, doc.Find(`[data-testid="field-error"]`).Length())
		}
	})
}

func TestRequestLogRetention(t *testing.T) {
	s := newTestApp(t, nil).store
	ctx := t.Context()
	// The app prunes at start too: had it run after the rows below were
	// made, it would have taken the old one first.
	waitForStartPrune(t, s)
	old, fresh := s.Now().Add(-15*24*time.Hour), s.Now().Add(-13*24*time.Hour)
	if err := s.RecordAPIRequests(ctx, []models.APIRequest{
		{ID: "old", Mode: models.Sandbox, Method: "GET", Path: "/v1/users", Status: 200, CreatedAt: old},
		{ID: "fresh", Mode: models.Production, Method: "GET", Path: "/v1/users", Status: 200, CreatedAt: fresh},
	}); err != nil {
		t.Fatal(err)
	}
	counts, err := s.Prune(ctx, models.DefaultRetention())
	if err != nil || counts["requests"] != 1 {
		t.Fatalf("pruned %d, %v; want 1", counts["requests"], err)
	}
	if _, err := s.GetAPIRequest(ctx, models.Production, "fresh"); err != nil {
		t.Fatalf("the fresh request went too: %v", err)
	}
	for _, c := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{{"14d", 14 * 24 * time.Hour, false}, {"36h", 36 * time.Hour, false}, {"0", 0, false}, {"soon", 0, true}} {
		cfg, _, err := ParseConfig("tokendesk", []string{"--retain-requests", c.in}, func(string) string { return "" }, io.Discard)
		if c.bad {
			if err == nil || !strings.Contains(err.Error(), "retain-requests") {
				t.Fatalf("%s: got %v, want an error naming the flag", c.in, err)
			}
			continue
		}
		if err != nil || cfg.Retention.Requests != c.want {
			t.Fatalf("%s: got %v, %v", c.in, cfg.Retention.Requests, err)
		}
	}
}
