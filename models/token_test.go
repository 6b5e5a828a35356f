package models_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestTokenLifecycle(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	created, err := s.CreateUser(ctx, models.Sandbox, models.Metadata{"crm": "1"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	raw := created.Token.AccessToken

	t.Run("a fresh token is active and verifies", func(t *testing.T) {
		p := s.ParseToken(raw)
		if !p.SignatureOK || p.ExpiredClaim {
			t.Fatalf("parse: %+v", p)
		}
		row, err := s.FindTokenByRaw(ctx, raw)
		if err != nil || row == nil {
			t.Fatalf("find: %v", err)
		}
		if got, want := row.Status(now), models.TokenActive; got != want {
			t.Errorf("status: got %s, want %s", got, want)
		}
	})
	t.Run("a token with a changed payload is refused", func(t *testing.T) {
		parts := strings.Split(raw, ".")
		parts[1] = parts[1][:len(parts[1])-2] + "AA"
		p := s.ParseToken(strings.Join(parts, "."))
		if p.SignatureOK || p.Problem == "" {
			t.Errorf("tampered token accepted: %+v", p)
		}
	})
	t.Run("text that is not a token says so", func(t *testing.T) {
		if p := s.ParseToken("hello"); p.SignatureOK || !strings.Contains(p.Problem, "not a link token") {
			t.Errorf("got %+v", p)
		}
	})
	t.Run("the token expires after its lifetime", func(t *testing.T) {
		later := now.Add(models.DefaultTokenTTL)
		row, _ := s.FindTokenByRaw(ctx, raw)
		if got, want := row.Status(later), models.TokenExpired; got != want {
			t.Errorf("status: got %s, want %s", got, want)
		}
	})
	t.Run("a token survives a rotation of the signing key", func(t *testing.T) {
		if _, err := s.RotateSigningKey(ctx, models.Sandbox); err != nil {
			t.Fatal(err)
		}
		if p := s.ParseToken(raw); !p.SignatureOK {
			t.Errorf("old token no longer verifies: %s", p.Problem)
		}
		fresh, err := s.RefreshToken(ctx, models.Sandbox, created.User.ID, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		if fresh.Kid == created.Token.Kid {
			t.Error("the new token was signed with the retired key")
		}
	})
	t.Run("revoking is recorded with who did it", func(t *testing.T) {
		row, err := s.RevokeToken(ctx, models.Sandbox, created.Token.ID, "ops@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if row.Status(now) != models.TokenRevoked || row.RevokedBy != "ops@example.com" {
			t.Errorf("got %+v", row)
		}
		if _, err := s.RevokeToken(ctx, models.Production, created.Token.ID, "x"); models.ErrorCode(err) != models.CodeMissingResource {
			t.Errorf("the other mode could revoke it: %v", err)
		}
	})
}

func TestConsumeTokenOnce(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	ctx := context.Background()
	created, err := s.CreateUser(ctx, models.Production, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.ConsumeToken(ctx, created.Token.AccessToken); err == nil {
				wins.Add(1)
			} else if models.ErrorCode(err) != models.CodeInvalidToken {
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if got, want := wins.Load(), int32(1); got != want {
		t.Fatalf("%d concurrent uses succeeded, want %d", got, want)
	}
	_, err = s.ConsumeToken(ctx, created.Token.AccessToken)
	if e, _ := models.AsError(err); e == nil || !strings.Contains(e.Message, "already used") {
		t.Errorf("second use: %v", err)
	}
}

func TestCreateUserIsOneTransaction(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	ctx := context.Background()
	// A metadata pair that breaks the rules must leave nothing behind.
	_, err := s.CreateUser(ctx, models.Sandbox, models.Metadata{"k": strings.Repeat("v", 501)}, "test")
	if err == nil {
		t.Fatal("invalid metadata accepted")
	}
	for _, table := range []string{"users", "link_tokens", "events", "user_metadata"} {
		var n int64
		s.R.Raw("SELECT COUNT(*) FROM " + table).Scan(&n)
		if n != 0 {
			t.Errorf("%s has %d rows after a refused create", table, n)
		}
	}
	created, err := s.CreateUser(ctx, models.Sandbox, models.Metadata{"crm": "7"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"users", "link_tokens", "events", "user_metadata"} {
		var n int64
		s.R.Raw("SELECT COUNT(*) FROM "+table+" WHERE "+map[string]string{"users": "id", "link_tokens": "user_id", "events": "user_id", "user_metadata": "user_id"}[table]+" = ?", created.User.ID).Scan(&n)
		if n != 1 {
			t.Errorf("%s has %d rows for the user, want 1", table, n)
		}
	}
}

func TestTenantIDIsKept(t *testing.T) {
	dir := t.TempDir()
	s, err := models.Open(models.Options{Path: dir + "/db"})
	if err != nil {
		t.Fatal(err)
	}
	id := s.TenantID
	s.Close()
	if !models.ValidTenantID(id) {
		t.Fatalf("generated tenant id %q", id)
	}
	s, err = models.Open(models.Options{Path: dir + "/db"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.TenantID != id {
		t.Errorf("tenant id changed from %s to %s", id, s.TenantID)
	}
	if _, err := models.Open(models.Options{Path: dir + "/db", TenantID: "other"}); err == nil {
		t.Error("a different tenant id was accepted for an existing database")
	}
}

// A new user's first token is issued at the user's own instant, however
// long the inserts before it take: its lifetime counts from the createdAt
// the API reports. The clock here moves ten seconds on every reading.
func TestFirstTokenIssuedWhenTheUserIsCreated(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	var mu sync.Mutex
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(10 * time.Second)
		return clock
	}
	u, err := s.CreateUser(context.Background(), models.Sandbox, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Token.IssuedAt, u.User.CreatedAt.Truncate(time.Second); !got.Equal(want) {
		t.Errorf("token issued at %s, user created at %s", got, u.User.CreatedAt)
	}
	if got, want := u.Token.ExpiresAt.Sub(u.User.CreatedAt), s.TokenTTL; got != want {
		t.Errorf("token lives %s from the user's creation, want %s", got, want)
	}
}
