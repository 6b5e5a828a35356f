package models

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openSealTest(t *testing.T, path, keyFile string) *Store {
	t.Helper()
	s, err := Open(Options{Path: path, TenantID: "acme", SecretKeyFile: keyFile})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// secretsOf collects every secret the store holds in memory: the signing
// keys' private halves and the endpoints' secrets of every generation.
func secretsOf(t *testing.T, s *Store, endpointSecrets ...string) [][]byte {
	t.Helper()
	var out [][]byte
	s.keys.mu.RLock()
	for _, k := range s.keys.byKid {
		out = append(out, append([]byte(nil), k.PrivateKey[:32]...)) // the seed
	}
	s.keys.mu.RUnlock()
	for _, sec := range endpointSecrets {
		out = append(out, []byte(sec))
	}
	return out
}

// scanFiles fails t if any secret appears in the database, its WAL or its
// shared-memory file.
func scanFiles(t *testing.T, path string, secrets [][]byte) {
	t.Helper()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			if bytes.Contains(b, sec) {
				t.Errorf("%s holds a secret in clear (%d bytes)", filepath.Base(p), len(sec))
			}
		}
	}
}

func makeEndpoint(t *testing.T, s *Store, secret string) *WebhookEndpoint {
	t.Helper()
	name, url, active := "hooks", "http://127.0.0.1:9/hook", true
	ep, err := s.CreateWebhookEndpoint(context.Background(), Sandbox, WebhookInput{
		Name: &name, URL: &url, EventTypes: []string{EventAllEvents}, Active: &active, Secret: &secret})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestSecretsSealedAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "td.db")
	top := t
	s := openSealTest(t, path, "")

	t.Run("the key file is created 0600 beside the database", func(t *testing.T) {
		if !s.SecretKeyCreated || s.SecretKeyFile != path+".key" {
			t.Fatalf("got %q (created %v), want %q created", s.SecretKeyFile, s.SecretKeyCreated, path+".key")
		}
		fi, err := os.Stat(s.SecretKeyFile)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %04o, want 0600", filepath.Base(p), fi.Mode().Perm())
			}
		}
	})

	ep := makeEndpoint(t, s, "first-secret-of-endpoint-one")
	rotated, err := s.RotateWebhookSecret(ctx, Sandbox, ep.ID, "second-secret-of-endpoint-one")
	if err != nil {
		t.Fatal(err)
	}
	other := makeEndpoint(t, s, "secret-of-endpoint-two")
	updated := "replaced-secret-of-endpoint-two"
	if _, err := s.UpdateWebhookEndpoint(ctx, Sandbox, other.ID, WebhookInput{Secret: &updated}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateSigningKey(ctx, Sandbox); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, Sandbox, nil, "test"); err != nil {
		t.Fatal(err)
	}
	secrets := secretsOf(t, s, "first-secret-of-endpoint-one", "second-secret-of-endpoint-one",
		"secret-of-endpoint-two", "replaced-secret-of-endpoint-two")

	t.Run("every generation of every secret reads back", func(t *testing.T) {
		got, err := s.GetWebhookEndpoint(ctx, Sandbox, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Secret != rotated.Secret || got.PreviousSecret != "first-secret-of-endpoint-one" {
			t.Fatalf("got %q and %q", got.Secret, got.PreviousSecret)
		}
		if got, _ := s.GetWebhookEndpoint(ctx, Sandbox, other.ID); got.Secret != updated || got.PreviousSecret != "" {
			t.Fatalf("updated endpoint: got %q and %q", got.Secret, got.PreviousSecret)
		}
	})
	t.Run("no secret is in the database, the WAL or the shm file", func(t *testing.T) {
		scanFiles(t, path, secrets)
	})
	t.Run("a restart reads the sealed keys", func(t *testing.T) {
		s.Close()
		s = openSealTest(top, path, "")
		if s.SecretKeyCreated {
			t.Error("a second key file was created")
		}
		if got, err := s.GetWebhookEndpoint(ctx, Sandbox, ep.ID); err != nil || got.Secret != "second-secret-of-endpoint-one" {
			t.Fatalf("after restart: %v %v", got, err)
		}
		scanFiles(t, path, secrets)
	})
	t.Run("a wrong key is refused with a clear message", func(t *testing.T) {
		wrong := filepath.Join(dir, "wrong.key")
		if _, err := writeKeyFile(wrong, false); err != nil {
			t.Fatal(err)
		}
		_, err := Open(Options{Path: path, TenantID: "acme", SecretKeyFile: wrong})
		if err == nil || !strings.Contains(err.Error(), "does not open the secrets") || !strings.Contains(err.Error(), "--secret-key-file") {
			t.Fatalf("got %v, want a refusal naming the key and the flag", err)
		}
	})
	t.Run("a missing key file is refused, not replaced", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.key")
		_, err := Open(Options{Path: path, TenantID: "acme", SecretKeyFile: missing})
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("got %v, want a refusal", err)
		}
		if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("a key file was created for a database sealed with another key")
		}
	})
	t.Run("rotating the master key reseals everything; a running store follows", func(t *testing.T) {
		running := s
		cli := openSealTest(top, path, "")
		oldKey, _ := os.ReadFile(path + ".key")
		oldKid, newKid, err := cli.RotateSecretKey(ctx)
		if err != nil || oldKid == newKid {
			t.Fatalf("rotate: %v (%s -> %s)", err, oldKid, newKid)
		}
		newKey, _ := os.ReadFile(path + ".key")
		if bytes.Equal(oldKey, newKey) {
			t.Fatal("the key file did not change")
		}
		if got, err := running.GetWebhookEndpoint(ctx, Sandbox, ep.ID); err != nil || got.Secret != "second-secret-of-endpoint-one" {
			t.Fatalf("the running store after rotation: %v %v", got, err)
		}
		old := filepath.Join(dir, "old.key")
		os.WriteFile(old, oldKey, 0o600)
		if _, err := Open(Options{Path: path, TenantID: "acme", SecretKeyFile: old}); err == nil {
			t.Fatal("the old key still opens the database")
		}
		scanFiles(t, path, secrets)
	})
}

