package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// RefreshToken issues a new link token for an existing user of mode. A zero
// ttl uses the configured lifetime.
func (s *Store) RefreshToken(ctx context.Context, mode Mode, userID, issuedBy string, ttl time.Duration) (*IssuedToken, error) {
	return s.refreshToken(ctx, mode, userID, issuedBy, ttl, nil)
}

// RefreshTokenWithKey issues a link token for the API: for userID in the
// key's mode, issued by the key, written only if the key is still what it
// was when its secret was verified (unrevoked, same secret and mode), in
// the same statement as the insert. So the key need not be read before
// (AuthenticateCached), and a key revoked through any instance is refused
// at once: INVALID_CREDENTIALS, as Authenticate answers.
func (s *Store) RefreshTokenWithKey(ctx context.Context, key *APIKey, userID string) (*IssuedToken, error) {
	return s.refreshToken(ctx, key.Mode, userID, "api:"+key.Key, 0, key)
}

func (s *Store) refreshToken(ctx context.Context, mode Mode, userID, issuedBy string, ttl time.Duration, key *APIKey) (*IssuedToken, error) {
	if problem := checkUserID(userID); problem != nil {
		// Refused before the insert could check the key: a key that is no
		// longer live hears that first, as from a guard that read it.
		if key != nil {
			if err := s.whyKeyRefused(ctx, key); err != nil {
				return nil, err
			}
		}
		return nil, problem
	}
	tok, err := s.newToken(mode, userID, issuedBy, ttl, s.Now())
	if err != nil {
		return nil, fmt.Errorf("refresh token for %s: %w", userID, err)
	}
	// The user (and the key) are checked by the insert itself: one
	// statement instead of reads and a write (round trips fewer on
	// PostgreSQL). Users are never deleted, so a user found is a user that
	// stays.
	in := &tokenInsert{token: &tok.LinkToken, key: key}
	if err := s.tokens.do(ctx, in); err != nil {
		return nil, fmt.Errorf("refresh token for %s: %w", userID, err)
	}
	if !in.inserted {
		if key != nil {
			if err := s.whyKeyRefused(ctx, key); err != nil {
				return nil, err
			}
		}
		return nil, NotFound("user", userID)
	}
	return tok, nil
}

func checkUserID(userID string) *Error {
	if userID == "" {
		return FieldError("userId", "userId is required")
	}
	if len(userID) > 200 {
		return FieldError("userId", "userId is longer than 200 characters")
	}
	return nil
}

// tokenInsert is one token waiting for the group commit, the API key it
// is issued with (nil from the console), and, once written, whether its
// user was one of the mode's users and its key still live.
type tokenInsert struct {
	token    *LinkToken
	key      *APIKey
	inserted bool
}

// sqlInsertTokens is the hot insert of token issuing: the tokens of
// concurrent requests in one statement, from one JSON array (one text for
// every batch size, so it is prepared once per connection), each row written only when
// its user is one of its mode's users and, when it carries an API key
// (elements 8 and 9: its id and secret hash), that key is unrevoked with
// the same secret and mode. The key's condition is the one keyStillLive
// checks in Go.
const sqlInsertTokens = `INSERT INTO link_tokens(id, mode, user_id, token_hash, kid, issued_by, issued_at, expires_at)
SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7 FROM jsonb_each(?) AS v
WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = v.value->>2 AND u.mode = v.value->>1)
	AND (v.value->>8 = '' OR EXISTS (SELECT 1 FROM api_keys k WHERE k.id = v.value->>8
		AND k.secret_hash = v.value->>9 AND k.mode = v.value->>1 AND k.revoked_at IS NULL))
RETURNING id`

// insertLinkTokens writes a batch of tokens with sqlInsertTokens.
func (s *Store) insertLinkTokens(tx *gorm.DB, ins []*tokenInsert) error {
	doc := appendTokensJSON(make([]byte, 0, 400*len(ins)), ins)
	rows, err := tx.Raw(s.d.gormSQL(sqlInsertTokens), string(doc)).Rows() // a []byte would be expanded into a list
	if err != nil {
		return err
	}
	defer rows.Close()
	written := make(map[string]bool, len(ins))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		written[id] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, in := range ins {
		in.inserted = written[in.token.ID]
	}
	return rows.Close()
}

// appendTokensJSON writes the batch as the JSON array of arrays that
// sqlInsertTokens reads.
func appendTokensJSON(b []byte, ins []*tokenInsert) []byte {
	b = append(b, '[')
	for i, in := range ins {
		if i > 0 {
			b = append(b, ',')
		}
		t := in.token
		b = append(b, '[')
		b = appendLogStrings(b, t.ID, string(t.Mode), t.UserID, t.TokenHash, t.Kid, t.IssuedBy)
		b = append(b, ',')
		b = strconv.AppendInt(b, ms(t.IssuedAt), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, ms(t.ExpiresAt), 10)
		var keyID, secretHash string
		if in.key != nil {
			keyID, secretHash = in.key.ID, in.key.SecretHash
		}
		b = append(b, ',')
		b = appendLogString(b, keyID)
		b = append(b, ',')
		b = appendLogString(b, secretHash)
		b = append(b, ']')
	}
	return append(b, ']')
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
	id := tokenRowID(raw)
	if id == "" {
		return nil, nil
	}
	var t LinkToken
	err := s.read(ctx).Where("id = ? AND token_hash = ?", id, HashToken(raw)).Take(&t).Error
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
		err := tx.Where("id = ? AND token_hash = ?", p.Claims.ID, HashToken(raw)).Take(&t).Error
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
