package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// retryingCond is the RETRYING state in SQL, written exactly as the partial
// indices of schemaRetrying are, which SQLite needs to use them.
const retryingCond = "status = 'PENDING' AND attempt_count > 0 AND return_status <> 'SUCCEEDED'"

// RecoverScope says which deliveries of an endpoint a recovery sends again:
// the failed ones created at or after Since, and with Retrying also those
// still being retried (which then go at once instead of at their next
// scheduled try).
type RecoverScope struct {
	Since    time.Time
	Retrying bool
}

// CountRecoverable tells how many failed deliveries of an endpoint created
// at or after since RecoverFailed would send, so a person can confirm first.
func (s *Store) CountRecoverable(ctx context.Context, mode Mode, endpointID string, since time.Time) (int, error) {
	n, err := s.CountRecoverableIn(ctx, mode, endpointID, RecoverScope{Since: since})
	return n.Failed, err
}

// Recoverable is how many deliveries a recovery would send, by state.
type Recoverable struct{ Failed, Retrying int }

// Total is every delivery the recovery would send.
func (r Recoverable) Total() int { return r.Failed + r.Retrying }

// CountRecoverableIn counts what RecoverIn would send in scope.
func (s *Store) CountRecoverableIn(ctx context.Context, mode Mode, endpointID string, scope RecoverScope) (Recoverable, error) {
	var out Recoverable
	db := s.read(ctx)
	if _, err := getEndpoint(db, mode, endpointID); err != nil {
		return out, err
	}
	err := scanRow(db.Raw(`SELECT COUNT(*) FROM deliveries WHERE endpoint_id = ? AND status = 'FAILED' AND created_at >= ?`,
		endpointID, ms(scope.Since)), &out.Failed)
	if err == nil && scope.Retrying {
		err = scanRow(db.Raw(`SELECT COUNT(*) FROM deliveries WHERE endpoint_id = ? AND `+retryingCond+` AND created_at >= ?
			AND manual_pending = FALSE`, endpointID, ms(scope.Since)), &out.Retrying)
	}
	if err != nil {
		return out, fmt.Errorf("count recoverable deliveries of %s: %w", endpointID, err)
	}
	return out, nil
}

// RecoverFailed re-queues every failed delivery of an endpoint created at or
// after since, and returns how many; see RecoverIn.
func (s *Store) RecoverFailed(ctx context.Context, mode Mode, endpointID string, since time.Time, by string) (int, error) {
	n, err := s.RecoverIn(ctx, mode, endpointID, RecoverScope{Since: since}, by)
	return n.Total(), err
}

// RecoverIn re-queues the deliveries of an endpoint in scope, and returns how
// many. Each failed one starts with a MANUAL attempt and, if that fails, a
// fresh retry schedule: the endpoint is presumably fixed. Retrying ones (with
// scope.Retrying) get a MANUAL attempt now and a fresh schedule too; one in
// flight right now is left to the attempt under way. The endpoint's last
// failure stays what it was (see schemaRetrying). The endpoint must be
// deliverable (RecoverEndpoint re-enables it first).
func (s *Store) RecoverIn(ctx context.Context, mode Mode, endpointID string, scope RecoverScope, by string) (Recoverable, error) {
	var out Recoverable
	err := s.write(ctx, func(tx *gorm.DB) error {
		ep, err := getEndpoint(tx, mode, endpointID)
		if err != nil {
			return err
		}
		if !ep.Deliverable() {
			return Errorf(CodeConflict, "failed deliveries of webhook %s cannot be recovered: %s", endpointID, ep.undeliverableReason())
		}
		now, since := ms(s.nowMS()), ms(scope.Since)
		res := tx.Exec(`UPDATE deliveries SET status = 'PENDING', next_attempt_at = ?, auto_attempts = 0,
			manual_pending = TRUE, manual_by = ?, return_status = '', completed_at = NULL, updated_at = ?
			WHERE endpoint_id = ? AND mode = ? AND status = 'FAILED' AND created_at >= ?`,
			now, by, now, endpointID, mode, since)
		if res.Error != nil {
			return res.Error
		}
		out.Failed = int(res.RowsAffected)
		if !scope.Retrying {
			return nil
		}
		res = tx.Exec(`UPDATE deliveries SET next_attempt_at = ?, auto_attempts = 0, manual_pending = TRUE, manual_by = ?, updated_at = ?
			WHERE endpoint_id = ? AND `+retryingCond+` AND created_at >= ? AND manual_pending = FALSE
			AND NOT (lease_owner <> '' AND lease_expires_at > ?)`,
			now, by, now, endpointID, since, now)
		out.Retrying = int(res.RowsAffected)
		return res.Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return Recoverable{}, e
		}
		return Recoverable{}, fmt.Errorf("recover deliveries of %s: %w", endpointID, err)
	}
	s.deliveriesQueued(out.Total())
	return out, nil
}

// lastFailure is when an attempt to the endpoint last failed, at any time,
// as the endpoint_last_failure trigger keeps it.
func lastFailure(db *gorm.DB, endpointID string) (*time.Time, error) {
	var at sql.NullInt64
	if err := scanRow(db.Raw(`SELECT last_failure_at FROM webhook_endpoints WHERE id = ?`, endpointID), &at); err != nil {
		return nil, err
	}
	return msTime(at), nil
}
