package models

import (
	"context"
	"fmt"
	"time"
)

// Dashboard is the mode's state at a glance. Every number is read from an
// index range or a maintained counter, never by counting a whole table.
type Dashboard struct {
	Users            int64
	ActiveTokens     int64
	Deliveries24h    map[string]int64 // by status
	FailingEndpoints int64
	Endpoints        int64
	// Hourly holds 24 buckets, oldest first, ending with the current hour.
	Hourly    []HourBucket
	HourStart time.Time // start of the first bucket
}

// HourBucket is the deliveries created in one hour, by outcome.
type HourBucket struct {
	Start     time.Time
	Succeeded int64
	Failed    int64
	Pending   int64
}

// Total is the bucket's deliveries of every outcome.
func (b HourBucket) Total() int64 { return b.Succeeded + b.Failed + b.Pending }

// LoadDashboard reads the dashboard of mode.
func (s *Store) LoadDashboard(ctx context.Context, mode Mode) (*Dashboard, error) {
	db := s.read(ctx)
	now := s.Now()
	d := &Dashboard{Deliveries24h: map[string]int64{}}
	if err := db.Raw("SELECT COALESCE(MAX(value), 0) FROM counters WHERE name = 'users' AND mode = ?", mode).Scan(&d.Users).Error; err != nil {
		return nil, fmt.Errorf("count users: %w", err)
	}
	// Unexpired tokens only: the (mode, expires_at) index bounds the scan to
	// tokens issued within one lifetime.
	if err := db.Raw(`SELECT COUNT(*) FROM link_tokens WHERE mode = ? AND expires_at > ?
		AND consumed_at IS NULL AND revoked_at IS NULL`, mode, ms(now)).Scan(&d.ActiveTokens).Error; err != nil {
		return nil, fmt.Errorf("count active tokens: %w", err)
	}
	d.HourStart = now.Truncate(time.Hour).Add(-23 * time.Hour)
	d.Hourly = make([]HourBucket, 24)
	for i := range d.Hourly {
		d.Hourly[i].Start = d.HourStart.Add(time.Duration(i) * time.Hour)
	}
	since := now.Add(-24 * time.Hour)
	type row struct {
		Status string
		Hour   int64
		N      int64
	}
	var rows []row
	// One pass over the (mode, status, created_at) index gives both the
	// 24-hour totals and the hourly buckets. Rows in the part of an hour
	// before the chart's first bucket count in the totals only. The shift by
	// an hour keeps the division's operand positive, so it rounds down.
	err := db.Raw(`SELECT status, (created_at - ? + 3600000) / 3600000 - 1 AS hour, COUNT(*) AS n FROM deliveries
		WHERE mode = ? AND status IN ('PENDING', 'SUCCEEDED', 'FAILED') AND created_at >= ?
		GROUP BY status, hour`, ms(d.HourStart), mode, ms(since)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	for _, r := range rows {
		d.Deliveries24h[r.Status] += r.N
		if r.Hour < 0 || r.Hour >= 24 {
			continue
		}
		b := &d.Hourly[r.Hour]
		switch r.Status {
		case DeliverySucceeded:
			b.Succeeded += r.N
		case DeliveryFailed:
			b.Failed += r.N
		case DeliveryPending:
			b.Pending += r.N
		}
	}
	err = db.Raw(`SELECT COUNT(*) AS endpoints,
		COALESCE(SUM(CASE WHEN failing_since IS NOT NULL OR disabled_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS failing
		FROM webhook_endpoints WHERE mode = ? AND deleted_at IS NULL`, mode).Row().Scan(&d.Endpoints, &d.FailingEndpoints)
	if err != nil {
		return nil, fmt.Errorf("count endpoints: %w", err)
	}
	return d, nil
}
