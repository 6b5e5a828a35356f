package models

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Two-factor sign-in: a time-based one-time password (TOTP, RFC 6238, through
// github.com/pquerna/otp) after the password, or one of ten recovery codes.
//
// The TOTP secret is sealed at rest like the other secrets (seal.go). A
// code is accepted once: the time step it was made in is kept, and a code of
// that step or an earlier one is refused, so a code seen over a shoulder or
// in a proxy's log cannot be replayed. Recovery codes are stored as SHA-256
// hashes (they are 50 random bits each, so a fast hash is enough) and each
// works once.

// TOTPPeriod and TOTPSkew are RFC 6238's defaults: 30-second steps, and one
// step either side accepted for clocks that drift.
const (
	TOTPPeriod        = 30
	TOTPSkew          = 1
	RecoveryCodeCount = 10
	// LoginChallengeTTL is how long the code may be typed after the password.
	LoginChallengeTTL = 5 * time.Minute
	// loginChallengeTries bounds the codes tried in one sign-in; the
	// sign-in throttle bounds them across sign-ins.
	loginChallengeTries = 5
	totpIssuer          = "tokendesk"
)

// SettingRequireTwoFactor is the settings key of "every operator must use two-factor sign-in".
const SettingRequireTwoFactor = "require_two_factor"

// operatorTOTP is an operator's TOTP secret; EnabledAt is nil while the
// enrolment waits for its first code.
type operatorTOTP struct {
	OperatorID string     `gorm:"primaryKey"`
	Secret     string     `gorm:"serializer:sealed"`
	CreatedAt  time.Time  `gorm:"serializer:ms"`
	EnabledAt  *time.Time `gorm:"serializer:ms"`
	LastStep   int64
}

func (operatorTOTP) TableName() string { return "operator_totp" }

type recoveryCode struct {
	OperatorID string     `gorm:"primaryKey"`
	CodeHash   string     `gorm:"primaryKey"`
	UsedAt     *time.Time `gorm:"serializer:ms"`
}

func (recoveryCode) TableName() string { return "recovery_codes" }

// loginChallenge is a sign-in that passed the password and waits for the
// second factor. Its id is the SHA-256 of the cookie value.
type loginChallenge struct {
	ID         string `gorm:"primaryKey"`
	OperatorID string
	Next       string
	CreatedAt  time.Time `gorm:"serializer:ms"`
	ExpiresAt  time.Time `gorm:"serializer:ms"`
	Tries      int
}

func (loginChallenge) TableName() string { return "login_challenges" }

// TwoFactor is what the console shows of an operator's second factor.
type TwoFactor struct {
	Enabled       bool
	EnabledAt     *time.Time
	RecoveryLeft  int
	PendingSecret string // during enrolment only: the secret to type or scan
	PendingURL    string // its otpauth:// URL, for the QR code
}

// TOTPEnrolment is a new secret waiting for its first code.
type TOTPEnrolment struct {
	Secret string // base32, as authenticator apps take it typed
	URL    string // otpauth:// URL, what the QR code holds
}

func newTOTPKey(email string, rand io.Reader) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: email, Period: TOTPPeriod, Rand: rand})
}

// totpStep is the step a code made now belongs to.
func totpStep(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// matchTOTP returns the step of the code among the ones accepted around now
// (newest first), or 0 when it matches none after lastStep.
func matchTOTP(secret, code string, now time.Time, lastStep int64) int64 {
	code = strings.TrimSpace(strings.ReplaceAll(code, " ", ""))
	if len(code) != 6 {
		return 0
	}
	for d := TOTPSkew; d >= -TOTPSkew; d-- {
		step := totpStep(now) + int64(d)
		if step <= lastStep {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*TOTPPeriod, 0), totp.ValidateOpts{
			Period: TOTPPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
		})
		if err == nil && want == code {
			return step
		}
	}
	return 0
}

// newRecoveryCodes makes the codes shown once and their hashes to keep.
func newRecoveryCodes(rand io.Reader) (codes, hashes []string, err error) {
	for range RecoveryCodeCount {
		b := make([]byte, 7)
		if _, err := io.ReadFull(rand, b); err != nil {
			return nil, nil, fmt.Errorf("recovery codes: %w", err)
		}
		s := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:10]
		code := s[:5] + "-" + s[5:]
		codes = append(codes, code)
		hashes = append(hashes, hashRecoveryCode(code))
	}
	return codes, hashes, nil
}

// hashRecoveryCode ignores case, spaces and dashes, as people type them.
func hashRecoveryCode(code string) string {
	c := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	sum := sha256.Sum256([]byte("tokendesk recovery code\x00" + c))
	return hex.EncodeToString(sum[:])
}

// errSecondFactor reads the same for a wrong, reused or expired code.
var errSecondFactor = &Error{Code: CodeInvalidCredentials, Field: "code", Message: "that code is not right, or was already used"}
