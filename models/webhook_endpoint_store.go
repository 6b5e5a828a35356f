package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// nowMS is the clock truncated to what the database keeps, so a value
// returned by a write equals the one read back later.
func (s *Store) nowMS() time.Time { return time.UnixMilli(s.Now().UnixMilli()).UTC() }

// CreateWebhookEndpoint adds an endpoint to mode. Only events created after
// it will be delivered to it.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, mode Mode, in WebhookInput) (*WebhookEndpoint, error) {
	in.allowPrivate = s.AllowPrivate
	if err := in.ValidateCreate(mode); err != nil {
		return nil, err
	}
	now := s.nowMS()
	ep := WebhookEndpoint{
		ID: randomHex(s.Rand, 16), Mode: mode,
		Name: strings.TrimSpace(*in.Name), URL: strings.TrimSpace(*in.URL),
		EventTypes: normalizedEventTypes(in.EventTypes), Active: *in.Active,
		Secret: *in.Secret, CreatedAt: now, UpdatedAt: now,
	}
	if in.IncludePayload != nil {
		ep.IncludePayload = *in.IncludePayload
	}
	if in.RateLimit != nil {
		ep.RateLimit = *in.RateLimit
	}
	if in.MaxInFlight != nil {
		ep.MaxInFlight = *in.MaxInFlight
	}
	if err := s.write(ctx, func(tx *gorm.DB) error { return tx.Create(&ep).Error }); err != nil {
		return nil, fmt.Errorf("create webhook endpoint: %w", err)
	}
	return &ep, nil
}

// WebhookFieldErrors checks in for mode as creating (create) or updating
// an endpoint would, every problem at once, for forms.
func (s *Store) WebhookFieldErrors(mode Mode, in WebhookInput, create bool) FieldErrors {
	in.allowPrivate = s.AllowPrivate
	return in.FieldErrors(mode, create)
}

// GetWebhookEndpoint returns the endpoint with id in mode. Deleted endpoints
// are not found.
func (s *Store) GetWebhookEndpoint(ctx context.Context, mode Mode, id string) (*WebhookEndpoint, error) {
	return getEndpoint(s.read(ctx), mode, id)
}

func getEndpoint(db *gorm.DB, mode Mode, id string) (*WebhookEndpoint, error) {
	var ep WebhookEndpoint
	err := db.Scopes(ScopeMode(mode)).Where("id = ? AND deleted_at IS NULL", id).Take(&ep).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, NotFound("webhook", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get webhook endpoint %s: %w", id, err)
	}
	return &ep, nil
}

// ListWebhookEndpoints returns one page of mode's endpoints, newest first.
func (s *Store) ListWebhookEndpoints(ctx context.Context, mode Mode, f WebhookFilter) (*WebhookPage, error) {
	f.Size = pageSize(f.Size, DefaultPageSize)
	q := s.read(ctx).Model(&WebhookEndpoint{}).Scopes(ScopeMode(mode)).Where("deleted_at IS NULL")
	var eps []WebhookEndpoint
	if err := newestFirst(q, nil, nil, f.Cursor, f.Size).Find(&eps).Error; err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	page := &WebhookPage{}
	page.Items, page.NextCursor = cutPage(eps, f.Size, func(e *WebhookEndpoint) (time.Time, string) { return e.CreatedAt, e.ID })
	return page, nil
}

// UpdateWebhookEndpoint applies the fields present in in. A new secret given
// here replaces the old one at once (the way to retire a leaked secret);
// RotateWebhookSecret is the gentle way. Turning an endpoint inactive fails
// its pending deliveries, visibly, so they can be recovered later.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, mode Mode, id string, in WebhookInput) (*WebhookEndpoint, error) {
	in.allowPrivate = s.AllowPrivate
	if err := in.Validate(mode); err != nil {
		return nil, err
	}
	var ep *WebhookEndpoint
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		if ep, err = getEndpoint(tx, mode, id); err != nil {
			return err
		}
		now := s.nowMS()
		set := map[string]any{"updated_at": ms(now)}
		if in.Name != nil {
			ep.Name = strings.TrimSpace(*in.Name)
			set["name"] = ep.Name
		}
		if in.URL != nil {
			ep.URL = strings.TrimSpace(*in.URL)
			set["url"] = ep.URL
		}
		if in.EventTypes != nil {
			ep.EventTypes = normalizedEventTypes(in.EventTypes)
			b, err := json.Marshal(ep.EventTypes)
			if err != nil {
				return err
			}
			set["event_types"] = string(b)
		}
		if in.IncludePayload != nil {
			ep.IncludePayload = *in.IncludePayload
			set["include_payload"] = ep.IncludePayload
		}
		if in.RateLimit != nil {
			ep.RateLimit = *in.RateLimit
			set["rate_limit"] = ep.RateLimit
		}
		if in.MaxInFlight != nil {
			ep.MaxInFlight = *in.MaxInFlight
			set["max_in_flight"] = ep.MaxInFlight
		}
		if in.Secret != nil && *in.Secret != ep.Secret {
			ep.Secret, ep.PreviousSecret, ep.PreviousSecretUntil = *in.Secret, "", nil
			set["secret"], set["previous_secret"], set["previous_secret_until"] = s.sealed(ep.Secret, "secret"), "", nil
		}
		deactivated := false
		if in.Active != nil {
			deactivated = ep.Active && !*in.Active && ep.DisabledAt == nil
			ep.Active = *in.Active
			set["active"] = ep.Active
			if ep.Active && ep.DisabledAt != nil {
				// Turning on an endpoint the server disabled enables it
				// again: its failure streak starts over.
				ep.DisabledAt, ep.DisabledReason, ep.FailingSince = nil, "", nil
				set["disabled_at"], set["disabled_reason"], set["failing_since"] = nil, "", nil
			}
		}
		ep.UpdatedAt = now
		if err := tx.Model(&WebhookEndpoint{}).Where("id = ?", id).Updates(set).Error; err != nil {
			return err
		}
		if deactivated {
			_, err := failPendingOf(tx, id, "endpoint set inactive", now)
			return err
		}
		return nil
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("update webhook endpoint %s: %w", id, err)
	}
	return ep, nil
}

