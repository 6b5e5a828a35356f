package models

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"
)

// BulkResendLimit is the most deliveries one bulk resend takes; a larger
// selection is narrowed by its filters first.
const BulkResendLimit = 10_000

// bulkResendBatch is how many deliveries one transaction of a bulk resend
// changes. Each batch is its own short write, so the dispatcher's records
// (on the same single writer) go in between and deliveries keep flowing
// while thousands are requeued.
const bulkResendBatch = 200

// BulkResult says what a bulk resend did.
type BulkResult struct {
	Queued  int // made due for a MANUAL attempt (or asked for, when in flight)
	Skipped int // their endpoint cannot receive (deleted, disabled, inactive) or they are gone
}

// ResendDeliveries resends each delivery of ids as ResendDelivery does, in
// batches of their own transactions. A delivery whose endpoint cannot
// receive is skipped and counted, not an error for the rest.
func (s *Store) ResendDeliveries(ctx context.Context, mode Mode, ids []string, by string) (BulkResult, error) {
	var out BulkResult
	for lo := 0; lo < len(ids); lo += bulkResendBatch {
		// Locked in id order, the order every bulk resend takes them in,
		// so two bulk resends on one database never wait on each other's rows.
		batch := slices.Sorted(slices.Values(ids[lo:min(lo+bulkResendBatch, len(ids))]))
		queued, skipped := 0, 0
		err := s.write(ctx, func(tx *gorm.DB) error {
			queued, skipped = 0, 0 // a retried transaction counts afresh
			now := s.nowMS()
			for _, id := range batch {
				if _, err := resendTx(tx, mode, id, by, now); err != nil {
					if c := ErrorCode(err); c == CodeConflict || c == CodeMissingResource {
						skipped++
						continue
					}
					return err
				}
				queued++
			}
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("resend deliveries: %w", err)
		}
		out.Queued += queued
		out.Skipped += skipped
		s.deliveriesQueued(queued)
	}
	return out, nil
}

// MatchingDeliveryIDs lists the ids of mode's deliveries that f matches,
// newest first, up to limit, reading the list's own index page by page;
// more says there were more than limit.
func (s *Store) MatchingDeliveryIDs(ctx context.Context, mode Mode, f DeliveryFilter, limit int) (ids []string, more bool, err error) {
	f.Size, f.Cursor = MaxPageSize, nil
	for len(ids) <= limit {
		page, err := s.ListDeliveries(ctx, mode, f)
		if err != nil {
			return nil, false, err
		}
		for _, d := range page.Items {
			ids = append(ids, d.ID)
		}
		if page.NextCursor == "" {
			break
		}
		if f.Cursor, err = DecodeCursor(page.NextCursor); err != nil {
			return nil, false, err
		}
	}
	if len(ids) > limit {
		return ids[:limit], true, nil
	}
	return ids, false, nil
}
