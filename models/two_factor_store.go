package models

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"

	"gorm.io/gorm"
)

// TwoFactorOf tells whether the operator signs in with a second factor, and
// during an enrolment the secret waiting for its first code.
func (s *Store) TwoFactorOf(ctx context.Context, operatorID string) (*TwoFactor, error) {
	var t operatorTOTP
	err := s.read(ctx).Where("operator_id = ?", operatorID).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return &TwoFactor{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read two-factor of %s: %w", operatorID, err)
	}
	tf := &TwoFactor{Enabled: t.EnabledAt != nil, EnabledAt: t.EnabledAt}
	if !tf.Enabled {
		tf.PendingSecret = t.Secret
		return tf, nil
	}
	var left int64
	if err := s.read(ctx).Model(&recoveryCode{}).Where("operator_id = ? AND used_at IS NULL", operatorID).Count(&left).Error; err != nil {
		return nil, fmt.Errorf("count recovery codes of %s: %w", operatorID, err)
	}
	tf.RecoveryLeft = int(left)
	return tf, nil
}

// BeginTOTP starts an enrolment: a new secret, kept until its first code
// confirms it. An operator who already uses two-factor sign-in turns it off
// first, so a borrowed session cannot swap their secret silently.
func (s *Store) BeginTOTP(ctx context.Context, op *Operator) (*TOTPEnrolment, error) {
	key, err := newTOTPKey(op.Email, s.Rand)
	if err != nil {
		return nil, fmt.Errorf("new TOTP secret: %w", err)
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		var t operatorTOTP
		err := tx.Where("operator_id = ?", op.ID).Take(&t).Error
		switch {
		case err == nil && t.EnabledAt != nil:
			return Errorf(CodeConflict, "two-factor sign-in is already on for %s; turn it off first to use another device", op.Email)
		case err != nil && !errors.Is(err, gorm.ErrRecordNotFound):
			return err
		}
		return tx.Save(&operatorTOTP{OperatorID: op.ID, Secret: key.Secret(), CreatedAt: s.Now()}).Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("begin two-factor enrolment of %s: %w", op.Email, err)
	}
	return &TOTPEnrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// TOTPURL is the otpauth:// URL of a secret waiting for its first code.
// It is the Key URI Format authenticator apps read from a QR code.
func TOTPURL(email, secret string) string {
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + totpIssuer + ":" + email, RawQuery: url.Values{
		"secret": {secret}, "issuer": {totpIssuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"},
	}.Encode()}
	return u.String()
}

// ConfirmTOTP turns two-factor sign-in on with the first code of the
// pending secret, and returns the recovery codes, to be shown once.
func (s *Store) ConfirmTOTP(ctx context.Context, op *Operator, code string) ([]string, error) {
	codes, hashes, err := newRecoveryCodes(s.Rand)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		var t operatorTOTP
		if err := tx.Where("operator_id = ? AND enabled_at IS NULL", op.ID).Take(&t).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return Errorf(CodeConflict, "there is no enrolment waiting for a code; start again")
		} else if err != nil {
			return err
		}
		now := s.Now()
		step := matchTOTP(t.Secret, code, now, 0)
		if step == 0 {
			return FieldError("code", "that code does not match; type the 6 digits your app shows now")
		}
		if err := tx.Model(&operatorTOTP{}).Where("operator_id = ?", op.ID).
			Updates(map[string]any{"enabled_at": ms(now), "last_step": step}).Error; err != nil {
			return err
		}
		return replaceRecoveryCodes(tx, op.ID, hashes)
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("confirm two-factor of %s: %w", op.Email, err)
	}
	return codes, nil
}

// NewRecoveryCodes replaces an operator's recovery codes; the old ones stop working.
func (s *Store) NewRecoveryCodes(ctx context.Context, op *Operator) ([]string, error) {
	codes, hashes, err := newRecoveryCodes(s.Rand)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&operatorTOTP{}).Where("operator_id = ? AND enabled_at IS NOT NULL", op.ID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return Errorf(CodeConflict, "two-factor sign-in is off for %s", op.Email)
		}
		return replaceRecoveryCodes(tx, op.ID, hashes)
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("new recovery codes for %s: %w", op.Email, err)
	}
	return codes, nil
}

func replaceRecoveryCodes(tx *gorm.DB, operatorID string, hashes []string) error {
	if err := tx.Where("operator_id = ?", operatorID).Delete(&recoveryCode{}).Error; err != nil {
		return err
	}
	rows := make([]recoveryCode, len(hashes))
	for i, h := range hashes {
		rows[i] = recoveryCode{OperatorID: operatorID, CodeHash: h}
	}
	return tx.Create(&rows).Error
}

// TurnOffTwoFactor removes an operator's secret and recovery codes (their
// own choice, or an admin's reset for one who lost their device). It says
// whether there was anything to remove.
func (s *Store) TurnOffTwoFactor(ctx context.Context, operatorID string) (bool, error) {
	var removed int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Where("operator_id = ?", operatorID).Delete(&operatorTOTP{})
		if res.Error != nil {
			return res.Error
		}
		removed = res.RowsAffected
		if err := tx.Where("operator_id = ?", operatorID).Delete(&recoveryCode{}).Error; err != nil {
			return err
		}
		return tx.Where("operator_id = ?", operatorID).Delete(&loginChallenge{}).Error
	})
	if err != nil {
		return false, fmt.Errorf("turn off two-factor of %s: %w", operatorID, err)
	}
	return removed > 0, nil
}

