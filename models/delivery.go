package models

import "time"

// Delivery statuses.
const (
	DeliveryPending   = "PENDING"
	DeliverySucceeded = "SUCCEEDED"
	DeliveryFailed    = "FAILED"
)

// Delivery is one event on its way to one endpoint: the outbox row the
// dispatcher claims, sends and reschedules until it succeeds or gives up.
type Delivery struct {
	ID             string `gorm:"primaryKey"`
	Mode           Mode
	EndpointID     string
	EventID        string
	EventType      string
	UserID         string
	Status         string
	AttemptCount   int
	NextAttemptAt  *time.Time `gorm:"serializer:ms"`
	LeaseOwner     string
	LeaseExpiresAt *time.Time `gorm:"serializer:ms"`
	LastStatusCode int
	LastError      string
	CreatedAt      time.Time  `gorm:"serializer:ms"`
	UpdatedAt      time.Time  `gorm:"serializer:ms"`
	CompletedAt    *time.Time `gorm:"serializer:ms"`
}

// Attempt is one try at sending a delivery, kept whole for support.
type Attempt struct {
	ID              string `gorm:"primaryKey"`
	DeliveryID      string
	Mode            Mode
	Number          int
	Trigger         string            // AUTOMATIC or MANUAL
	URL             string            `gorm:"column:url"`
	RequestHeaders  map[string]string `gorm:"serializer:json"`
	RequestBody     string
	ResponseStatus  int
	ResponseHeaders map[string]string `gorm:"serializer:json"`
	ResponseBody    string
	DurationMS      int64 `gorm:"column:duration_ms"`
	Error           string
	StartedAt       time.Time `gorm:"serializer:ms"`
}
