package models

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// PasswordMatches reports whether password is the operator's current one.
func (op *Operator) PasswordMatches(password string) bool {
	if len(password) > MaxPasswordLen {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(op.PasswordHash), []byte(password)) == nil
}

// SetOperatorPassword gives an operator a new password and, in the same
// transaction, ends every live session of theirs but exceptSessionID (the
// caller's own, when operators change their own password; "" ends them
// all). Whoever knew the old password is signed out with it.
func (s *Store) SetOperatorPassword(ctx context.Context, operatorID, newPassword, exceptSessionID string) error {
	if msg := PasswordProblem(newPassword); msg != "" {
		return FieldError("password", "%s", msg)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(newPassword), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Operator{}).Where("id = ?", operatorID).Update("password_hash", string(hash))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return NotFound("operator", operatorID)
		}
		now := ms(s.Now())
		return tx.Model(&Session{}).
			Where("operator_id = ? AND id <> ? AND revoked_at IS NULL AND expires_at > ?", operatorID, exceptSessionID, now).
			Update("revoked_at", now).Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return e
		}
		return fmt.Errorf("set password of operator %s: %w", operatorID, err)
	}
	return nil
}

// FindOperator returns the operator with this id or email (in any letter case).
func (s *Store) FindOperator(ctx context.Context, idOrEmail string) (*Operator, error) {
	var op Operator
	err := s.read(ctx).Where("id = ? OR email = ?", idOrEmail, strings.TrimSpace(idOrEmail)).Take(&op).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, NotFound("operator", idOrEmail)
	}
	if err != nil {
		return nil, fmt.Errorf("find operator %s: %w", idOrEmail, err)
	}
	return &op, nil
}
