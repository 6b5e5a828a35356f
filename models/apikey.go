package models

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// APIKey is one key pair for the JSON API. The secret is shown once at
// creation; only its SHA-256 is stored. The key's mode is the mode of every
// request made with it.
type APIKey struct {
	ID         string `gorm:"primaryKey"`
	Mode       Mode
	Name       string
	Key        string
	SecretHash string
	CreatedBy  string
	CreatedAt  time.Time  `gorm:"serializer:ms"`
	LastUsedAt *time.Time `gorm:"serializer:ms"`
	RevokedAt  *time.Time `gorm:"serializer:ms"`
}

// NewAPIKey is a key just created, with the one copy of its secret.
type NewAPIKey struct {
	APIKey
	Secret string
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// lastUsedGranularity keeps "last used" useful without a write per request.
const lastUsedGranularity = time.Minute

// CreateAPIKey makes a key pair for mode.
func (s *Store) CreateAPIKey(ctx context.Context, mode Mode, name, createdBy string) (*NewAPIKey, error) {
	name = strings.TrimSpace(name)
	if !mode.Valid() {
		return nil, FieldError("mode", "mode must be SANDBOX or PRODUCTION")
	}
	if name == "" {
		return nil, FieldError("name", "name is required: say what the key is for")
	}
	if len(name) > 100 {
		return nil, FieldError("name", "name is %d characters; at most 100 are allowed", len(name))
	}
	prefix := "sk_test_"
	if mode == Production {
		prefix = "sk_live_"
	}
	k := &NewAPIKey{Secret: randomHex(s.Rand, 24)}
	k.APIKey = APIKey{
		ID: randomHex(s.Rand, 16), Mode: mode, Name: name, Key: prefix + randomHex(s.Rand, 12),
		SecretHash: hashSecret(k.Secret), CreatedBy: createdBy, CreatedAt: s.Now(),
	}
	if err := s.write(ctx, func(tx *gorm.DB) error { return tx.Create(&k.APIKey).Error }); err != nil {
		return nil, fmt.Errorf("create api key: %w", err)
	}
	return k, nil
}

// ListAPIKeys lists keys, newest first; an empty mode lists both modes (for the CLI).
func (s *Store) ListAPIKeys(ctx context.Context, mode Mode) ([]APIKey, error) {
	q := s.read(ctx)
	if mode != "" {
		q = q.Scopes(ScopeMode(mode))
	}
	var keys []APIKey
	if err := q.Order("created_at DESC, id DESC").Find(&keys).Error; err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey revokes a key by its id or its public key string. An empty
// mode matches either mode (for the CLI).
func (s *Store) RevokeAPIKey(ctx context.Context, mode Mode, idOrKey string) (*APIKey, error) {
	var k APIKey
	err := s.write(ctx, func(tx *gorm.DB) error {
		q := tx.Where("id = ? OR key = ?", idOrKey, idOrKey)
		if mode != "" {
			q = q.Scopes(ScopeMode(mode))
		}
		if err := q.Take(&k).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return NotFound("API key", idOrKey)
		} else if err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return nil
		}
		now := s.Now()
		k.RevokedAt = &now
		return tx.Model(&APIKey{}).Where("id = ?", k.ID).Update("revoked_at", ms(now)).Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("revoke api key %s: %w", idOrKey, err)
	}
	return &k, nil
}

// Authenticate checks a key and secret from HTTP Basic auth against the
// key as the database holds it now. Every failure reads the same to the
// caller, so a wrong key and a wrong secret cannot be told apart. A key it
// accepts is remembered for AuthenticateCached; one it refuses is
// forgotten.
func (s *Store) Authenticate(ctx context.Context, key, secret string) (*APIKey, error) {
	refused := credentialsRefused()
	if key == "" || secret == "" || len(key) > 100 || len(secret) > 200 {
		return nil, refused
	}
	var k APIKey
	err := s.read(ctx).Where("key = ?", key).Take(&k).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		s.verified.drop(key)
		return nil, refused
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(k.SecretHash)) != 1 || k.RevokedAt != nil {
		if k.RevokedAt != nil {
			s.verified.drop(key)
		}
		return nil, refused
	}
	now := s.Now()
	var lastUsed time.Time
	if k.LastUsedAt != nil {
		lastUsed = *k.LastUsedAt
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= lastUsedGranularity {
		s.touchAPIKey(ctx, k.ID, now)
		k.LastUsedAt, lastUsed = &now, now
	}
	s.verified.put(k, lastUsed)
	return &k, nil
}
