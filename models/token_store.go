package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// The user is checked by the insert itself: one statement instead of a
	// read and a write (a round trip fewer on PostgreSQL). Users are never
	// deleted, so a user found is a user that stays.
	in := &tokenInsert{token: &tok.LinkToken}
	if err := s.tokens.do(ctx, in); err != nil {
		return nil, fmt.Errorf("refresh token for %s: %w", userID, err)
	}
	if !in.inserted {
		return nil, NotFound("user", userID)
	}
	return tok, nil
}

// tokenInsert is one token waiting for the group commit, and, once
// written, whether its user was one of the mode's users.
type tokenInsert struct {
	token    *LinkToken
	inserted bool
}

// insertLinkTokens is the hot insert of token issuing: the tokens of
// concurrent requests in one statement, each written only when its user
// is one of its mode's users. (VALUES names its columns column1, column2…
// on both databases; the casts tell PostgreSQL the times are numbers.)
func insertLinkTokens(tx *gorm.DB, ins []*tokenInsert) error {
	var q strings.Builder
	q.WriteString(`INSERT INTO link_tokens(id, mode, user_id, token_hash, kid, issued_by, issued_at, expires_at)
		SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8 FROM (VALUES `)
	args := make([]any, 0, 8*len(ins))
	for i, in := range ins {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT))")
		t := in.token
		args = append(args, t.ID, string(t.Mode), t.UserID, t.TokenHash, t.Kid, t.IssuedBy, ms(t.IssuedAt), ms(t.ExpiresAt))
	}
	q.WriteString(`) AS v WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = v.column3 AND u.mode = v.column2) RETURNING id`)
	var ids []string
	if err := tx.Raw(q.String(), args...).Scan(&ids).Error; err != nil {
		return err
	}
	for _, in := range ins {
		in.inserted = slices.Contains(ids, in.token.ID)
	}
	return nil
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

// TokenRefusal says in one word why a link token was refused, so a client
// can react without parsing the message: the widget fires onTokenExpired on
// EXPIRED and shows an error screen for the others.
type TokenRefusal string

const (
	RefusedMissing   TokenRefusal = "MISSING"    // the request carried no token at all
	RefusedInvalid   TokenRefusal = "INVALID"    // unreadable, tampered or signed with an unknown key
	RefusedNotIssued TokenRefusal = "NOT_ISSUED" // well signed but no row: issued by another database
	RefusedRevoked   TokenRefusal = "REVOKED"    // an operator revoked it
	RefusedUsed      TokenRefusal = "USED"       // a widget launch consumed it already
	RefusedExpired   TokenRefusal = "EXPIRED"    // its lifetime is over
)

// TokenRefusedError is the INVALID_TOKEN error of ConsumeToken with its
// reason. It unwraps to the *Error, so code that only knows the error
// vocabulary (AsError, the envelope) handles it unchanged.
type TokenRefusedError struct {
	Reason TokenRefusal
	Err    *Error
	// At is when the token was used, expired or was revoked, where that is
	// the reason: the widget says it to people in their own time.
	At *time.Time
}

func (e *TokenRefusedError) Error() string { return e.Err.Error() }
func (e *TokenRefusedError) Unwrap() error { return e.Err }

func refusedAt(reason TokenRefusal, at time.Time, format string, args ...any) *TokenRefusedError {
	r := refused(reason, format, args...)
	r.At = &at
	return r
}

func refused(reason TokenRefusal, format string, args ...any) *TokenRefusedError {
	return &TokenRefusedError{Reason: reason, Err: Errorf(CodeInvalidToken, "link token refused: "+format, args...)}
}

// ConsumeToken marks a raw token used, atomically: of many concurrent calls
// with one token exactly one wins. A refused token comes back as a
// *TokenRefusedError (an INVALID_TOKEN error saying why, in plain words).
//
// Two things make it atomic. The writer pool has one connection and begins
// transactions IMMEDIATE, so the read and the update below run under the
// write lock with no other writer in between, even from another process.
// And the update is conditional on consumed_at still being empty, so the
// guarantee survives a database (PostgreSQL) where transactions interleave.
func (s *Store) ConsumeToken(ctx context.Context, raw string) (*LinkToken, error) {
	p := s.ParseToken(raw)
	if !p.SignatureOK {
		return nil, refused(RefusedInvalid, "%s", p.Problem)
	}
	var t LinkToken
	err := s.write(ctx, func(tx *gorm.DB) error {
		err := tx.Where("token_hash = ?", HashToken(raw)).Take(&t).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return refused(RefusedNotIssued, "it was never issued by this server (was the database replaced?)")
		}
		if err != nil {
			return err
		}
		now := s.Now()
		switch t.Status(now) {
		case TokenRevoked:
			return refusedAt(RefusedRevoked, *t.RevokedAt, "it was revoked at %s", FormatTime(*t.RevokedAt))
		case TokenConsumed:
			return usedError(t.ConsumedAt)
		case TokenExpired:
			return refusedAt(RefusedExpired, t.ExpiresAt, "it expired at %s", FormatTime(t.ExpiresAt))
		}
		res := tx.Model(&LinkToken{}).Where("id = ? AND consumed_at IS NULL AND revoked_at IS NULL", t.ID).Update("consumed_at", ms(now))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			// Another transaction consumed or revoked it between our read
			// and our update; read back which and when, so the message is
			// as precise as the ordinary one.
			var again LinkToken
			if err := tx.Where("id = ?", t.ID).Take(&again).Error; err != nil {
				return err
			}
			if again.RevokedAt != nil && again.ConsumedAt == nil {
				return refusedAt(RefusedRevoked, *again.RevokedAt, "it was revoked at %s", FormatTime(*again.RevokedAt))
			}
			return usedError(again.ConsumedAt)
		}
		t.ConsumedAt = &now
		return nil
	})
	if err != nil {
		var r *TokenRefusedError
		if errors.As(err, &r) {
			return nil, r
		}
		return nil, fmt.Errorf("consume token: %w", err)
	}
	return &t, nil
}

func usedError(at *time.Time) *TokenRefusedError {
	if at == nil {
		return refused(RefusedUsed, "it was already used; issue a new token for every launch")
	}
	return refusedAt(RefusedUsed, *at, "it was already used at %s; issue a new token for every launch", FormatTime(*at))
}
