package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// RefreshToken issues a new link token for an existing user of mode. A zero
// ttl uses the configured lifetime.
func (s *Store) RefreshToken(ctx context.Context, mode Mode, userID, issuedBy string, ttl time.Duration) (*IssuedToken, error) {
	if userID == "" {
		return nil, FieldError("userId", "userId is required")
	}
	if len(userID) > 200 {
		return nil, FieldError("userId", "userId is longer than 200 characters")
	}
	tok, err := s.newToken(mode, userID, issuedBy, ttl)
	if err != nil {
		return nil, fmt.Errorf("refresh token for %s: %w", userID, err)
	}
	// The user is checked on a reader (users are never deleted), so the
	// writer only inserts, and inserts from concurrent requests share a commit.
	if _, err := s.GetUser(ctx, mode, userID); err != nil {
		return nil, err
	}
	err = s.group.do(ctx, func(tx *gorm.DB) error { return insertLinkToken(tx, &tok.LinkToken) })
	if err != nil {
		return nil, fmt.Errorf("refresh token for %s: %w", userID, err)
	}
	return tok, nil
}

// insertLinkToken is the hot insert of token issuing, as plain SQL.
func insertLinkToken(tx *gorm.DB, t *LinkToken) error {
	return tx.Exec(`INSERT INTO link_tokens(id, mode, user_id, token_hash, kid, issued_by, issued_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, string(t.Mode), t.UserID, t.TokenHash, t.Kid, t.IssuedBy, ms(t.IssuedAt), ms(t.ExpiresAt)).Error
}

// GetToken returns the token row with id in mode.
func (s *Store) GetToken(ctx context.Context, mode Mode, id string) (*LinkToken, error) {
	var t LinkToken
	err := s.read(ctx).Scopes(ScopeMode(mode)).Where("id = ?", id).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, NotFound("token", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get token %s: %w", id, err)
	}
	return &t, nil
}

// FindTokenByRaw finds the row of a raw token in any mode (the token
// inspector reports a mode mismatch instead of hiding it). Nil when never issued here.
func (s *Store) FindTokenByRaw(ctx context.Context, raw string) (*LinkToken, error) {
	var t LinkToken
	err := s.read(ctx).Where("token_hash = ?", HashToken(raw)).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find token: %w", err)
	}
	return &t, nil
}

// ListUserTokens returns a user's most recent tokens, newest first.
func (s *Store) ListUserTokens(ctx context.Context, mode Mode, userID string, limit int) ([]LinkToken, error) {
	var ts []LinkToken
	err := s.read(ctx).Scopes(ScopeMode(mode)).Where("user_id = ?", userID).
		Order("issued_at DESC, id DESC").Limit(limit).Find(&ts).Error
	if err != nil {
		return nil, fmt.Errorf("list tokens of %s: %w", userID, err)
	}
	return ts, nil
}

// RevokeToken stops a token from starting the widget. Revoking twice is not an error.
func (s *Store) RevokeToken(ctx context.Context, mode Mode, id, by string) (*LinkToken, error) {
	var t LinkToken
	err := s.write(ctx, func(tx *gorm.DB) error {
		err := tx.Scopes(ScopeMode(mode)).Where("id = ?", id).Take(&t).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return NotFound("token", id)
		}
		if err != nil || t.RevokedAt != nil {
			return err
		}
		now := s.Now()
		t.RevokedAt, t.RevokedBy = &now, by
		return tx.Model(&LinkToken{}).Where("id = ?", id).
			Updates(map[string]any{"revoked_at": ms(now), "revoked_by": by}).Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("revoke token %s: %w", id, err)
	}
	return &t, nil
}

// ConsumeToken marks a raw token used, atomically: of many concurrent calls
// with one token exactly one wins. The reason a token is refused is returned
// as an INVALID_TOKEN error in plain words.
func (s *Store) ConsumeToken(ctx context.Context, raw string) (*LinkToken, error) {
	p := s.ParseToken(raw)
	if !p.SignatureOK {
		return nil, &Error{Code: CodeInvalidToken, Message: "link token refused: " + p.Problem}
	}
	var t LinkToken
	err := s.write(ctx, func(tx *gorm.DB) error {
		err := tx.Where("token_hash = ?", HashToken(raw)).Take(&t).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return &Error{Code: CodeInvalidToken, Message: "link token refused: it was never issued by this server"}
		}
		if err != nil {
			return err
		}
		now := s.Now()
		switch t.Status(now) {
		case TokenRevoked:
			return &Error{Code: CodeInvalidToken, Message: fmt.Sprintf("link token refused: it was revoked at %s", FormatTime(*t.RevokedAt))}
		case TokenConsumed:
			return &Error{Code: CodeInvalidToken, Message: fmt.Sprintf("link token refused: it was already used at %s; issue a new token for every launch", FormatTime(*t.ConsumedAt))}
		case TokenExpired:
			return &Error{Code: CodeInvalidToken, Message: fmt.Sprintf("link token refused: it expired at %s", FormatTime(t.ExpiresAt))}
		}
		res := tx.Model(&LinkToken{}).Where("id = ? AND consumed_at IS NULL", t.ID).Update("consumed_at", ms(now))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return &Error{Code: CodeInvalidToken, Message: "link token refused: it was already used"}
		}
		t.ConsumedAt = &now
		return nil
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("consume token: %w", err)
	}
	return &t, nil
}
