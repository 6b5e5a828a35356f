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
	Pending   int // ... not yet tried, or waiting for a resend
	Retrying  int // ... still being tried after a failed attempt
	Capped    bool
	// LastSuccessAt is when an attempt to the endpoint last succeeded, and
	// LastFailureAt when an attempt to it last failed, at any time, even if
	// the delivery succeeded since or was recovered.
	LastSuccessAt *time.Time
	LastFailureAt *time.Time
}

// Failing is the window's deliveries that failed for good or are retrying
// after a failure: what the endpoint list and dashboard count as failing.
func (h EndpointHealth) Failing() int { return h.Failed + h.Retrying }

// SuccessRate is the share of tried deliveries that succeeded, in percent,
// with those still retrying after a failure counted as failures so far; ok
// is false when nothing was tried in the window.
func (h EndpointHealth) SuccessRate() (rate float64, ok bool) {
	done := h.Succeeded + h.Failing()
	if done == 0 {
		return 0, false
	}
	return 100 * float64(h.Succeeded) / float64(done), true
}

// WebhookHealth returns the health of one endpoint of mode. Each count is
// a bounded range of an index: all the window's deliveries from
// deliveries_endpoint_created, the failed and the pending ones from
// deliveries_endpoint_pending_failed; the succeeded are the rest. The last
// success is kept on the endpoint; the last failure is the newest entry of
// its failed range.
func (s *Store) WebhookHealth(ctx context.Context, mode Mode, endpointID string) (*EndpointHealth, error) {
	db := s.read(ctx)
	// The counts read indices alone, which have no mode column: the
	// endpoint is checked to be mode's once, and its deliveries are all of
	// its mode.
	var lastSuccess sql.NullInt64
	err := scanRow(db.Raw(`SELECT last_success_at FROM webhook_endpoints WHERE id = ? AND mode = ?`, endpointID, mode), &lastSuccess)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, NotFound("webhook", endpointID)
	}
	if err != nil {
		return nil, fmt.Errorf("read webhook endpoint %s: %w", endpointID, err)
	}
	since := ms(s.Now().Add(-HealthWindow))
	var h EndpointHealth
	h.LastSuccessAt = msTime(lastSuccess)
	var all int
	for _, c := range []struct {
		what, cond string
		into       *int
	}{
		{"all", "", &all},
		{DeliveryFailed, "AND " + statusIs(DeliveryFailed), &h.Failed},
		{DeliveryPending, "AND " + statusIs(DeliveryPending), &h.Pending},
		{DeliveryRetrying, "AND " + retryingCond, &h.Retrying},
	} {
		err := scanRow(db.Raw(`SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE endpoint_id = ? `+c.cond+` AND created_at >= ? LIMIT ?) AS capped`,
			endpointID, since, healthCountCap), c.into)
		if err != nil {
			return nil, fmt.Errorf("count %s deliveries of %s: %w", c.what, endpointID, err)
		}
		if *c.into >= healthCountCap {
			h.Capped = true
		}
	}
	h.Succeeded = max(0, all-h.Failed-h.Pending)
	h.Pending = max(0, h.Pending-h.Retrying) // retrying ones are pending too

	if h.LastFailureAt, err = lastFailure(db, endpointID); err != nil {
		return nil, fmt.Errorf("read last failure of %s: %w", endpointID, err)
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
