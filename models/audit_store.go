package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Audit actions the console records. Kept here so the list is in one place.
const (
	AuditSignedIn        = "signed_in"
	AuditSignInFailed    = "sign_in_failed"
	AuditSignedOut       = "signed_out"
	AuditModeSwitched    = "mode_switched"
	AuditUserCreated     = "user_created"
	AuditTokenRefreshed  = "token_refreshed"
	AuditTokenRevoked    = "token_revoked"
	AuditKeyCreated      = "api_key_created"
	AuditKeyRevoked      = "api_key_revoked"
	AuditOperatorCreated = "operator_created"
	AuditOperatorOff     = "operator_disabled"
	AuditOperatorOn      = "operator_enabled"
	AuditSessionRevoked  = "session_revoked"

	AuditOperatorRole    = "operator_role_changed"
	AuditSessionsRevoked = "operator_sessions_revoked"
	AuditWebhookCreated  = "webhook_created"
	AuditWebhookUpdated  = "webhook_updated"
	AuditWebhookDeleted  = "webhook_deleted"
	AuditWebhookEnabled  = "webhook_enabled"
	AuditSecretRevealed  = "webhook_secret_revealed"
	AuditSecretRotated   = "webhook_secret_rotated"
	AuditTestEventSent   = "webhook_test_sent"
	AuditDeliveryResent  = "delivery_resent"
	AuditBulkResent      = "deliveries_resent_in_bulk"
	AuditFailedRecovered = "webhook_failed_recovered"

	AuditPasswordChanged = "operator_password_changed" // by the operator, who gave the current one
	AuditPasswordRefused = "operator_password_change_refused"
	AuditPasswordReset   = "operator_password_reset" // by an admin

	AuditTwoFactorOn       = "two_factor_enabled"
	AuditTwoFactorOff      = "two_factor_disabled" // by the operator
	AuditTwoFactorReset    = "two_factor_reset"    // by an admin
	AuditTwoFactorRequired = "two_factor_requirement_changed"
	AuditRecoveryCodes     = "recovery_codes_renewed"
	AuditTimeZoneChanged   = "operator_time_zone_changed"
)

// AuditActions lists every action, for the audit log's filter.
var AuditActions = []string{
	AuditSignedIn, AuditSignInFailed, AuditSignedOut, AuditModeSwitched, AuditUserCreated, AuditTokenRefreshed,
	AuditTokenRevoked, AuditKeyCreated, AuditKeyRevoked, AuditOperatorCreated, AuditOperatorOff, AuditOperatorOn, AuditOperatorRole,
	AuditSessionRevoked, AuditSessionsRevoked, AuditWebhookCreated, AuditWebhookUpdated, AuditWebhookDeleted,
	AuditWebhookEnabled, AuditSecretRevealed, AuditSecretRotated, AuditTestEventSent, AuditDeliveryResent, AuditBulkResent,
	AuditFailedRecovered, AuditPasswordChanged, AuditPasswordRefused, AuditPasswordReset,
	AuditTwoFactorOn, AuditTwoFactorOff, AuditTwoFactorReset, AuditTwoFactorRequired, AuditRecoveryCodes, AuditTimeZoneChanged,
}

// AuditFilter narrows the audit log. Empty fields do not filter.
type AuditFilter struct {
	Size       int
	Cursor     *Cursor
	TargetID   string
	OperatorID string
	Action     string
	From       *time.Time // inclusive
	Before     *time.Time // exclusive
}

// AuditPage is one page of audit entries, newest first.
type AuditPage struct {
	Items      []AuditEntry
	NextCursor string
}

// ListAudit returns audit entries newest first. The log spans both modes
// (signing in has none), so it is not mode-scoped; each entry shows its mode.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) (*AuditPage, error) {
	f.Size = pageSize(f.Size, 50)
	var items []AuditEntry
	if err := auditListQuery(s.read(ctx), f).Find(&items).Error; err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	page := &AuditPage{}
	page.Items, page.NextCursor = cutPage(items, f.Size, func(e *AuditEntry) (time.Time, string) { return e.CreatedAt, e.ID })
	return page, nil
}

func auditListQuery(db *gorm.DB, f AuditFilter) *gorm.DB {
	f.Size = pageSize(f.Size, 50)
	q := db.Model(&AuditEntry{})
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if f.OperatorID != "" {
		q = q.Where("operator_id = ?", f.OperatorID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	return newestFirst(q, f.From, f.Before, f.Cursor, f.Size)
}