// TwoFactorRequired tells whether every operator must sign in with a second factor.
// Read from the reader pool: the console asks on every request.
func (s *Store) TwoFactorRequired(ctx context.Context) (bool, error) {
	var n int64
	err := s.read(ctx).Model(&Setting{}).Where("key = ? AND value = 'true'", SettingRequireTwoFactor).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("read the two-factor requirement: %w", err)
	}
	return n > 0, nil
}

// RequireTwoFactor sets whether every operator must use two-factor sign-in.
func (s *Store) RequireTwoFactor(ctx context.Context, on bool) error {
	v := "false"
	if on {
		v = "true"
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Save(&Setting{Key: SettingRequireTwoFactor, Value: v}).Error
	})
}

// StartLoginChallenge records a sign-in whose password was right and that
// waits for its code; the returned value goes in a cookie.
func (s *Store) StartLoginChallenge(ctx context.Context, op *Operator, next string) (string, error) {
	b := make([]byte, 32)
	if _, err := s.Rand.Read(b); err != nil {
		return "", fmt.Errorf("start sign-in challenge: %w", err)
	}
	raw := base64.RawURLEncoding.EncodeToString(b)
	now := s.Now()
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("expires_at < ?", ms(now)).Delete(&loginChallenge{}).Error; err != nil {
			return err
		}
		return tx.Create(&loginChallenge{ID: HashSessionToken(raw), OperatorID: op.ID, Next: next,
			CreatedAt: now, ExpiresAt: now.Add(LoginChallengeTTL)}).Error
	})
	if err != nil {
		return "", fmt.Errorf("start sign-in challenge for %s: %w", op.Email, err)
	}
	return raw, nil
}

// errNoChallenge: the cookie leads to no sign-in waiting for a code.
var errNoChallenge = &Error{Code: CodeInvalidCredentials, Message: "the sign-in expired; type your password again"}

// ChallengedOperator is the operator a waiting sign-in belongs to.
func (s *Store) ChallengedOperator(ctx context.Context, raw string) (*Operator, error) {
	var ch loginChallenge
	err := s.read(ctx).Where("id = ? AND expires_at >= ?", HashSessionToken(raw), ms(s.Now())).Take(&ch).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || raw == "" {
		return nil, errNoChallenge
	}
	if err != nil {
		return nil, fmt.Errorf("read sign-in challenge: %w", err)
	}
	var op Operator
	if err := s.read(ctx).Where("id = ? AND disabled_at IS NULL", ch.OperatorID).Take(&op).Error; err != nil {
		return nil, errNoChallenge
	}
	return &op, nil
}

// SecondFactor is how a waiting sign-in was completed.
type SecondFactor struct {
	Operator      *Operator
	Next          string
	RecoveryCode  bool // a recovery code was used (and is now spent)
	RecoveryLeft  int
	TriesExceeded bool
}

// FinishLoginChallenge checks the code (or a recovery code) of a waiting
// sign-in. On success the challenge is gone and the caller starts the
// session; a code is spent in the same transaction that accepts it, so two
// sign-ins racing with one code cannot both pass.
func (s *Store) FinishLoginChallenge(ctx context.Context, raw, code string) (*SecondFactor, error) {
	var out SecondFactor
	var refused error
	err := s.write(ctx, func(tx *gorm.DB) error {
		now := s.Now()
		var ch loginChallenge
		err := tx.Where("id = ? AND expires_at >= ?", HashSessionToken(raw), ms(now)).Take(&ch).Error
		if errors.Is(err, gorm.ErrRecordNotFound) || raw == "" {
			refused = errNoChallenge
			return nil
		} else if err != nil {
			return err
		}
		if ch.Tries >= loginChallengeTries {
			out.TriesExceeded = true
			refused = errNoChallenge
			return tx.Where("id = ?", ch.ID).Delete(&loginChallenge{}).Error
		}
		var op Operator
		if err := tx.Where("id = ? AND disabled_at IS NULL", ch.OperatorID).Take(&op).Error; err != nil {
			refused = errNoChallenge
			return nil
		}
		var t operatorTOTP
		if err := tx.Where("operator_id = ? AND enabled_at IS NOT NULL", op.ID).Take(&t).Error; err != nil {
			refused = errNoChallenge
			return nil
		}
		ok := false
		if step := matchTOTP(t.Secret, code, now, t.LastStep); step > 0 {
			res := tx.Model(&operatorTOTP{}).Where("operator_id = ? AND last_step < ?", op.ID, step).Update("last_step", step)
			ok = res.Error == nil && res.RowsAffected == 1
			if res.Error != nil {
				return res.Error
			}
		} else {
			res := tx.Model(&recoveryCode{}).Where("operator_id = ? AND code_hash = ? AND used_at IS NULL", op.ID, hashRecoveryCode(code)).
				Update("used_at", ms(now))
			if res.Error != nil {
				return res.Error
			}
			ok, out.RecoveryCode = res.RowsAffected == 1, res.RowsAffected == 1
		}
		if !ok {
			refused = errSecondFactor
			return tx.Model(&loginChallenge{}).Where("id = ?", ch.ID).Update("tries", gorm.Expr("tries + 1")).Error
		}
		if out.RecoveryCode {
			var left int64
			if err := tx.Model(&recoveryCode{}).Where("operator_id = ? AND used_at IS NULL", op.ID).Count(&left).Error; err != nil {
				return err
			}
			out.RecoveryLeft = int(left)
		}
		out.Operator, out.Next = &op, ch.Next
		return tx.Where("id = ?", ch.ID).Delete(&loginChallenge{}).Error
	})
	if err != nil {
		return nil, fmt.Errorf("check second factor: %w", err)
	}
	if refused != nil {
		return &out, refused
	}
	return &out, nil
}
