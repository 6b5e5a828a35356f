package models_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// A raw token is found by the id it carries (its jti), and only when its
// row also holds its hash: an altered token, or text that is no token, finds
// nothing and is no error.
func TestTokensFoundByTheirID(t *testing.T) {
	ctx := context.Background()
	s := modelstest.MustOpenStore(t)
	u, err := s.CreateUser(ctx, models.Sandbox, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.RefreshToken(ctx, models.Sandbox, u.User.ID, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	found, err := s.FindTokenByRaw(ctx, tok.AccessToken)
	if err != nil || found == nil || found.ID != tok.ID {
		t.Fatalf("FindTokenByRaw(issued token) = %+v, %v; want row %s", found, err, tok.ID)
	}
	// Same header and claims (so the same jti), another signature.
	cut := strings.LastIndexByte(tok.AccessToken, '.')
	altered := tok.AccessToken[:cut+1] + strings.Repeat("A", len(tok.AccessToken)-cut-1)
	for _, raw := range []string{altered, "maria.gonzalez@bigcorp.example", "", "a.b.c"} {
		if found, err := s.FindTokenByRaw(ctx, raw); err != nil || found != nil {
			t.Errorf("FindTokenByRaw(%q) = %+v, %v; want nothing", raw, found, err)
		}
	}
	if _, err := s.ConsumeToken(ctx, tok.AccessToken); err != nil {
		t.Fatalf("consume the issued token: %v", err)
	}
	_, err = s.ConsumeToken(ctx, tok.AccessToken)
	var refused *models.TokenRefusedError
	if !errors.As(err, &refused) || refused.Reason != models.RefusedUsed {
		t.Fatalf("consume it again: %v, want %s", err, models.RefusedUsed)
	}
}

// Migration 19 rebuilds link_tokens on SQLite without the unique index on
// token_hash: every row is kept as it was, tokens issued before it are
// still found and consumed, and no index on the table is keyed by the hash.
func TestLinkTokensRebuildKeepsEveryToken(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := models.Open(models.Options{Path: path, TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, models.Sandbox, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	var toks []*models.IssuedToken
	for range 3 {
		tok, err := s.RefreshToken(ctx, models.Sandbox, u.User.ID, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	if _, err := s.ConsumeToken(ctx, toks[0].AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeToken(ctx, models.Sandbox, toks[1].ID, "op"); err != nil {
		t.Fatal(err)
	}
	before := tokenRows(t, s)

	// The table as migration 1 made it: token_hash indexed, unique.
	s = reopenAsOlder(t, s, path,
		"CREATE UNIQUE INDEX link_tokens_hash_before_19 ON link_tokens(token_hash)",
		"DELETE FROM schema_migrations WHERE version = 19",
	)
	if after := tokenRows(t, s); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("rows changed by the rebuild:\nbefore %q\nafter  %q", before, after)
	}
	var hashIndexes int64
	if err := s.R.Raw(`SELECT COUNT(*) FROM pragma_index_list('link_tokens') l, pragma_index_info(l.name) i
		WHERE i.name = 'token_hash'`).Scan(&hashIndexes).Error; err != nil {
		t.Fatal(err)
	}
	if hashIndexes != 0 {
		t.Errorf("%d indexes on link_tokens are keyed by token_hash, want none", hashIndexes)
	}
	for _, tok := range toks {
		if found, err := s.FindTokenByRaw(ctx, tok.AccessToken); err != nil || found == nil || found.ID != tok.ID {
			t.Errorf("token %s after the rebuild: found %+v, %v", tok.ID, found, err)
		}
	}
	if _, err := s.ConsumeToken(ctx, toks[2].AccessToken); err != nil {
		t.Errorf("a token issued before the rebuild could not be consumed: %v", err)
	}
	var refused *models.TokenRefusedError
	if _, err := s.ConsumeToken(ctx, toks[0].AccessToken); !errors.As(err, &refused) || refused.Reason != models.RefusedUsed {
		t.Errorf("a token consumed before the rebuild: %v, want %s", err, models.RefusedUsed)
	}
}

// tokenRows is every link_tokens row as text, in id order.
func tokenRows(t *testing.T, s *models.Store) []string {
	t.Helper()
	var rows []string
	err := s.R.Raw(`SELECT id || '|' || mode || '|' || user_id || '|' || token_hash || '|' || kid || '|' || issued_by || '|' ||
		issued_at || '|' || expires_at || '|' || COALESCE(consumed_at, '-') || '|' || COALESCE(revoked_at, '-') || '|' || revoked_by
		FROM link_tokens ORDER BY id`).Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