// DeleteWebhookEndpoint hides the endpoint and fails its pending deliveries.
// The row stays so the delivery log can still name it.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, mode Mode, id string) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		if _, err := getEndpoint(tx, mode, id); err != nil {
			return err
		}
		now := s.nowMS()
		err := tx.Model(&WebhookEndpoint{}).Where("id = ?", id).
			Updates(map[string]any{"deleted_at": ms(now), "updated_at": ms(now)}).Error
		if err != nil {
			return err
		}
		_, err = failPendingOf(tx, id, "endpoint deleted", now)
		return err
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return e
		}
		return fmt.Errorf("delete webhook endpoint %s: %w", id, err)
	}
	return nil
}

// RotateWebhookSecret gives the endpoint a new secret; an empty newSecret
// generates one. The old secret keeps signing (as a second v1 signature) for
// SecretRotationGrace, so the receiver can switch without losing deliveries.
func (s *Store) RotateWebhookSecret(ctx context.Context, mode Mode, id, newSecret string) (*WebhookEndpoint, error) {
	if newSecret == "" {
		newSecret = randomHex(s.Rand, 24)
	}
	if err := (&WebhookInput{Secret: &newSecret}).Validate(mode); err != nil {
		return nil, err
	}
	var ep *WebhookEndpoint
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		if ep, err = getEndpoint(tx, mode, id); err != nil {
			return err
		}
		if newSecret == ep.Secret {
			return FieldError("secret", "the new secret must differ from the current one")
		}
		now := s.nowMS()
		until := now.Add(SecretRotationGrace)
		ep.PreviousSecret, ep.PreviousSecretUntil, ep.Secret, ep.UpdatedAt = ep.Secret, &until, newSecret, now
		return tx.Model(&WebhookEndpoint{}).Where("id = ?", id).Updates(map[string]any{
			"secret": s.sealed(ep.Secret, "secret"), "previous_secret": s.sealed(ep.PreviousSecret, "previous_secret"),
			"previous_secret_until": ms(until), "updated_at": ms(now),
		}).Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("rotate secret of webhook endpoint %s: %w", id, err)
	}
	return ep, nil
}

// RecoverEndpoint re-enables an endpoint the server disabled (410 Gone, or
// failing for days). Its failed deliveries stay failed: RecoverFailed
// re-queues them. Recovering an endpoint that is not disabled changes nothing.
func (s *Store) RecoverEndpoint(ctx context.Context, mode Mode, id string) (*WebhookEndpoint, error) {
	var ep *WebhookEndpoint
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		if ep, err = getEndpoint(tx, mode, id); err != nil {
			return err
		}
		if ep.DisabledAt == nil {
			return nil
		}
		now := s.nowMS()
		ep.DisabledAt, ep.DisabledReason, ep.FailingSince, ep.UpdatedAt = nil, "", nil, now
		return tx.Model(&WebhookEndpoint{}).Where("id = ?", id).Updates(map[string]any{
			"disabled_at": nil, "disabled_reason": "", "failing_since": nil, "updated_at": ms(now),
		}).Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("recover webhook endpoint %s: %w", id, err)
	}
	return ep, nil
}

// failPendingOf gives up on every pending delivery of an endpoint, saying
// why. Leases are left alone: an attempt in flight still records its outcome,
// and a success then wins over this failure.
func failPendingOf(tx *gorm.DB, endpointID, reason string, now time.Time) (int64, error) {
	res := tx.Exec(sqlFailPendingOf, reason, ms(now), ms(now), endpointID)
	if res.Error != nil {
		return 0, fmt.Errorf("fail pending deliveries of %s: %w", endpointID, res.Error)
	}
	return res.RowsAffected, nil
}
