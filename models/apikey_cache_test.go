package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// twoStores opens two stores on one fresh database (SQLite file or
// PostgreSQL schema), as two instances of the server sharing it.
func twoStores(t *testing.T) (a, b *models.Store) {
	t.Helper()
	opts := modelstest.Options(t)
	open := func() *models.Store {
		s, err := models.Open(opts)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return open(), open()
}

func wantCode(t *testing.T, err error, code models.Code) {
	t.Helper()
	e, ok := models.AsError(err)
	if !ok || e.Code != code {
		t.Fatalf("got error %v, want %s", err, code)
	}
}

// TestTokensCheckTheirKey covers POST /v1/tokens' shortened guard: the key
// is verified from memory (AuthenticateCached), and the token's insert
// refuses a key that is no longer what it was, whichever instance changed it.
func TestTokensCheckTheirKey(t *testing.T) {
	ctx := context.Background()
	a, b := twoStores(t)
	user, err := a.CreateUser(ctx, models.Sandbox, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	userID := user.User.ID

	// verified makes a key and has a verify it, so a remembers it.
	verified := func(t *testing.T, name string) (*models.NewAPIKey, *models.APIKey) {
		t.Helper()
		nk, err := b.CreateAPIKey(ctx, models.Sandbox, name, "test")
		if err != nil {
			t.Fatal(err)
		}
		k, err := a.AuthenticateCached(ctx, nk.Key, nk.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.RefreshTokenWithKey(ctx, k, userID); err != nil {
			t.Fatalf("token with a live key: %v", err)
		}
		return nk, k
	}
	tokensOf := func(t *testing.T) int {
		t.Helper()
		ts, err := b.ListUserTokens(ctx, models.Sandbox, userID, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		return len(ts)
	}

	t.Run("a key revoked through the other instance gets no token at once", func(t *testing.T) {
		nk, k := verified(t, "revoked elsewhere")
		if _, err := b.RevokeAPIKey(ctx, models.Sandbox, nk.ID); err != nil {
			t.Fatal(err)
		}
		before := tokensOf(t)
		_, err := a.RefreshTokenWithKey(ctx, k, userID)
		wantCode(t, err, models.CodeInvalidCredentials)
		if got := tokensOf(t); got != before {
			t.Errorf("a revoked key wrote %d tokens", got-before)
		}
		_, err = a.AuthenticateCached(ctx, nk.Key, nk.Secret)
		wantCode(t, err, models.CodeInvalidCredentials)
	})

	t.Run("a revoked key is refused even while the cache still holds it", func(t *testing.T) {
		nk, _ := verified(t, "revoked, cache still warm")
		if _, err := b.RevokeAPIKey(ctx, models.Sandbox, nk.Key); err != nil {
			t.Fatal(err)
		}
		k, err := a.AuthenticateCached(ctx, nk.Key, nk.Secret) // from memory: no read
		if err != nil {
			t.Fatalf("the cache answers without reading: %v", err)
		}
		_, err = a.RefreshTokenWithKey(ctx, k, userID)
		wantCode(t, err, models.CodeInvalidCredentials)
	})

	t.Run("a key whose secret changed is refused with the old secret", func(t *testing.T) {
		nk, k := verified(t, "secret changed")
		if err := b.W.Exec("UPDATE api_keys SET secret_hash = ? WHERE id = ?", "0000", nk.ID).Error; err != nil {
			t.Fatal(err)
		}
		_, err := a.RefreshTokenWithKey(ctx, k, userID)
		wantCode(t, err, models.CodeInvalidCredentials)
		_, err = a.AuthenticateCached(ctx, nk.Key, nk.Secret)
		wantCode(t, err, models.CodeInvalidCredentials)
	})

	t.Run("a revoked key with a bad request hears about its key first", func(t *testing.T) {
		nk, k := verified(t, "revoked, bad request")
		if _, err := b.RevokeAPIKey(ctx, models.Sandbox, nk.ID); err != nil {
			t.Fatal(err)
		}
		_, err := a.RefreshTokenWithKey(ctx, k, "")
		wantCode(t, err, models.CodeInvalidCredentials)
	})

	t.Run("a deleted key is refused", func(t *testing.T) {
		nk, k := verified(t, "deleted")
		if err := b.W.Exec("DELETE FROM api_keys WHERE id = ?", nk.ID).Error; err != nil {
			t.Fatal(err)
		}
		_, err := a.RefreshTokenWithKey(ctx, k, userID)
		wantCode(t, err, models.CodeInvalidCredentials)
	})

	t.Run("a key moved to the other mode is refused", func(t *testing.T) {
		nk, k := verified(t, "mode changed")
		if err := b.W.Exec("UPDATE api_keys SET mode = ? WHERE id = ?", string(models.Production), nk.ID).Error; err != nil {
			t.Fatal(err)
		}
		_, err := a.RefreshTokenWithKey(ctx, k, userID)
		wantCode(t, err, models.CodeInvalidCredentials)
	})

	t.Run("a wrong secret is refused though the key is remembered", func(t *testing.T) {
		nk, _ := verified(t, "wrong secret")
		_, err := a.AuthenticateCached(ctx, nk.Key, nk.Secret+"x")
		wantCode(t, err, models.CodeInvalidCredentials)
		if _, err := a.AuthenticateCached(ctx, nk.Key, nk.Secret); err != nil {
			t.Errorf("the right secret after a wrong one: %v", err)
		}
	})

	t.Run("a live key and a missing user is a missing user", func(t *testing.T) {
		_, k := verified(t, "missing user")
		_, err := a.RefreshTokenWithKey(ctx, k, "acme-00000000000000000000000000000000")
		wantCode(t, err, models.CodeMissingResource)
	})

	t.Run("in one group commit, each request hears about its own key", func(t *testing.T) {
		live := make([]*models.APIKey, 4)
		dead := make([]*models.APIKey, 4)
		for i := range live {
			_, live[i] = verified(t, "live")
			var nk *models.NewAPIKey
			nk, dead[i] = verified(t, "dead")
			if _, err := b.RevokeAPIKey(ctx, models.Sandbox, nk.ID); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for round := range 25 {
			for i := range live {
				wg.Add(2)
				go func() {
					defer wg.Done()
					if _, err := a.RefreshTokenWithKey(ctx, live[i], userID); err != nil {
						t.Errorf("round %d, live key %d: %v", round, i, err)
					}
				}()
				go func() {
					defer wg.Done()
					_, err := a.RefreshTokenWithKey(ctx, dead[i], userID)
					if e, ok := models.AsError(err); !ok || e.Code != models.CodeInvalidCredentials {
						t.Errorf("round %d, revoked key %d: %v, want INVALID_CREDENTIALS", round, i, err)
					}
				}()
			}
		}
		wg.Wait()
	})

	t.Run("the console's refresh needs no key", func(t *testing.T) {
		if _, err := a.RefreshToken(ctx, models.Sandbox, userID, "ops@example.com", 0); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCachedKeyLastUsedAtMostOnceAMinute(t *testing.T) {
	ctx := context.Background()
	s := modelstest.MustOpenStore(t)
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	nk, err := s.CreateAPIKey(ctx, models.Sandbox, "busy", "test")
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() time.Time {
		t.Helper()
		keys, err := s.ListAPIKeys(ctx, models.Sandbox)
		if err != nil || len(keys) != 1 || keys[0].LastUsedAt == nil {
			t.Fatalf("keys %+v, %v", keys, err)
		}
		return keys[0].LastUsedAt.UTC()
	}
	start := now
	for range 3 {
		if _, err := s.AuthenticateCached(ctx, nk.Key, nk.Secret); err != nil {
			t.Fatal(err)
		}
		now = now.Add(20 * time.Second)
	}
	if got := lastUsed(); !got.Equal(start) {
		t.Errorf("last used %v after three uses within 40 s, want the first, %v", got, start)
	}
	now = start.Add(61 * time.Second)
	if _, err := s.AuthenticateCached(ctx, nk.Key, nk.Secret); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(now) {
		t.Errorf("last used %v a minute later, want %v", got, now)
	}
}
