package models

import (
	"encoding/json"
	"time"
)

// Event types this server emits. The webhook endpoint API accepts the
// contract's whole list (see EventTypes) so customers can subscribe ahead.
const (
	EventUserCreated = "USER_CREATED"
	EventAllEvents   = "ALL_EVENTS"
)

// EmittedEventTypes are the types this server records, which is all a log
// of what happened can hold: the console's filters offer these, while the
// filters still accept any type of the contract.
var EmittedEventTypes = []string{EventUserCreated}

// Event is something that happened, recorded once and fanned out to every
// subscribed endpoint as deliveries. Payload is the exact JSON sent.
type Event struct {
	ID        string `gorm:"primaryKey"`
	Mode      Mode
	Type      string
	UserID    string
	Payload   string
	CreatedAt time.Time `gorm:"serializer:ms"`
}

// eventPayload fixes the field order of the contract's event JSON.
type eventPayload struct {
	ID        string `json:"id"`
	Version   int    `json:"version"`
	Type      string `json:"type"`
	CreatedAt string `json:"createdAt"`
	Data      struct {
		UserID string `json:"userId"`
	} `json:"data"`
}

func (s *Store) newUserCreatedEvent(mode Mode, userID string, at time.Time) (*Event, error) {
	p := eventPayload{ID: randomHex(s.Rand, 16), Version: 1, Type: EventUserCreated, CreatedAt: FormatTime(at)}
	p.Data.UserID = userID
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return &Event{ID: p.ID, Mode: mode, Type: EventUserCreated, UserID: userID, Payload: string(body), CreatedAt: at}, nil
}
