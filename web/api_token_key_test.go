package web

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"tokendesk/models"
)

// POST /v1/tokens checks its key from memory and has the token's insert
// check the key is still live; these are the API's answers, with two apps
// on one database (SQLite file or PostgreSQL schema) as two instances.
func TestTokenRefreshRefusesAKeyRevokedElsewhere(t *testing.T) {
	a := newTestApp(t, nil)
	b := newTestApp(t, func(c *Config) { c.DBPath, c.SecretKeyFile = a.cfg.DBPath, a.cfg.SecretKeyFile })
	ctx := context.Background()
	created := a.call(t, "POST", "/v1/users", a.sandbox, `{}`, nil)
	if created.Status != 201 {
		t.Fatalf("create user: %d %s", created.Status, created.Body)
	}
	var data struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(created.Env.Data, &data); err != nil {
		t.Fatal(err)
	}
	nk, err := a.Store().CreateAPIKey(ctx, models.Sandbox, "revoked on A", "test")
	if err != nil {
		t.Fatal(err)
	}
	creds := nk.Key + ":" + nk.Secret
	target := "/v1/tokens?userId=" + data.User.ID

	t.Run("the key works through B, which then remembers it", func(t *testing.T) {
		for range 2 {
			if r := b.call(t, "POST", target, creds, "", nil); r.Status != 201 {
				t.Fatalf("refresh through B: %d %s", r.Status, r.Body)
			}
		}
	})
	t.Run("revoked through A, B refuses the next refresh", func(t *testing.T) {
		if _, err := a.Store().RevokeAPIKey(ctx, models.Sandbox, nk.ID); err != nil {
			t.Fatal(err)
		}
		r := b.call(t, "POST", target, creds, "", nil)
		if r.Status != 400 || r.Env.Code != models.CodeInvalidCredentials {
			t.Fatalf("refresh with a revoked key through B: %d %s, want 400 INVALID_CREDENTIALS", r.Status, r.Body)
		}
		// Logged as a request without a valid key, as any refused key is.
		for _, line := range strings.Split(b.logs.String(), "\n") {
			if strings.Contains(line, "request_id="+r.Env.RequestID) && strings.Contains(line, "api_key=") {
				t.Errorf("the refused request is logged with its key: %s", line)
			}
		}
		if r := b.call(t, "POST", target, creds, "", nil); r.Status != 400 {
			t.Errorf("refresh again: %d, want 400", r.Status)
		}
	})
	t.Run("a live key and a missing user is still 404", func(t *testing.T) {
		r := b.call(t, "POST", "/v1/tokens?userId=acme-00000000000000000000000000000000", b.sandbox, "", nil)
		if r.Status != 404 || r.Env.Code != models.CodeMissingResource {
			t.Fatalf("missing user: %d %s, want 404 MISSING_RESOURCE", r.Status, r.Body)
		}
	})
	t.Run("other methods on /v1/tokens still read the key", func(t *testing.T) {
		if r := b.call(t, "GET", target, creds, "", nil); r.Status != 400 {
			t.Errorf("GET with a revoked key: %d, want 400", r.Status)
		}
		if r := b.call(t, "GET", target, b.sandbox, "", nil); r.Status != 501 {
			t.Errorf("GET with a live key: %d, want 501", r.Status)
		}
	})
}
