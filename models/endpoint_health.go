package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// HealthWindow is the span the endpoint list's success rate covers.
const HealthWindow = 24 * time.Hour

// healthCountCap bounds each count of the health summary, so an endpoint
// receiving millions of deliveries a day still costs a bounded index range.
const healthCountCap = 100_000

// EndpointHealth summarises how an endpoint's recent deliveries went.
type EndpointHealth struct {
	Succeeded int // deliveries created in the window that succeeded
	Failed    int // ... that failed for good
	Pending   int // ... still being tried
	Capped    bool
	// LastSuccessAt and LastFailureAt are when the newest succeeded and the
	// newest failed delivery completed, at any time.
	LastSuccessAt *time.Time
	LastFailureAt *time.Time
}

// SuccessRate is the share of finished deliveries that succeeded, in
// percent; ok is false when nothing finished in the window.
func (h EndpointHealth) SuccessRate() (rate float64, ok bool) {
	done := h.Succeeded + h.Failed
	if done == 0 {
		return 0, false
	}
	return 100 * float64(h.Succeeded) / float64(done), true
}

// WebhookHealth returns the health of one endpoint of mode. Every query is
// a range of the deliveries_endpoint_status_created index: one bounded count
// per status over the window, and one row for each "last" time.
func (s *Store) WebhookHealth(ctx context.Context, mode Mode, endpointID string) (*EndpointHealth, error) {
	db := s.read(ctx)
	// The counts read the index alone, which has no mode column: the
	// endpoint is checked to be mode's once, and its deliveries are all of
	// its mode.
	var n int
	if err := db.Raw(`SELECT COUNT(*) FROM webhook_endpoints WHERE id = ? AND mode = ?`, endpointID, mode).Row().Scan(&n); err != nil {
		return nil, fmt.Errorf("read webhook endpoint %s: %w", endpointID, err)
	}
	if n == 0 {
		return nil, NotFound("webhook", endpointID)
	}
	since := ms(s.Now().Add(-HealthWindow))
	var h EndpointHealth
	for _, c := range []struct {
		status string
		into   *int
	}{{DeliverySucceeded, &h.Succeeded}, {DeliveryFailed, &h.Failed}, {DeliveryPending, &h.Pending}} {
		err := db.Raw(`SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE endpoint_id = ? AND status = ? AND created_at >= ? LIMIT ?)`,
			endpointID, c.status, since, healthCountCap).Row().Scan(c.into)
		if err != nil {
			return nil, fmt.Errorf("count %s deliveries of %s: %w", c.status, endpointID, err)
		}
		if *c.into >= healthCountCap {
			h.Capped = true
		}
	}
	for _, c := range []struct {
		status string
		into   **time.Time
	}{{DeliverySucceeded, &h.LastSuccessAt}, {DeliveryFailed, &h.LastFailureAt}} {
		var at sql.NullInt64
		err := db.Raw(`SELECT COALESCE(completed_at, updated_at) FROM deliveries WHERE endpoint_id = ? AND status = ?
			ORDER BY created_at DESC LIMIT 1`, endpointID, c.status).Row().Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read last %s delivery of %s: %w", c.status, endpointID, err)
		}
		if at.Valid {
			t := time.UnixMilli(at.Int64).UTC()
			*c.into = &t
		}
	}
	return &h, nil
}

// EndpointNames maps endpoint ids of mode to their names, deleted endpoints
// included, so lists of deliveries can name where each one went.
func (s *Store) EndpointNames(ctx context.Context, mode Mode, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct{ ID, Name string }
	if err := s.read(ctx).Model(&WebhookEndpoint{}).Scopes(ScopeMode(mode)).Select("id, name").
		Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read endpoint names: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}
