package models

import (
	"slices"
	"time"
)

// WebhookEndpoint is a customer URL that receives signed events.
type WebhookEndpoint struct {
	ID                  string `gorm:"primaryKey"`
	Mode                Mode
	Name                string
	URL                 string   `gorm:"column:url"`
	EventTypes          []string `gorm:"serializer:json"`
	Active              bool
	IncludePayload      bool
	Secret              string
	PreviousSecret      string
	PreviousSecretUntil *time.Time `gorm:"serializer:ms"`
	DisabledAt          *time.Time `gorm:"serializer:ms"`
	DisabledReason      string
	FailingSince        *time.Time `gorm:"serializer:ms"`
	CreatedAt           time.Time  `gorm:"serializer:ms"`
	UpdatedAt           time.Time  `gorm:"serializer:ms"`
	DeletedAt           *time.Time `gorm:"serializer:ms"`
}

// Subscribed reports whether the endpoint wants events of type t.
func (e *WebhookEndpoint) Subscribed(t string) bool {
	return slices.Contains(e.EventTypes, t) || slices.Contains(e.EventTypes, EventAllEvents)
}

// EventTypes is the contract's list of webhook event types.
var EventTypes = []string{
	"USER_CREATED", "ACCOUNT_CREATED", "ACCOUNT_CONNECTED", "ACCOUNT_DISCONNECTED", "ACCOUNT_FAILED",
	"TASK_STARTED", "TASK_FINISHED", "ACCOUNT_SYNC_TASK_FINISHED", "ARCHIVE_STARTED", "ARCHIVE_ANALYZED",
	"ARCHIVE_REVOKED", "ARCHIVE_FAILED", "INVITE_INVITED", "INVITE_LINKED", "IDENTITY_ADDED", "RATING_ADDED",
	"TRANSACTIONS_ADDED", "DOCUMENTS_ADDED", "DOCUMENTS_UPDATED", "EMPLOYMENTS_ADDED", "EMPLOYMENTS_UPDATED",
	"INCOMES_ADDED", "INCOMES_UPDATED", "CONTRIBUTIONS_ADDED", "CONTRIBUTIONS_UPDATED", "EINCOMES_ADDED",
	"EINCOMES_UPDATED", "LIABILITIES_ADDED", "LIABILITIES_UPDATED", "INSIGHT_ADDED", "LINK_ADDED",
	"VERIFICATION_STARTED", "VERIFICATION_COMPLETED", "RECORD_CREATED", "RECORD_COMPLETED",
	"USER_SESSION_COMPLETED", "USER_SESSION_RESET", "ALL_EVENTS",
}
