package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// SetOperatorRole changes an operator's role. The last enabled admin keeps
// the role, so the console always has someone who can manage the team. The
// operator's sessions stay: every request reads the role afresh.
func (s *Store) SetOperatorRole(ctx context.Context, id string, role Role) (*Operator, error) {
	if !role.Valid() {
		return nil, FieldError("role", "role must be admin, developer or support, got %q", truncate(string(role), 30))
	}
	var op Operator
	err := s.write(ctx, func(tx *gorm.DB) error {
		err := tx.Where("id = ?", id).Take(&op).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return NotFound("operator", id)
		}
		if err != nil {
			return err
		}
		if op.Role == role {
			return nil
		}
		if err := refuseLastAdmin(tx, &op, "demote"); err != nil {
			return err
		}
		op.Role = role
		return tx.Model(&Operator{}).Where("id = ?", id).Update("role", string(role)).Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("set role of operator %s: %w", id, err)
	}
	return &op, nil
}

// RevokeOperatorSessions ends every live session of an operator and says
// how many there were. The operator can sign in again.
func (s *Store) RevokeOperatorSessions(ctx context.Context, id string) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Session{}).Where("operator_id = ? AND revoked_at IS NULL AND expires_at > ?", id, ms(s.Now())).
			Update("revoked_at", ms(s.Now()))
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of operator %s: %w", id, err)
	}
	return int(n), nil
}

// refuseLastAdmin stops an action that would leave no enabled admin: the
// console must always have someone who can manage the team. The enabled
// admins' rows are read locked in the action's own write transaction (FOR
// UPDATE on PostgreSQL, in id order so two actions never wait on each
// other's second row; SQLite's one writer serialises anyway), so two admins
// disabling each other at once cannot both succeed: the second waits, then
// reads the first's change. op may have been read before the lock; whether
// it is still an enabled admin is taken from the locked rows.
func refuseLastAdmin(tx *gorm.DB, op *Operator, action string) error {
	if op.Role != RoleAdmin || op.DisabledAt != nil {
		return nil
	}
	var admins []string
	if err := tx.Model(&Operator{}).Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("role = ? AND disabled_at IS NULL", RoleAdmin).Order("id").Pluck("id", &admins).Error; err != nil {
		return err
	}
	if len(admins) > 1 || !slices.Contains(admins, op.ID) {
		return nil
	}
	field := "operator"
	if action == "demote" {
		field = "role"
	}
	e := FieldError(field, "%s is the last enabled admin and cannot be %s; make someone else admin first", op.Email, map[string]string{"disable": "disabled", "demote": "demoted", "delete": "deleted"}[action])
	e.Code = CodeConflict
	return e
}

// EnableOperator lets a disabled operator sign in again, by id or email.
// Their old sessions stay ended; they sign in afresh.
func (s *Store) EnableOperator(ctx context.Context, idOrEmail string) (*Operator, error) {
	var op Operator
	err := s.write(ctx, func(tx *gorm.DB) error {
		err := tx.Where("id = ? OR email = ?", idOrEmail, strings.TrimSpace(idOrEmail)).Take(&op).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return NotFound("operator", idOrEmail)
		}
		if err != nil {
			return err
		}
		op.DisabledAt = nil
		return tx.Model(&Operator{}).Where("id = ?", op.ID).Update("disabled_at", nil).Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("enable operator %s: %w", idOrEmail, err)
	}
	return &op, nil
}
