package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ListDeliveries returns one page of mode's deliveries, newest first. Every
// filter combination is served by an index that also gives the order (see
// TestDeliveryListQueryPlans), so a page costs the same on a large table.
func (s *Store) ListDeliveries(ctx context.Context, mode Mode, f DeliveryFilter) (*DeliveryPage, error) {
	f.Size = pageSize(f.Size, DefaultPageSize)
	var ds []Delivery
	if err := deliveryListQuery(s.read(ctx), mode, f).Find(&ds).Error; err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	page := &DeliveryPage{}
	page.Items, page.NextCursor = cutPage(ds, f.Size, func(d *Delivery) (time.Time, string) { return d.CreatedAt, d.ID })
	return page, nil
}

// statusIs is the condition for one delivery status, written as a literal
// for the statuses the partial index deliveries_mode_pending_failed holds:
// SQLite reads a partial index only when the query names its values.
func statusIs(status string) string {
	switch status {
	case DeliveryPending:
		return "status = 'PENDING'"
	case DeliveryFailed:
		return "status = 'FAILED'"
	case DeliverySucceeded:
		return "status = 'SUCCEEDED'"
	case DeliveryRetrying:
		return retryingCond
	}
	return "0" // not a status (filters are validated before): nothing matches
}

func deliveryListQuery(db *gorm.DB, mode Mode, f DeliveryFilter) *gorm.DB {
	q := db.Model(&Delivery{}).Scopes(ScopeMode(mode))
	if f.EndpointID != nil {
		q = q.Where("endpoint_id = ?", *f.EndpointID)
	}
	if f.Status != nil {
		q = q.Where(statusIs(*f.Status))
	}
	if f.EventType != nil {
		q = q.Where("event_type = ?", *f.EventType)
	}
	if f.UserID != nil {
		q = q.Where("user_id = ?", *f.UserID)
	}
	return newestFirst(q, f.CreatedFrom, f.CreatedBefore, f.Cursor, f.Size)
}

// GetDelivery returns a delivery of mode with its attempts, event and
// endpoint, read from one snapshot so the attempts match the status.
func (s *Store) GetDelivery(ctx context.Context, mode Mode, id string) (*DeliveryDetail, error) {
	var out DeliveryDetail
	err := s.readTx(ctx, func(db *gorm.DB) error {
		err := db.Scopes(ScopeMode(mode)).Where("id = ?", id).Take(&out.Delivery).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return NotFound("delivery", id)
		}
		if err != nil {
			return err
		}
		if err := db.Scopes(ScopeMode(mode)).Where("delivery_id = ?", id).
			Order("number, started_at, id").Find(&out.Attempts).Error; err != nil {
			return fmt.Errorf("attempts: %w", err)
		}
		if err := db.Scopes(ScopeMode(mode)).Where("id = ?", out.Delivery.EventID).Take(&out.Event).Error; err != nil {
			return fmt.Errorf("event: %w", err)
		}
		for i := range out.Attempts {
			if a := &out.Attempts[i]; a.BodyIsPayload {
				a.RequestBody = out.Event.Payload
			}
		}
		if err := db.Scopes(ScopeMode(mode)).Where("id = ?", out.Delivery.EndpointID).Take(&out.Endpoint).Error; err != nil {
			return fmt.Errorf("endpoint: %w", err)
		}
		return nil
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("get delivery %s: %w", id, err)
	}
	return &out, nil
}

// readTx runs fn in a read transaction on a reader, one snapshot, so
// several queries see the same moment (the dialect says how).
func (s *Store) readTx(ctx context.Context, fn func(db *gorm.DB) error) error {
	return s.R.WithContext(withSealer(ctx, s.sealer)).Transaction(fn, s.d.snapshot())
}

// ResendDelivery makes one delivery due now for a single MANUAL attempt with
// the same event id. It works whatever the status: a failed or succeeded
// delivery goes back to that status if the resend fails; a pending one
// carries on with its retry schedule. by names who asked, for the log.
//
// A delivery being sent right now is not refused: the request is recorded
// (manual_pending, manual_by, and manual_requests moved on), and recording
// the attempt in flight then makes the delivery due at once for the MANUAL
// attempt, whatever that attempt's outcome, which becomes the status to go
// back to. Only an endpoint that cannot receive is refused.
func (s *Store) ResendDelivery(ctx context.Context, mode Mode, id, by string) (*Delivery, error) {
	var d *Delivery
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		d, err = resendTx(tx, mode, id, by, s.nowMS())
		return err
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("resend delivery %s: %w", id, err)
	}
	s.deliveriesQueued(1)
	return d, nil
}

// resendTx is ResendDelivery inside the caller's transaction. The delivery
// row is locked as it is read (FOR UPDATE on PostgreSQL; SQLite's one
// writer serialises anyway), so what is decided from it (in flight, already
// asked for, the status to return to) still holds when it is written: a
// concurrent resend or the dispatcher's record waits for this one.
func resendTx(tx *gorm.DB, mode Mode, id, by string, now time.Time) (*Delivery, error) {
	var d Delivery
	err := tx.Scopes(ScopeMode(mode)).Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, NotFound("delivery", id)
	}
	if err != nil {
		return nil, err
	}
	var ep WebhookEndpoint
	if err := tx.Where("id = ?", d.EndpointID).Take(&ep).Error; err != nil {
		return nil, fmt.Errorf("read endpoint %s: %w", d.EndpointID, err)
	}
	if !ep.Deliverable() {
		return nil, Errorf(CodeConflict, "delivery %s cannot be resent: %s", id, ep.undeliverableReason())
	}
	if d.LeaseOwner != "" && d.LeaseExpiresAt != nil && d.LeaseExpiresAt.After(now) {
		// In flight: the dispatcher's record decides status, next
		// attempt and status to go back to; here only the request.
		d.ManualPending, d.ManualBy, d.ManualRequests, d.UpdatedAt = true, by, d.ManualRequests+1, now
		return &d, tx.Model(&Delivery{}).Where("id = ?", id).Updates(map[string]any{
			"manual_pending": true, "manual_by": by,
			"manual_requests": gorm.Expr("manual_requests + 1"), "updated_at": ms(now),
		}).Error
	}
	if d.ManualPending {
		return &d, nil // already asked for and not yet sent: once is enough
	}
	if d.Status != DeliveryPending {
		d.ReturnStatus = d.Status
	}
	d.Status, d.NextAttemptAt, d.ManualPending, d.ManualBy, d.UpdatedAt = DeliveryPending, &now, true, by, now
	d.ManualRequests++
	return &d, tx.Model(&Delivery{}).Where("id = ?", id).Updates(map[string]any{
		"status": d.Status, "next_attempt_at": ms(now), "manual_pending": true,
		"manual_by": by, "return_status": d.ReturnStatus, "updated_at": ms(now),
		"manual_requests": gorm.Expr("manual_requests + 1"),
	}).Error
}
