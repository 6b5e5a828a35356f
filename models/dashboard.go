package models

import (
	"context"
	"fmt"
	"time"
)

// Dashboard is the mode's state at a glance. Every number is read from an
// index range or a maintained counter, never by counting a whole table.
// Deliveries are counted by the hour they were created in, over the 24
// hourly buckets of the chart.
type Dashboard struct {
	Users        int64
	ActiveTokens int64
	// ActiveTokensCapped says the count stopped at activeTokensCap: there
	// are at least that many.
	ActiveTokensCapped bool
	Deliveries24h      map[string]int64 // by status, over the chart's 24 buckets
	// Retrying24h is how many of the pending deliveries of those buckets are
	// retrying after a failed attempt: failing, though not given up.
	Retrying24h      int64
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

// activeTokensCap bounds the dashboard's count of active tokens. Uncapped,
// one lifetime of tokens is a lot to count on every view: in the 10-minute
// soak (BenchmarkSoak) a million were active by the end, and the dashboard
// went from 9 ms to 46 ms a view within four minutes. A variable so a test
// can lower it.
var activeTokensCap int64 = 100_000

// LoadDashboard reads the dashboard of mode.
func (s *Store) LoadDashboard(ctx context.Context, mode Mode) (*Dashboard, error) {
	db := s.read(ctx)
	now := s.Now()
	d := &Dashboard{Deliveries24h: map[string]int64{}}
	if err := db.Raw("SELECT COALESCE(MAX(value), 0) FROM counters WHERE name = 'users' AND mode = ?", mode).Scan(&d.Users).Error; err != nil {
		return nil, fmt.Errorf("count users: %w", err)
	}
	// Unexpired tokens only: the (mode, expires_at) index bounds the scan to
	// tokens issued within one lifetime, and the cap bounds it further.
	if err := db.Raw(`SELECT COUNT(*) FROM (SELECT 1 FROM link_tokens WHERE mode = ? AND expires_at > ?
		AND consumed_at IS NULL AND revoked_at IS NULL LIMIT ?) AS capped`, mode, ms(now), activeTokensCap).Scan(&d.ActiveTokens).Error; err != nil {
		return nil, fmt.Errorf("count active tokens: %w", err)
	}
	d.ActiveTokensCapped = d.ActiveTokens >= activeTokensCap
	d.HourStart = now.Truncate(time.Hour).Add(-23 * time.Hour)
	d.Hourly = make([]HourBucket, 24)
	for i := range d.Hourly {
		d.Hourly[i].Start = d.HourStart.Add(time.Duration(i) * time.Hour)
	}
	// 24 rows of the hourly counts the deliveries' triggers keep, whatever
	// the volume. The totals are the chart's sum: the current hour so far
	// and the 23 before it.
	var rows []struct {
		Hour      int64
		Succeeded int64
		Failed    int64
		Pending   int64
	}
	err := db.Raw(`SELECT hour, succeeded, failed, pending FROM delivery_hourly
		WHERE mode = ? AND hour >= ? AND hour <= ?`, mode, ms(d.HourStart), ms(d.Hourly[23].Start)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	for _, r := range rows {
		b := &d.Hourly[(r.Hour-ms(d.HourStart))/int64(time.Hour/time.Millisecond)]
		b.Succeeded, b.Failed, b.Pending = r.Succeeded, r.Failed, r.Pending
		d.Deliveries24h[DeliverySucceeded] += r.Succeeded
		d.Deliveries24h[DeliveryFailed] += r.Failed
		d.Deliveries24h[DeliveryPending] += r.Pending
	}
	// An index range as long as the day's retrying deliveries (the partial
	// index deliveries_mode_retrying holds nothing else).
	if err := db.Raw(`SELECT COUNT(*) FROM deliveries WHERE mode = ? AND `+retryingCond+` AND created_at >= ?`,
		mode, ms(d.HourStart)).Scan(&d.Retrying24h).Error; err != nil {
		return nil, fmt.Errorf("count retrying deliveries: %w", err)
	}
	err = scanRow(db.Raw(`SELECT COUNT(*) AS endpoints,
		COALESCE(SUM(CASE WHEN failing_since IS NOT NULL OR disabled_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS failing
		FROM webhook_endpoints WHERE mode = ? AND deleted_at IS NULL`, mode), &d.Endpoints, &d.FailingEndpoints)
	if err != nil {
		return nil, fmt.Errorf("count endpoints: %w", err)
	}
	return d, nil
}
