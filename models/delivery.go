package models

import (
	"strings"
	"time"
)

// Delivery statuses.
const (
	DeliveryPending   = "PENDING"
	DeliverySucceeded = "SUCCEEDED"
	DeliveryFailed    = "FAILED"
)

// DeliveryRetrying is not stored: it is a PENDING delivery whose last
// attempt failed, shown and filtered as such so that a delivery failing for
// days counts as failing, not as merely waiting (see Delivery.Shown).
const DeliveryRetrying = "RETRYING"

// DeliveryStatuses lists the stored statuses in display order.
var DeliveryStatuses = []string{DeliveryPending, DeliverySucceeded, DeliveryFailed}

// DeliveryFilterStatuses are what a delivery list filters by: the stored
// statuses and RETRYING, a part of PENDING.
var DeliveryFilterStatuses = []string{DeliveryPending, DeliveryRetrying, DeliverySucceeded, DeliveryFailed}

// What started an attempt: the retry schedule, or a person (resend, recover).
const (
	TriggerAutomatic = "AUTOMATIC"
	TriggerManual    = "MANUAL"
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
	AttemptCount   int        // every attempt, automatic and manual
	AutoAttempts   int        // scheduled attempts only; the retry schedule is indexed by it
	NextAttemptAt  *time.Time `gorm:"serializer:ms"`
	LeaseOwner     string
	LeaseExpiresAt *time.Time `gorm:"serializer:ms"`
	LastStatusCode int
	LastError      string
	ManualPending  bool       // the next attempt was asked for by a person
	ManualBy       string     // who asked
	ReturnStatus   string     // status to go back to if that manual attempt fails; empty: keep retrying
	ManualRequests int        // resends asked for so far; a change during an attempt asks for one more
	CreatedAt      time.Time  `gorm:"serializer:ms"`
	UpdatedAt      time.Time  `gorm:"serializer:ms"`
	CompletedAt    *time.Time `gorm:"serializer:ms"`
}

// Retrying reports whether d is still being tried after a failed attempt:
// pending, tried at least once, and not a resend of a delivery that had
// succeeded (which goes back to SUCCEEDED if the resend fails).
func (d *Delivery) Retrying() bool {
	return d.Status == DeliveryPending && d.AttemptCount > 0 && d.ReturnStatus != DeliverySucceeded
}

// Shown is the status a person sees: RETRYING for a pending delivery whose
// last attempt failed, else the stored status.
func (d *Delivery) Shown() string {
	if d.Retrying() {
		return DeliveryRetrying
	}
	return d.Status
}

// Attempt is one try at sending a delivery, kept whole for support.
type Attempt struct {
	ID             string `gorm:"primaryKey"`
	DeliveryID     string
	Mode           Mode
	Number         int
	Trigger        string            // AUTOMATIC or MANUAL
	TriggeredBy    string            // who asked, for MANUAL attempts
	URL            string            `gorm:"column:url"`
	RequestHeaders map[string]string `gorm:"serializer:json"`
	RequestBody    string
	// BodyIsPayload says the request body was the event's payload, stored
	// once with the event; reading the attempt fills RequestBody from it.
	BodyIsPayload   bool
	ResponseStatus  int
	ResponseHeaders map[string]string `gorm:"serializer:json"`
	ResponseBody    string
	DurationMS      int64 `gorm:"column:duration_ms"`
	Error           string
	StartedAt       time.Time `gorm:"serializer:ms"`
}

// DeliveryFilter narrows a delivery list. Nil fields do not filter.
type DeliveryFilter struct {
	EndpointID    *string
	Status        *string // one of DeliveryStatuses
	EventType     *string
	UserID        *string
	CreatedFrom   *time.Time // inclusive
	CreatedBefore *time.Time // exclusive
	Size          int
	Cursor        *Cursor
}

// DeliveryPage is one page of deliveries, newest first.
type DeliveryPage struct {
	Items      []Delivery
	NextCursor string
}

// DeliveryDetail is one delivery with everything a support person needs to
// explain it: its attempts (oldest first), its event and its endpoint (which
// may since have been deleted).
type DeliveryDetail struct {
	Delivery Delivery
	Attempts []Attempt
	Event    Event
	Endpoint WebhookEndpoint
}

// ParseDeliveryStatus reads the status filter in any letter case.
func ParseDeliveryStatus(s string) (*string, error) {
	if s == "" {
		return nil, nil
	}
	up := strings.ToUpper(strings.TrimSpace(s))
	for _, st := range DeliveryFilterStatuses {
		if up == st {
			return &st, nil
		}
	}
	return nil, FieldError("status", "status must be one of PENDING, RETRYING, SUCCEEDED or FAILED, got %q", truncate(s, 30))
}

// ParseEventType reads an event type filter; field names the parameter.
func ParseEventType(field, s string) (*string, error) {
	if s == "" {
		return nil, nil
	}
	if !validEventType(s) {
		return nil, FieldError(field, "%s %q is not one of the contract's event types", field, truncate(s, 60))
	}
	return &s, nil
}

// Claim is a delivery leased to one dispatcher, with all it needs to send it
// without another query.
type Claim struct {
	// Delivery holds what sending and recording read (ids, mode, counts,
	// resend state, lease); the rest is left zero, since each column the
	// claim returns costs on every delivery.
	Delivery    Delivery
	Endpoint    WebhookEndpoint
	Payload     []byte // the event's stored JSON, sent byte for byte
	Number      int    // the number this attempt will have
	Trigger     string // AUTOMATIC or MANUAL
	TriggeredBy string
	rowid       int64 // the delivery's row, so settling it needs no look-up by id
}

// AttemptResult is what happened on one try and what the dispatcher wants to
// follow. The store decides the delivery's new status from it.
type AttemptResult struct {
	Attempt Attempt
	// Claim is the claim the attempt was made on, when the caller has it:
	// the store then trusts its snapshot instead of reading the delivery
	// again, and checks the lease in the update itself.
	Claim     *Claim
	Succeeded bool
	// Gone: the receiver answered 410, which disables the endpoint.
	Gone bool
	// RetryAt is when the next automatic attempt is due after a failure; nil
	// when the schedule is used up.
	RetryAt *time.Time
	// DisableAfter is how long an endpoint may fail every attempt before it is
	// disabled; zero means DefaultDisableAfter.
	DisableAfter time.Duration
}

// DefaultDisableAfter is how long an endpoint may fail everything before it
// is disabled, as the best webhook senders do.
const DefaultDisableAfter = 5 * 24 * time.Hour

// Backlog tells how much work waits for the dispatcher, for metrics.
type Backlog struct {
	Pending   int        // deliveries not yet succeeded or given up
	NextDueAt *time.Time // earliest next attempt, nil when nothing is pending
}
