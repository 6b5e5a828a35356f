package models

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// verifiedKeys remembers API keys whose secret this process has checked
// against the database, so that POST /v1/tokens, the API's hot path, can
// check a secret without reading the key (a whole round trip on
// PostgreSQL). It never decides on its own that a key is still live: a
// request it lets through only gets a token from an insert that checks,
// in the same statement, that the key is unrevoked and its secret and mode
// unchanged (see RefreshTokenWithKey). Every other route reads the key.
type verifiedKeys struct {
	mu   sync.Mutex
	keys map[string]*verifiedKey // by the public key string
}

type verifiedKey struct {
	key APIKey // as read when the secret was verified
	// lastUsed is when this process last wrote last_used_at, so a busy key
	// costs one write a minute and not one a request.
	lastUsed time.Time
}

// maxVerifiedKeys bounds the memory a flood of distinct valid keys could
// take; past it the cache starts again empty (deployments have a handful).
const maxVerifiedKeys = 10_000

func (v *verifiedKeys) get(key string) (APIKey, time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.keys[key]
	if !ok {
		return APIKey{}, time.Time{}, false
	}
	return e.key, e.lastUsed, true
}

func (v *verifiedKeys) put(k APIKey, lastUsed time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys == nil || len(v.keys) >= maxVerifiedKeys {
		v.keys = map[string]*verifiedKey{}
	}
	v.keys[k.Key] = &verifiedKey{key: k, lastUsed: lastUsed}
}

// used records that last_used_at was written at now, and reports whether
// this caller should write it (the entry's last write is a minute old).
func (v *verifiedKeys) claimLastUsed(key string, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.keys[key]
	if !ok || now.Sub(e.lastUsed) < lastUsedGranularity {
		return false
	}
	e.lastUsed = now
	return true
}

func (v *verifiedKeys) drop(key string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.keys, key)
}

// credentialsRefused is Authenticate's one answer to every failure.
func credentialsRefused() *Error {
	return &Error{Code: CodeInvalidCredentials, Message: "the API key and secret are not valid: check both, and that the key was not revoked"}
}

// AuthenticateCached checks a key and secret like Authenticate, from the
// keys this process verified before when it can. It says nothing about
// whether the key is still live: only a write that checks the key itself
// (RefreshTokenWithKey) may act on what it returns. A secret that does not
// match the remembered one is checked against the database, so a key
// whose secret changed is read again, never refused from memory.
func (s *Store) AuthenticateCached(ctx context.Context, key, secret string) (*APIKey, error) {
	if key == "" || secret == "" || len(key) > 100 || len(secret) > 200 {
		return nil, credentialsRefused()
	}
	if k, _, ok := s.verified.get(key); ok && subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(k.SecretHash)) == 1 {
		now := s.Now()
		if s.verified.claimLastUsed(key, now) {
			s.touchAPIKey(ctx, k.ID, now)
			k.LastUsedAt = &now
		}
		return &k, nil
	}
	return s.Authenticate(ctx, key, secret)
}

// touchAPIKey writes last_used_at, best effort: a missed "last used" must
// never fail a request.
func (s *Store) touchAPIKey(ctx context.Context, id string, now time.Time) {
	_ = s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&APIKey{}).Where("id = ?", id).Update("last_used_at", ms(now)).Error
	})
}

// whyKeyRefused is the slow path after a write that checks its key wrote
// nothing: it reads the key, and returns the credentials error (and
// forgets the key) when the key is revoked, gone, or no longer has the
// secret or mode it was verified with; nil when the key is as live as it
// was, so the write failed for another reason.
func (s *Store) whyKeyRefused(ctx context.Context, k *APIKey) error {
	var now APIKey
	err := s.read(ctx).Where("id = ?", k.ID).Take(&now).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || err == nil && !keyStillLive(k, &now) {
		s.verified.drop(k.Key)
		return credentialsRefused()
	}
	if err != nil {
		return fmt.Errorf("read api key %s: %w", k.ID, err)
	}
	return nil
}

// keyStillLive is the condition sqlKeyLive checks in SQL, in Go.
func keyStillLive(verified, now *APIKey) bool {
	return now.RevokedAt == nil && now.SecretHash == verified.SecretHash && now.Mode == verified.Mode && now.Key == verified.Key
}
