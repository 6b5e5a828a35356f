package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// AuditEntry records one operator action: who, when, in which mode, on what, from where.
type AuditEntry struct {
	ID            string `gorm:"primaryKey"`
	OperatorID    string
	OperatorEmail string
	Action        string
	Mode          Mode
	TargetType    string
	TargetID      string
	Detail        string
	IP            string    `gorm:"column:ip"`
	CreatedAt     time.Time `gorm:"serializer:ms"`
}

// Audit records e on its own; use auditTx inside a store method's transaction.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	return s.write(ctx, func(tx *gorm.DB) error { return s.auditTx(tx, e) })
}

func (s *Store) auditTx(tx *gorm.DB, e AuditEntry) error {
	e.ID = randomHex(s.Rand, 16)
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.Now()
	}
	if err := tx.Create(&e).Error; err != nil {
		return fmt.Errorf("record audit entry %s: %w", e.Action, err)
	}
	return nil
}
