package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// OnceEntry is what a console POST leaves for the page its redirect lands
// on: an outcome line and, for some actions, a secret (a new link token, an
// API key's secret) to show one time. It is kept in the database so the
// page may be served by another instance; the secret is sealed at rest. An
// entry belongs to the session that made it, is taken at most once and
// lasts until ExpiresAt.
type OnceEntry struct {
	ID        string `gorm:"primaryKey"`
	SessionID string
	FlashKind string
	FlashText string
	// SecretType names the Go type Secret holds (the console's encoding of
	// it); Secret is sealed at rest.
	SecretType string
	Secret     []byte    `gorm:"column:once_secret;serializer:sealed"`
	ExpiresAt  time.Time `gorm:"serializer:ms"`
}

func (OnceEntry) TableName() string { return "console_once" }

// PutOnce stores e under a new random id and returns the id. Expired
// entries are deleted in the same transaction: few live at once.
func (s *Store) PutOnce(ctx context.Context, e OnceEntry) (string, error) {
	e.ID = randomHex(s.Rand, 16)
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("expires_at <= ?", ms(s.Now())).Delete(&OnceEntry{}).Error; err != nil {
			return err
		}
		return tx.Create(&e).Error
	})
	if err != nil {
		return "", fmt.Errorf("keep what the next page shows: %w", err)
	}
	return e.ID, nil
}

// TakeOnce returns and deletes the entry id of the session, if it is still
// there and has not expired. One statement deletes and returns the row, so
// of two requests taking it at once (on any instances) only one gets it.
func (s *Store) TakeOnce(ctx context.Context, id, sessionID string) (*OnceEntry, bool, error) {
	var taken []OnceEntry
	err := s.write(ctx, func(tx *gorm.DB) error {
		return tx.Clauses(clause.Returning{}).
			Where("id = ? AND session_id = ? AND expires_at > ?", id, sessionID, ms(s.Now())).
			Delete(&taken).Error
	})
	if err != nil {
		return nil, false, fmt.Errorf("take what the page shows once: %w", err)
	}
	if len(taken) == 0 {
		return nil, false, nil
	}
	return &taken[0], true, nil
}