func TestSecretsInClearAreSealedAtStart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "td.db")
	s := openSealTest(t, path, "")
	ep := makeEndpoint(t, s, "an-old-clear-secret")
	secrets := secretsOf(t, s, "an-old-clear-secret")
	// What a release before sealing left: secrets in clear, no key check.
	db, _ := s.W.DB()
	for _, q := range []string{
		"UPDATE webhook_endpoints SET secret = 'an-old-clear-secret'",
		"DELETE FROM settings WHERE key = 'secret_key_check'",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s.keys.mu.RLock()
	for kid, k := range s.keys.byKid {
		if _, err := db.Exec("UPDATE signing_keys SET private_key = ? WHERE kid = ?", []byte(k.PrivateKey), kid); err != nil {
			t.Fatal(err)
		}
	}
	s.keys.mu.RUnlock()
	s.Close()
	os.Remove(path + ".key")

	s = openSealTest(t, path, "")
	if got, err := s.GetWebhookEndpoint(ctx, Sandbox, ep.ID); err != nil || got.Secret != "an-old-clear-secret" {
		t.Fatalf("after sealing: %v %v", got, err)
	}
	if !strings.Contains(strings.Join(s.Warnings, "\n"), "sealed 3 secrets") {
		t.Errorf("warnings: %q, want one saying 3 secrets were sealed", s.Warnings)
	}
	if _, err := s.CreateUser(ctx, Sandbox, nil, "test"); err != nil {
		t.Fatalf("sign with a resealed key: %v", err)
	}
	scanFiles(t, path, secrets)
}

func TestWideFileModesAreReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "td.db")
	s := openSealTest(t, path, "")
	s.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s = openSealTest(t, path, "")
	if w := strings.Join(s.Warnings, "\n"); !strings.Contains(w, path+" is readable or writable by others (mode 0644)") {
		t.Fatalf("warnings: %q", s.Warnings)
	}
}
