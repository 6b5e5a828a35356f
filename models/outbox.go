package models

import (
	"time"

	"gorm.io/gorm"
)

// queueDeliveries writes one pending delivery per active endpoint of the
// event's mode that subscribes to its type, inside the caller's transaction:
// the event and its deliveries commit together or not at all.
func (s *Store) queueDeliveries(tx *gorm.DB, ev *Event, now time.Time) (int, error) {
	var endpoints []WebhookEndpoint
	err := tx.Scopes(ScopeMode(ev.Mode)).
		Where("active = TRUE AND disabled_at IS NULL AND deleted_at IS NULL").
		Find(&endpoints).Error
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range endpoints {
		if !endpoints[i].Subscribed(ev.Type) {
			continue
		}
		d := Delivery{
			ID: orderedID(s.Rand, now), Mode: ev.Mode, EndpointID: endpoints[i].ID, EventID: ev.ID,
			EventType: ev.Type, UserID: ev.UserID, Status: DeliveryPending,
			NextAttemptAt: &now, CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.Create(&d).Error; err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// deliveriesQueued tells the dispatcher, after commit, that work is
// waiting, and other instances on the same database too.
func (s *Store) deliveriesQueued(n int) {
	if n == 0 {
		return
	}
	s.wakeDispatcher()
	s.d.queued(s)
}

// wakeDispatcher starts this process's dispatcher at once instead of at its
// next poll.
func (s *Store) wakeDispatcher() {
	if s.OnDeliveriesQueued != nil {
		s.OnDeliveriesQueued()
	}
}
