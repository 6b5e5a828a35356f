package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// sqlLastSuccess runs once per round for each endpoint that had a success.
const sqlLastSuccess = `UPDATE webhook_endpoints SET last_success_at = ? WHERE id = ?`

// Endpoint health changes are rare; they are prepared with the rest all
// the same, so each database gets its own placeholders.
const (
	sqlClearFailing = `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?`
	sqlStartFailing = `UPDATE webhook_endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL`
	sqlDisable      = `UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = ?, updated_at = ?
		WHERE id = ? AND disabled_at IS NULL`
	sqlFailPendingOf = `UPDATE deliveries SET status = 'FAILED', last_error = ?, next_attempt_at = NULL,
		completed_at = ?, updated_at = ?, manual_pending = FALSE, manual_by = '', return_status = ''
		WHERE endpoint_id = ? AND status = 'PENDING'`
)

// endpointHealth is the part of an endpoint that attempts change.
type endpointHealth struct {
	id           string
	active       bool
	disabled     bool
	deleted      bool
	reason       string
	failingSince *time.Time
	succeeded    bool // an attempt of this round succeeded: the endpoint's last success moves
}

func (h *endpointHealth) deliverable() bool { return h.active && !h.disabled && !h.deleted }

func (h *endpointHealth) why() string {
	switch {
	case h.deleted:
		return "endpoint deleted"
	case h.disabled:
		return "endpoint disabled: " + h.reason
	}
	return "endpoint set inactive"
}

func readHealth(ctx context.Context, st *sql.Stmt, id string) (*endpointHealth, error) {
	h := &endpointHealth{id: id}
	var disabledAt, deletedAt, failing sql.NullInt64
	err := st.QueryRowContext(ctx, id).Scan(&h.active, &disabledAt, &h.reason, &deletedAt, &failing)
	if err != nil {
		return nil, fmt.Errorf("read endpoint %s: %w", id, err)
	}
	h.disabled, h.deleted, h.failingSince = disabledAt.Valid, deletedAt.Valid, msTime(failing)
	return h, nil
}

// updateHealth applies one attempt's outcome to its endpoint: the endpoint
// is judged on every attempt, whoever holds the delivery. Disabling it fails
// every delivery still pending there; beforeDisable runs first, so outcomes
// already decided (a success just before the 410) are written before that.
func updateHealth(ctx context.Context, st func(string) *sql.Stmt, h *endpointHealth, r *AttemptResult, now time.Time, beforeDisable func() error) error {
	if r.Succeeded {
		h.succeeded = true
		if h.failingSince == nil {
			return nil
		}
		h.failingSince = nil
		_, err := st(sqlClearFailing).ExecContext(ctx, h.id)
		return err
	}
	if h.disabled || h.deleted {
		return nil
	}
	limit := r.DisableAfter
	if limit <= 0 {
		limit = DefaultDisableAfter
	}
	var reason string
	switch {
	case r.Gone:
		reason = fmt.Sprintf("the receiver answered 410 Gone at %s", FormatTime(r.Attempt.StartedAt))
	case h.failingSince == nil:
		at := r.Attempt.StartedAt
		h.failingSince = &at
		_, err := st(sqlStartFailing).ExecContext(ctx, ms(at), h.id)
		return err
	case now.Sub(*h.failingSince) >= limit:
		reason = fmt.Sprintf("every attempt failed from %s to %s", FormatTime(*h.failingSince), FormatTime(now))
	default:
		return nil
	}
	if err := beforeDisable(); err != nil {
		return err
	}
	h.disabled, h.reason = true, reason
	if _, err := st(sqlDisable).ExecContext(ctx, ms(now), reason, ms(now), h.id); err != nil {
		return fmt.Errorf("disable webhook endpoint %s: %w", h.id, err)
	}
	if _, err := st(sqlFailPendingOf).ExecContext(ctx, "endpoint disabled: "+reason, ms(now), ms(now), h.id); err != nil {
		return fmt.Errorf("fail pending deliveries of %s: %w", h.id, err)
	}
	return nil
}
