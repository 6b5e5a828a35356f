package models

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Session is one operator's signed-in browser. The row's id is the SHA-256
// of the cookie value, so a copy of the database cannot be used to sign in.
type Session struct {
	ID         string `gorm:"primaryKey"`
	OperatorID string
	Mode       Mode
	CSRFToken  string `gorm:"column:csrf_token"`
	IP         string `gorm:"column:ip"`
	UserAgent  string
	CreatedAt  time.Time  `gorm:"serializer:ms"`
	LastSeenAt time.Time  `gorm:"serializer:ms"`
	ExpiresAt  time.Time  `gorm:"serializer:ms"`
	RevokedAt  *time.Time `gorm:"serializer:ms"`
}

// SessionWithOperator is a session and the operator it belongs to.
type SessionWithOperator struct {
	Session
	Operator Operator
}

// sessionTouchEvery limits writes: the last-seen time moves at most once a
// minute, which is precise enough for an idle timeout counted in minutes.
const sessionTouchEvery = time.Minute

// HashSessionToken is the sessions table id of a cookie value.
func HashSessionToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// CreateSession signs op in: it returns the cookie value (only ever held by
// the browser) and the session row. The session starts in SANDBOX.
func (s *Store) CreateSession(ctx context.Context, op *Operator, ip, userAgent string, idle time.Duration) (string, *Session, error) {
	b := make([]byte, 32)
	if _, err := s.Rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("create session: %w", err)
	}
	raw := base64.RawURLEncoding.EncodeToString(b)
	now := s.Now()
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	sess := &Session{
		ID: HashSessionToken(raw), OperatorID: op.ID, Mode: Sandbox, CSRFToken: randomHex(s.Rand, 24),
		IP: ip, UserAgent: userAgent, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(idle),
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(sess).Error; err != nil {
			return err
		}
		return tx.Model(&Operator{}).Where("id = ?", op.ID).Update("last_login_at", ms(now)).Error
	})
	if err != nil {
		return "", nil, fmt.Errorf("create session for %s: %w", op.Email, err)
	}
	return raw, sess, nil
}

// errNoSession is returned for any cookie that does not lead to a live session.
var errNoSession = &Error{Code: CodeInvalidCredentials, Message: "not signed in, or the session ended"}

// LookupSession returns the live session of a cookie value and its operator,
// and slides its idle expiry forward. Expired, revoked and unknown sessions
// and disabled operators all read as "not signed in".
func (s *Store) LookupSession(ctx context.Context, raw string, idle time.Duration) (*SessionWithOperator, error) {
	if raw == "" || len(raw) > 100 {
		return nil, errNoSession
	}
	var out SessionWithOperator
	err := s.read(ctx).Where("id = ?", HashSessionToken(raw)).Take(&out.Session).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("look up session: %w", err)
	}
	now := s.Now()
	if out.RevokedAt != nil || !now.Before(out.ExpiresAt) {
		return nil, errNoSession
	}
	err = s.read(ctx).Where("id = ?", out.OperatorID).Take(&out.Operator).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && out.Operator.DisabledAt != nil) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("look up session operator: %w", err)
	}
	if now.Sub(out.LastSeenAt) >= sessionTouchEvery {
		out.LastSeenAt, out.ExpiresAt = now, now.Add(idle)
		err := s.write(ctx, func(tx *gorm.DB) error {
			return tx.Model(&Session{}).Where("id = ?", out.ID).
				Updates(map[string]any{"last_seen_at": ms(now), "expires_at": ms(out.ExpiresAt)}).Error
		})
		// A session stays valid until its stored expiry when the disk is
		// full: only the extension is lost, and nobody is signed out.
		if err != nil && !IsDiskFull(err) {
			return nil, fmt.Errorf("touch session: %w", err)
		}
	}
	return &out, nil
}

// SetSessionMode switches the mode a session sees.
func (s *Store) SetSessionMode(ctx context.Context, sessionID string, m Mode) error {
	if !m.Valid() {
		return FieldError("mode", "mode must be SANDBOX or PRODUCTION")
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Session{}).Where("id = ?", sessionID).Update("mode", string(m)).Error
	})
}

// RevokeSession ends a session. A non-admin may end only their own, which
// the caller says by passing their operator id; an empty operatorID ends any.
func (s *Store) RevokeSession(ctx context.Context, sessionID, operatorID string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		q := tx.Model(&Session{}).Where("id = ? AND revoked_at IS NULL", sessionID)
		if operatorID != "" {
			q = q.Where("operator_id = ?", operatorID)
		}
		res := q.Update("revoked_at", ms(s.Now()))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return NotFound("session", sessionID)
		}
		return nil
	})
}

// SessionListItem is a session with its operator's email, for the sessions page.
type SessionListItem struct {
	Session
	Email string
}

// ListLiveSessions lists sessions that are neither revoked nor expired,
// newest first; an empty operatorID lists everyone's.
func (s *Store) ListLiveSessions(ctx context.Context, operatorID string, limit int) ([]SessionListItem, error) {
	q := s.read(ctx).Table("sessions").Select("sessions.*, operators.email AS email").
		Joins("JOIN operators ON operators.id = sessions.operator_id").
		Where("sessions.revoked_at IS NULL AND sessions.expires_at > ?", ms(s.Now()))
	if operatorID != "" {
		q = q.Where("sessions.operator_id = ?", operatorID)
	}
	var rows []SessionListItem
	if err := q.Order("sessions.created_at DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return rows, nil
}

// EndedSessionsKept is how long a session stays in the table after it
// expired or was revoked: long enough to answer "who was signed in from
// where last week", short enough that the table holds only recent browsers.
const EndedSessionsKept = 7 * 24 * time.Hour

// SweepSessions deletes the sessions that expired or were revoked more than
// EndedSessionsKept before now, and says how many. Each run deletes what
// ended since the last one, so its cost follows the sign-in rate, not the
// table's history.
func (s *Store) SweepSessions(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.pruneKind(ctx, "sessions", now.Add(-EndedSessionsKept))
	if err != nil {
		return n, fmt.Errorf("sweep ended sessions: %w", err)
	}
	return n, nil
}
