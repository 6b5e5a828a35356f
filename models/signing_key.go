package models

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// SigningKey signs link tokens of one mode. Keys carry a key id (kid) in the
// token header so they can be rotated: retired keys still verify.
type SigningKey struct {
	Kid        string `gorm:"primaryKey"`
	Mode       Mode
	Alg        string
	PrivateKey []byte `gorm:"serializer:sealed"`
	PublicKey  []byte
	CreatedAt  time.Time  `gorm:"serializer:ms"`
	RetiredAt  *time.Time `gorm:"serializer:ms"`
}

// keyRing is the in-memory copy of the signing keys: the current key per mode
// and every key by kid for verification.
type keyRing struct {
	mu      sync.RWMutex
	current map[Mode]*SigningKey
	byKid   map[string]*SigningKey
}

func (k *keyRing) signer(m Mode) (*SigningKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	sk, ok := k.current[m]
	return sk, ok
}

func (k *keyRing) lookup(kid string) (*SigningKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	sk, ok := k.byKid[kid]
	return sk, ok
}

// loadKeys makes sure each mode has a current key, then loads all keys.
func (s *Store) loadKeys(ctx context.Context) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		for _, m := range Modes {
			var n int64
			if err := tx.Model(&SigningKey{}).Where("mode = ? AND retired_at IS NULL", m).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			if _, err := s.newSigningKey(tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("prepare signing keys: %w", err)
	}
	return s.reloadKeys(ctx)
}

func (s *Store) reloadKeys(ctx context.Context) error {
	var keys []SigningKey
	if err := s.W.WithContext(withSealer(ctx, s.sealer)).Order("created_at").Find(&keys).Error; err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	ring := &keyRing{current: map[Mode]*SigningKey{}, byKid: map[string]*SigningKey{}}
	for i := range keys {
		k := &keys[i]
		ring.byKid[k.Kid] = k
		if k.RetiredAt == nil {
			ring.current[k.Mode] = k // ordered by creation: the newest wins
		}
	}
	if s.keys == nil {
		s.keys = ring
		return nil
	}
	s.keys.mu.Lock()
	s.keys.current, s.keys.byKid = ring.current, ring.byKid
	s.keys.mu.Unlock()
	return nil
}

func (s *Store) newSigningKey(tx *gorm.DB, m Mode) (*SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(s.Rand)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	k := &SigningKey{
		Kid: "k-" + randomHex(s.Rand, 8), Mode: m, Alg: "EdDSA",
		PrivateKey: priv, PublicKey: pub, CreatedAt: s.Now(),
	}
	return k, tx.Create(k).Error
}

// RotateSigningKey retires the mode's current key (it keeps verifying the
// tokens it signed) and makes a new one current.
func (s *Store) RotateSigningKey(ctx context.Context, m Mode) (*SigningKey, error) {
	var k *SigningKey
	err := s.write(ctx, func(tx *gorm.DB) error {
		now := s.Now()
		if err := tx.Model(&SigningKey{}).Where("mode = ? AND retired_at IS NULL", m).
			Update("retired_at", ms(now)).Error; err != nil {
			return err
		}
		var err error
		k, err = s.newSigningKey(tx, m)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("rotate %s signing key: %w", m, err)
	}
	return k, s.reloadKeys(ctx)
}
