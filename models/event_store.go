package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// EventFilter narrows an event list. Nil fields do not filter.
type EventFilter struct {
	Type          *string
	UserID        *string
	CreatedFrom   *time.Time // inclusive
	CreatedBefore *time.Time // exclusive
	Size          int
	Cursor        *Cursor
}

// EventPage is one page of events, newest first.
type EventPage struct {
	Items      []Event
	NextCursor string
}

// EventDetail is an event with its deliveries, one per endpoint it went to.
type EventDetail struct {
	Event      Event
	Deliveries []Delivery
}

// GetEvent returns an event of mode with its deliveries, oldest first.
func (s *Store) GetEvent(ctx context.Context, mode Mode, id string) (*EventDetail, error) {
	var out EventDetail
	err := s.readTx(ctx, func(db *gorm.DB) error {
		err := db.Scopes(ScopeMode(mode)).Where("id = ?", id).Take(&out.Event).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return NotFound("event", id)
		}
		if err != nil {
			return err
		}
		return db.Scopes(ScopeMode(mode)).Where("event_id = ?", id).Order("created_at, id").Find(&out.Deliveries).Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("get event %s: %w", id, err)
	}
	return &out, nil
}

// ListEvents returns one page of mode's events, newest first.
func (s *Store) ListEvents(ctx context.Context, mode Mode, f EventFilter) (*EventPage, error) {
	f.Size = pageSize(f.Size, DefaultPageSize)
	var evs []Event
	if err := eventListQuery(s.read(ctx), mode, f).Find(&evs).Error; err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	page := &EventPage{}
	page.Items, page.NextCursor = cutPage(evs, f.Size, func(e *Event) (time.Time, string) { return e.CreatedAt, e.ID })
	return page, nil
}

func eventListQuery(db *gorm.DB, mode Mode, f EventFilter) *gorm.DB {
	q := db.Model(&Event{}).Scopes(ScopeMode(mode))
	if f.Type != nil {
		q = q.Where("type = ?", *f.Type)
	}
	if f.UserID != nil {
		q = q.Where("user_id = ?", *f.UserID)
	}
	return newestFirst(q, f.CreatedFrom, f.CreatedBefore, f.Cursor, f.Size)
}
