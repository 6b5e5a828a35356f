package models_test

import (
	"context"
	"path/filepath"
	"testing"

	"tokendesk/models"
)

// A database left by two rotations that raced (two current keys in a mode)
// keeps its newest key current when migration 17 runs; the others retire.
func TestOneCurrentSigningKeyMigrationRetiresOlderDuplicates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := models.Open(models.Options{Path: path, TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err = s.RotateSigningKey(ctx, models.Sandbox); err != nil {
			t.Fatal(err)
		}
	}
	s = reopenAsOlder(t, s, path,
		"DROP INDEX signing_keys_one_current",
		"UPDATE signing_keys SET retired_at = NULL",
		"DELETE FROM schema_migrations WHERE name = 'one current signing key per mode'",
	)
	// Read without the private key, which only the store unseals.
	type keyRow struct {
		Kid, Mode            string
		CreatedAt, RetiredAt *int64
	}
	var keys []keyRow
	if err := s.R.Raw("SELECT kid, mode, created_at, retired_at FROM signing_keys WHERE mode = ?", models.Sandbox).Scan(&keys).Error; err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Fatalf("%d SANDBOX keys, want 4", len(keys))
	}
	// Newest as the key ring orders them: by creation, then kid.
	newest := keys[0]
	for _, k := range keys[1:] {
		if *k.CreatedAt > *newest.CreatedAt || (*k.CreatedAt == *newest.CreatedAt && k.Kid > newest.Kid) {
			newest = k
		}
	}
	for _, k := range keys {
		switch {
		case k.Kid == newest.Kid && k.RetiredAt != nil:
			t.Errorf("the newest key %s was retired", k.Kid)
		case k.Kid != newest.Kid && (k.RetiredAt == nil || *k.RetiredAt != *newest.CreatedAt):
			t.Errorf("key %s retired at %v, want when the newest was made (%d)", k.Kid, k.RetiredAt, *newest.CreatedAt)
		}
	}
}
