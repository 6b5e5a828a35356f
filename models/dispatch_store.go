package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ClaimDue, RecordAttempt(s) and ReleaseLeases on the Store open a short-lived
// DispatchQueue per call, for tests and tools; the dispatcher keeps one open.

// ClaimDue leases due deliveries to owner; see DispatchQueue.ClaimDue.
func (s *Store) ClaimDue(ctx context.Context, owner string, limit int, lease time.Duration) ([]Claim, error) {
	var claims []Claim
	err := s.withQueue(ctx, func(q *DispatchQueue) (err error) {
		claims, err = q.ClaimDue(ctx, owner, limit, lease)
		return err
	})
	return claims, err
}

// RecordAttempt records one attempt; see DispatchQueue.RecordAttempts.
func (s *Store) RecordAttempt(ctx context.Context, owner string, r AttemptResult) error {
	return s.RecordAttempts(ctx, owner, []AttemptResult{r})
}

// RecordAttempts records attempts; see DispatchQueue.RecordAttempts.
func (s *Store) RecordAttempts(ctx context.Context, owner string, rs []AttemptResult) error {
	return s.withQueue(ctx, func(q *DispatchQueue) error { return q.RecordAttempts(ctx, owner, rs) })
}

// ReleaseLeases gives back owner's leases on ids; see DispatchQueue.ReleaseLeases.
func (s *Store) ReleaseLeases(ctx context.Context, owner string, ids []string) (int, error) {
	var n int
	err := s.withQueue(ctx, func(q *DispatchQueue) (err error) {
		n, err = q.ReleaseLeases(ctx, owner, ids)
		return err
	})
	return n, err
}

// pruneChunk bounds each delete so other writers wait milliseconds, not seconds.
const pruneChunk = 2000

// PruneAttempts deletes attempts started before olderThan and returns how
// many. Deliveries keep their status and counters.
func (s *Store) PruneAttempts(ctx context.Context, olderThan time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(tx *gorm.DB) error {
			res := tx.Exec(`DELETE FROM attempts WHERE id IN (
				SELECT id FROM attempts WHERE started_at < ? LIMIT ?)`, ms(olderThan), pruneChunk)
			n = res.RowsAffected
			return res.Error
		})
		if err != nil {
			return total, fmt.Errorf("prune attempts before %s: %w", FormatTime(olderThan), err)
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}

// NextDueAt returns when the earliest pending delivery nobody holds is due,
// nil when there is none. The dispatcher sleeps until then. Held rows are
// skipped (at most a few hundred per dispatcher, at the front of the index):
// when a lease runs out, the dispatcher's poll finds it.
func (s *Store) NextDueAt(ctx context.Context) (*time.Time, error) {
	return s.NextDueAtExcept(ctx, nil)
}

// sqlNextDueExcept leaves out the endpoints given as a JSON array.
const sqlNextDueExcept = `SELECT next_attempt_at FROM deliveries WHERE status = 'PENDING'
	AND (lease_expires_at IS NULL OR lease_expires_at < ?) AND endpoint_id NOT IN (SELECT value FROM json_each(?))
	ORDER BY next_attempt_at LIMIT 1`

// NextDueAtExcept is NextDueAt leaving out the deliveries of some endpoints:
// the dispatcher's, while those endpoints are at its per-endpoint cap, so
// that their due backlog does not wake it for nothing.
func (s *Store) NextDueAtExcept(ctx context.Context, endpointIDs []string) (*time.Time, error) {
	var next sql.NullInt64
	err := scanRow(s.read(ctx).Raw(s.d.gormSQL(sqlNextDueExcept), ms(s.Now()), jsonList(endpointIDs)), &next)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read next due delivery: %w", err)
	}
	if !next.Valid {
		return nil, nil
	}
	t := time.UnixMilli(next.Int64).UTC()
	return &t, nil
}

// DeliveryBacklog tells how many deliveries are pending, in both modes. It
// counts through the pending-only index, so it costs what is pending.
func (s *Store) DeliveryBacklog(ctx context.Context) (*Backlog, error) {
	var b Backlog
	var n int64
	err := scanRow(s.read(ctx).Raw(`SELECT COUNT(*) FROM deliveries WHERE status = 'PENDING' AND next_attempt_at IS NOT NULL`), &n)
	if err != nil {
		return nil, fmt.Errorf("count pending deliveries: %w", err)
	}
	b.Pending = int(n)
	next, err := s.NextDueAt(ctx)
	if err != nil {
		return nil, err
	}
	b.NextDueAt = next
	return &b, nil
}
