package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// A round reads the health of its deliveries' endpoints, and notes the last
// success of those that had one, one statement each for all of them (the
// endpoints as a JSON array): on PostgreSQL each statement is a round trip.
const (
	sqlHealthOf = `SELECT id, active, disabled_at, disabled_reason, deleted_at, failing_since FROM webhook_endpoints
	WHERE id IN (SELECT value FROM json_each(?))`
	sqlLastSuccess = `UPDATE webhook_endpoints SET last_success_at = ? WHERE id IN (SELECT value FROM json_each(?))`
)

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
	if err := scanHealth(st.QueryRowContext(ctx, id), h); err != nil {
		return nil, fmt.Errorf("read endpoint %s: %w", id, err)
	}
	return h, nil
}

// readHealthOf reads the health of the endpoints ids (sorted, distinct)
// into into.
func readHealthOf(ctx context.Context, st *sql.Stmt, ids []string, into map[string]*endpointHealth) error {
	rows, err := st.QueryContext(ctx, jsonList(ids))
	if err != nil {
		return fmt.Errorf("read %d endpoints: %w", len(ids), err)
	}
	defer rows.Close()
	for rows.Next() {
		h := &endpointHealth{}
		if err := scanHealth(rows, h, &h.id); err != nil {
			return fmt.Errorf("read endpoints: %w", err)
		}
		into[h.id] = h
	}
	return rows.Err()
}

// scanHealth scans the columns of sqlHealth, after those of first.
func scanHealth(row interface{ Scan(...any) error }, h *endpointHealth, first ...any) error {
	var disabledAt, deletedAt, failing sql.NullInt64
	if err := row.Scan(append(first, &h.active, &disabledAt, &h.reason, &deletedAt, &failing)...); err != nil {
		return err
	}
	h.disabled, h.deleted, h.failingSince = disabledAt.Valid, deletedAt.Valid, msTime(failing)
	return nil
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
