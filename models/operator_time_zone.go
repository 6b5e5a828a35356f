package models

import (
	"context"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zones work on machines without a zoneinfo database

	"gorm.io/gorm"
)

// Location is the operator's time zone, UTC when unset or unknown.
func (o *Operator) Location() *time.Location {
	if o.TimeZone == "" || o.TimeZone == "UTC" {
		return time.UTC
	}
	loc, err := time.LoadLocation(o.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// ParseTimeZone reads an IANA zone name ("Europe/Paris", "America/New_York", "UTC").
func ParseTimeZone(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "UTC", nil
	}
	if strings.EqualFold(name, "utc") {
		return "UTC", nil
	}
	if name == "Local" {
		return "", FieldError("time_zone", "give a zone by name, such as Europe/Paris or America/New_York")
	}
	loc, err := time.LoadLocation(name)
	if err != nil || len(name) > 64 {
		return "", FieldError("time_zone", "%q is not a time zone; use a name such as Europe/Paris, America/New_York or UTC", truncate(name, 64))
	}
	return loc.String(), nil
}

// SetOperatorTimeZone keeps the zone the operator reads times in.
func (s *Store) SetOperatorTimeZone(ctx context.Context, operatorID, name string) (string, error) {
	zone, err := ParseTimeZone(name)
	if err != nil {
		return "", err
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Operator{}).Where("id = ?", operatorID).Update("time_zone", zone)
		if res.Error == nil && res.RowsAffected == 0 {
			return NotFound("operator", operatorID)
		}
		return res.Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return "", e
		}
		return "", fmt.Errorf("set time zone of %s: %w", operatorID, err)
	}
	return zone, nil
}
