package models

import (
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
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
	Secret              string     `gorm:"serializer:sealed"` // every generation sealed at rest (seal.go)
	PreviousSecret      string     `gorm:"serializer:sealed"`
	PreviousSecretUntil *time.Time `gorm:"serializer:ms"`
	DisabledAt          *time.Time `gorm:"serializer:ms"`
	DisabledReason      string
	FailingSince        *time.Time `gorm:"serializer:ms"`
	// RateLimit caps the requests a second sent to the endpoint, retries
	// and resends included; 0 for no cap.
	RateLimit int
	// MaxInFlight caps the attempts to the endpoint in flight at once, per
	// process; 0 takes the dispatcher's default (--webhook-per-endpoint).
	MaxInFlight int
	CreatedAt   time.Time  `gorm:"serializer:ms"`
	UpdatedAt   time.Time  `gorm:"serializer:ms"`
	DeletedAt   *time.Time `gorm:"serializer:ms"`
}

// Subscribed reports whether the endpoint wants events of type t.
func (e *WebhookEndpoint) Subscribed(t string) bool {
	return slices.Contains(e.EventTypes, t) || slices.Contains(e.EventTypes, EventAllEvents)
}

// Deliverable reports whether deliveries may be sent to e: it exists, its
// owner wants it on, and the server has not disabled it.
func (e *WebhookEndpoint) Deliverable() bool {
	return e.Active && e.DisabledAt == nil && e.DeletedAt == nil
}

// undeliverableReason says in words why Deliverable is false.
func (e *WebhookEndpoint) undeliverableReason() string {
	switch {
	case e.DeletedAt != nil:
		return "endpoint deleted"
	case e.DisabledAt != nil:
		return "endpoint disabled: " + e.DisabledReason
	case !e.Active:
		return "endpoint set inactive"
	}
	return ""
}

