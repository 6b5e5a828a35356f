package models

import (
	"context"
	"fmt"
)

// Without the hint SQLite walks the mode's whole (mode, created_at) index to
// avoid a sort; a user has few events, so sorting them is cheaper.
const sqlEventsOfUser = "events INDEXED BY events_user"

// ListUserEvents returns a user's most recent events, newest first.
func (s *Store) ListUserEvents(ctx context.Context, mode Mode, userID string, limit int) ([]Event, error) {
	var evs []Event
	err := s.read(ctx).Table(s.d.gormSQL(sqlEventsOfUser)).Scopes(ScopeMode(mode)).Where("user_id = ?", userID).
		Order("created_at DESC, id DESC").Limit(limit).Find(&evs).Error
	if err != nil {
		return nil, fmt.Errorf("list events of %s: %w", userID, err)
	}
	return evs, nil
}

// UserDelivery is a delivery with the name and URL of its endpoint.
type UserDelivery struct {
	Delivery
	EndpointName string
	EndpointURL  string
}

// ListUserDeliveries returns a user's most recent deliveries, newest first.
func (s *Store) ListUserDeliveries(ctx context.Context, mode Mode, userID string, limit int) ([]UserDelivery, error) {
	var ds []UserDelivery
	err := s.read(ctx).Table("deliveries AS d").
		Select("d.*, e.name AS endpoint_name, e.url AS endpoint_url").
		Joins("LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id").
		Where("d.mode = ? AND d.user_id = ?", mode, userID).
		Order("d.created_at DESC, d.id DESC").Limit(limit).Find(&ds).Error
	if err != nil {
		return nil, fmt.Errorf("list deliveries of %s: %w", userID, err)
	}
	return ds, nil
}

// SigningKeyInfo is what the token inspector says about a key.
type SigningKeyInfo struct {
	Kid     string
	Mode    Mode
	Retired bool
}

// GetSigningKeyInfo describes the signing key kid, without its secret half.
func (s *Store) GetSigningKeyInfo(ctx context.Context, kid string) (*SigningKeyInfo, error) {
	var k SigningKey
	err := s.read(ctx).Select("kid, mode, retired_at").Where("kid = ?", kid).Limit(1).Find(&k).Error
	if err != nil {
		return nil, fmt.Errorf("read signing key %s: %w", kid, err)
	}
	if k.Kid == "" {
		return nil, NotFound("signing key", kid)
	}
	return &SigningKeyInfo{Kid: k.Kid, Mode: k.Mode, Retired: k.RetiredAt != nil}, nil
}
