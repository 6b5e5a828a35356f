package models

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"sync/atomic"
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
// and every key by kid for verification. Another instance on the same
// database may rotate a key, so the copy is read again when a token names a
// kid it does not hold (at most once a second: unknown kids are also what a
// forger sends) and when it is older than refreshEvery, so a new current
// key made elsewhere is signed with here too.
type keyRing struct {
	mu      sync.RWMutex
	current map[Mode]*SigningKey
	byKid   map[string]*SigningKey

	reloading    sync.Mutex // one reload at a time, so an older read never replaces a newer
	loadedAt     atomic.Int64
	refreshEvery time.Duration
}

const (
	// keyRefreshEvery is how old the ring may grow before signing reads it again.
	keyRefreshEvery = 30 * time.Second
	// unknownKidReload is how often a token with an unknown kid may cause a reload.
	unknownKidReload = time.Second
)

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

func (k *keyRing) age() time.Duration { return time.Since(time.Unix(0, k.loadedAt.Load())) }

// signingKey is the mode's current key. When the ring is older than
// refreshEvery it is read again beside the caller, which signs with the
// copy it has (that still verifies everywhere): signing runs inside write
// transactions, and reading on another connection from inside one could
// wait for a pool that those very transactions hold (PostgreSQL's one pool;
// measured as a deadlock with 100 sign-ins at once).
func (s *Store) signingKey(m Mode) (*SigningKey, bool) {
	if s.keys.age() > s.keys.refreshEvery && s.keys.reloading.TryLock() {
		go func() {
			defer s.keys.reloading.Unlock()
			if s.keys.age() > s.keys.refreshEvery {
				_ = s.reloadKeysLocked(context.Background()) // on failure the old copy serves until the next try
			}
		}()
	}
	return s.keys.signer(m)
}

// verifyingKey is the key of kid, the ring read again first when kid is
// unknown and the last read is more than a second old.
func (s *Store) verifyingKey(kid string) (*SigningKey, bool) {
	if k, ok := s.keys.lookup(kid); ok {
		return k, true
	}
	s.keys.reloading.Lock()
	if s.keys.age() >= unknownKidReload {
		_ = s.reloadKeysLocked(context.Background())
	}
	s.keys.reloading.Unlock()
	return s.keys.lookup(kid)
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
	s.keys = &keyRing{refreshEvery: keyRefreshEvery}
	return s.reloadKeys(ctx)
}

func (s *Store) reloadKeys(ctx context.Context) error {
	s.keys.reloading.Lock()
	defer s.keys.reloading.Unlock()
	return s.reloadKeysLocked(ctx)
}

// reloadKeysLocked reads every key into the ring; the caller holds
// s.keys.reloading. It reads on a reader: signing may run inside a write
// transaction, which holds SQLite's one writer connection.
func (s *Store) reloadKeysLocked(ctx context.Context) error {
	s.keys.loadedAt.Store(time.Now().UnixNano())
	var keys []SigningKey
	if err := s.read(ctx).Order("created_at, kid").Find(&keys).Error; err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	current, byKid := map[Mode]*SigningKey{}, map[string]*SigningKey{}
	for i := range keys {
		k := &keys[i]
		byKid[k.Kid] = k
		if k.RetiredAt == nil {
			current[k.Mode] = k // ordered by creation: the newest wins
		}
	}
	s.keys.mu.Lock()
	s.keys.current, s.keys.byKid = current, byKid
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

// sqlLockRotation makes rotations of one mode's key wait for each other
// inside their transactions. SQLite's writes already take turns, so its
// text does nothing; PostgreSQL's takes a transaction-level advisory lock
// (postgres_statements.go). Without it, two rotations on two instances
// each retired what they saw and the later insert was refused by
// signing_keys_one_current: forty at once on a loaded server left some
// rotations refused five times over, past maxWriteTries.
const sqlLockRotation = `SELECT ?`

// RotateSigningKey retires the mode's current key (it keeps verifying the
// tokens it signed) and makes a new one current.
func (s *Store) RotateSigningKey(ctx context.Context, m Mode) (*SigningKey, error) {
	var k *SigningKey
	rotate := func(tx *gorm.DB) error {
		if err := tx.Exec(s.d.gormSQL(sqlLockRotation), string(m)).Error; err != nil {
			return err
		}
		now := s.Now()
		if err := tx.Model(&SigningKey{}).Where("mode = ? AND retired_at IS NULL", m).
			Update("retired_at", ms(now)).Error; err != nil {
			return err
		}
		var err error
		k, err = s.newSigningKey(tx, m)
		return err
	}
	err := s.write(ctx, rotate)
	// A rotation committed by another instance meanwhile made a current key
	// this one did not retire (signing_keys_one_current refused the second;
	// an instance of a version without sqlLockRotation does not wait for
	// the lock): run again, retiring that one too.
	for try := 1; try < maxWriteTries && isUniqueViolation(err) && ctx.Err() == nil; try++ {
		err = s.write(ctx, rotate)
	}
	if err != nil {
		return nil, fmt.Errorf("rotate %s signing key: %w", m, err)
	}
	s.d.keysRotated(s)
	return k, s.reloadKeys(ctx)
}