// SigningSecrets returns the secrets that sign a request at now: the current
// one first, then the previous one while its rotation grace lasts.
func (e *WebhookEndpoint) SigningSecrets(now time.Time) []string {
	if e.PreviousSecret != "" && e.PreviousSecretUntil != nil && now.Before(*e.PreviousSecretUntil) {
		return []string{e.Secret, e.PreviousSecret}
	}
	return []string{e.Secret}
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

func validEventType(t string) bool { return slices.Contains(EventTypes, t) }

// Limits of the contract's WebhookPostRequest, in characters.
const (
	MaxWebhookNameLen   = 200
	MaxWebhookURLLen    = 500
	MaxWebhookSecretLen = 64
)

// SecretRotationGrace is how long a rotated-out secret still signs requests,
// so receivers can switch to the new one without dropping deliveries.
const SecretRotationGrace = 24 * time.Hour

// WebhookInput is a request to create or change an endpoint. A nil field is
// absent: required when creating, left unchanged when patching. EventTypes is
// absent when nil (JSON null or a missing key) and invalid when empty.
type WebhookInput struct {
	Name           *string
	URL            *string
	EventTypes     []string
	Active         *bool
	IncludePayload *bool
	Secret         *string
	RateLimit      *int // requests a second, 0 for none
	MaxInFlight    *int // attempts at once, 0 for the server's default

	allowPrivate []netip.Prefix // the store's AllowPrivate, set when it checks
}

// Bounds of an endpoint's own delivery limits.
const (
	MaxWebhookRateLimit   = 10000
	MaxWebhookMaxInFlight = 1000
)

// Validate checks the fields that are present, for a patch in mode.
func (in *WebhookInput) Validate(mode Mode) error { return firstError(in.check(mode, false)) }

// ValidateCreate checks a create request in mode: the contract's required
// fields must all be present.
func (in *WebhookInput) ValidateCreate(mode Mode) error { return firstError(in.check(mode, true)) }

// FieldErrors returns every problem at once, for forms that show them all.
func (in *WebhookInput) FieldErrors(mode Mode, create bool) FieldErrors {
	fe := FieldErrors{}
	for _, e := range in.check(mode, create) {
		fe.Add(e.Field, e.Message)
	}
	return fe
}

func firstError(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// check returns problems in the contract's field order, so the single error
// an API client sees is stable.
func (in *WebhookInput) check(mode Mode, create bool) []*Error {
	var errs []*Error
	missing := func(field string) { errs = append(errs, FieldError(field, "%s is required", field)) }

	switch {
	case in.Name == nil:
		if create {
			missing("name")
		}
	default:
		n := utf8.RuneCountInString(strings.TrimSpace(*in.Name))
		if n < 1 || n > MaxWebhookNameLen {
			errs = append(errs, FieldError("name", "name must be 1 to %d characters, got %d", MaxWebhookNameLen, n))
		}
	}

	switch {
	case in.URL == nil:
		if create {
			missing("url")
		}
	default:
		if err := checkWebhookURL(mode, strings.TrimSpace(*in.URL), in.allowPrivate); err != nil {
			errs = append(errs, err)
		}
	}

	switch {
	case in.EventTypes == nil:
		if create {
			missing("eventTypes")
		}
	case len(in.EventTypes) == 0:
		errs = append(errs, FieldError("eventTypes", "eventTypes must list at least one event type (ALL_EVENTS subscribes to all)"))
	default:
		for _, t := range in.EventTypes {
			if !validEventType(t) {
				errs = append(errs, FieldError("eventTypes", "eventTypes holds %q, which is not one of the contract's event types", truncate(t, 60)))
				break
			}
		}
	}

	if in.Active == nil && create {
		missing("active")
	}

	if in.RateLimit != nil && (*in.RateLimit < 0 || *in.RateLimit > MaxWebhookRateLimit) {
		errs = append(errs, FieldError("rateLimit", "rateLimit must be 0 (no limit) to %d requests a second, got %d", MaxWebhookRateLimit, *in.RateLimit))
	}
	if in.MaxInFlight != nil && (*in.MaxInFlight < 0 || *in.MaxInFlight > MaxWebhookMaxInFlight) {
		errs = append(errs, FieldError("maxInFlight", "maxInFlight must be 0 (the server's default) to %d, got %d", MaxWebhookMaxInFlight, *in.MaxInFlight))
	}

	switch {
	case in.Secret == nil:
		if create {
			missing("secret")
		}
	case !utf8.ValidString(*in.Secret):
		errs = append(errs, FieldError("secret", "secret must be text (valid UTF-8)"))
	default:
		n := utf8.RuneCountInString(*in.Secret)
		if n < 1 || n > MaxWebhookSecretLen {
			errs = append(errs, FieldError("secret", "secret must be 1 to %d characters, got %d", MaxWebhookSecretLen, n))
		}
	}
	return errs
}

func checkWebhookURL(mode Mode, raw string, allowPrivate []netip.Prefix) *Error {
	n := utf8.RuneCountInString(raw)
	if n < 1 || n > MaxWebhookURLLen {
		return FieldError("url", "url must be 1 to %d characters, got %d", MaxWebhookURLLen, n)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" {
		return FieldError("url", "url must be an absolute http:// or https:// URL, got %q", truncate(raw, 100))
	}
	if mode == Production && u.Scheme != "https" {
		return FieldError("url", "url must begin with https:// in PRODUCTION (http:// is allowed in SANDBOX only)")
	}
	if mode == Production {
		return checkProductionHost(u, allowPrivate)
	}
	return nil
}

// normalizedEventTypes drops repeats, keeping the order given.
func normalizedEventTypes(ts []string) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// WebhookFilter pages through a mode's endpoints.
type WebhookFilter struct {
	Size   int
	Cursor *Cursor
}

// WebhookPage is one page of endpoints, newest first.
type WebhookPage struct {
	Items      []WebhookEndpoint
	NextCursor string
}
