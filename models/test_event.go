package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// TestEventUserID is the user id a test event names. It is not shaped like
// a real user id (tenant-<32 hex>), so a receiver, the delivery log and a
// person reading the payload can all tell a test from a real signup.
const TestEventUserID = "tokendesk-test-event"

// CreateTestEvent records a USER_CREATED event naming TestEventUserID and
// queues one delivery of it to the endpoint with id, and to no other, so an
// operator can check a receiver end to end without creating a user. by names
// who asked; the delivery's first attempt is MANUAL on their behalf.
func (s *Store) CreateTestEvent(ctx context.Context, mode Mode, endpointID, by string) (*Event, *Delivery, error) {
	var ev *Event
	var d Delivery
	err := s.write(ctx, func(tx *gorm.DB) error {
		ep, err := getEndpoint(tx, mode, endpointID)
		if err != nil {
			return err
		}
		if !ep.Deliverable() {
			return Errorf(CodeConflict, "a test event cannot be sent to webhook %s: %s", endpointID, ep.undeliverableReason())
		}
		now := s.nowMS()
		if ev, err = s.newUserCreatedEvent(mode, TestEventUserID, now); err != nil {
			return fmt.Errorf("build test event: %w", err)
		}
		if err := tx.Create(ev).Error; err != nil {
			return err
		}
		d = Delivery{
			ID: randomHex(s.Rand, 16), Mode: mode, EndpointID: ep.ID, EventID: ev.ID,
			EventType: ev.Type, UserID: TestEventUserID, Status: DeliveryPending,
			NextAttemptAt: &now, ManualPending: true, ManualBy: by, CreatedAt: now, UpdatedAt: now,
		}
		return tx.Create(&d).Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, nil, e
		}
		return nil, nil, fmt.Errorf("send a test event to webhook %s: %w", endpointID, err)
	}
	s.deliveriesQueued(1)
	return ev, &d, nil
}
