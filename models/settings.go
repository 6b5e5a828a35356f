package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Setting is one stored key/value pair of instance-wide configuration.
type Setting struct {
	Key   string `gorm:"primaryKey"`
	Value string
}

// GetSetting returns the value stored under key and whether there was one.
func (s *Store) GetSetting(ctx context.Context, key string) (string, bool, error) {
	var st Setting
	err := s.W.WithContext(ctx).Where("key = ?", key).Take(&st).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read setting %s: %w", key, err)
	}
	return st.Value, true, nil
}

// initTenant keeps the tenant id stable across restarts: a given id must
// match the stored one, and a missing one is generated once.
func (s *Store) initTenant(given string) error {
	ctx := context.Background()
	return s.write(ctx, func(tx *gorm.DB) error {
		var st Setting
		err := tx.Where("key = ?", "tenant_id").Take(&st).Error
		switch {
		case err == nil:
			if given != "" && given != st.Value {
				return fmt.Errorf("tenant id %q given, but this database belongs to tenant %q (user ids depend on it)", given, st.Value)
			}
			s.TenantID = st.Value
			return nil
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("read tenant id: %w", err)
		}
		id := given
		if id == "" {
			id = "t" + randomHex(s.Rand, 4)
		}
		if !ValidTenantID(id) {
			return fmt.Errorf("tenant id %q: use 1 to 40 letters or digits", id)
		}
		s.TenantID = id
		return tx.Create(&Setting{Key: "tenant_id", Value: id}).Error
	})
}
