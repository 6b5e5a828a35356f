package models

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Role is what an operator may do in the console. Roles are ordered: each
// may do everything the roles below it may.
type Role string

const (
	RoleSupport   Role = "support"   // read everything, refresh tokens, resend deliveries
	RoleDeveloper Role = "developer" // plus users, tokens, endpoints and API keys
	RoleAdmin     Role = "admin"     // plus operators
)

// Roles lists the roles from the most to the least powerful.
var Roles = []Role{RoleAdmin, RoleDeveloper, RoleSupport}

func (r Role) rank() int {
	switch r {
	case RoleSupport:
		return 1
	case RoleDeveloper:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r may do what min may.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// ParseRole reads a role name in any letter case.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", FieldError("role", "role must be admin, developer or support, got %q", truncate(s, 30))
	}
	return r, nil
}

// Operator is a person who signs in to the console.
type Operator struct {
	ID           string `gorm:"primaryKey"`
	Email        string
	PasswordHash string
	Role         Role
	CreatedAt    time.Time  `gorm:"serializer:ms"`
	LastLoginAt  *time.Time `gorm:"serializer:ms"`
	DisabledAt   *time.Time `gorm:"serializer:ms"`
	TimeZone     string     // IANA name the console shows their times in; UTC by default
}

// Password rules: long enough to resist guessing, short enough for bcrypt,
// which reads at most 72 bytes.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 72
)

// ValidateOperatorInput checks an email, a password and a role, reporting
// every problem beside its field.
func ValidateOperatorInput(email, password string, role Role) FieldErrors {
	fe := FieldErrors{}
	email = strings.TrimSpace(email)
	switch addr, err := mail.ParseAddress(email); {
	case email == "":
		fe.Add("email", "email is required")
	case len(email) > 200:
		fe.Add("email", "email is longer than 200 characters")
	case err != nil || addr.Address != email:
		fe.Add("email", "email must be a plain address like ana@example.com")
	}
	if msg := PasswordProblem(password); msg != "" {
		fe.Add("password", msg)
	}
	if !role.Valid() {
		fe.Add("role", "role must be admin, developer or support")
	}
	return fe
}

// PasswordProblem says what is wrong with a new password, or "" when it will do.
func PasswordProblem(password string) string {
	switch {
	case len(password) < MinPasswordLen:
		return fmt.Sprintf("password must be at least %d characters", MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return fmt.Sprintf("password must be at most %d bytes", MaxPasswordLen)
	}
	return ""
}

// CreateOperator adds an operator with a bcrypt hash of password.
func (s *Store) CreateOperator(ctx context.Context, email, password string, role Role) (*Operator, error) {
	email = strings.TrimSpace(email)
	if fe := ValidateOperatorInput(email, password, role); len(fe) > 0 {
		return nil, fe.Err()
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	op := &Operator{ID: "op-" + randomHex(s.Rand, 12), Email: email, PasswordHash: string(hash), Role: role, CreatedAt: s.Now()}
	exists := &Error{Code: CodeConflict, Field: "email", Message: fmt.Sprintf("an operator with email %s already exists", email)}
	err = s.write(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Operator{}).Where("email = ?", email).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return exists
		}
		// Another instance may insert the same e-mail between the count and
		// the insert: the unique index refuses the second, which is the
		// same conflict.
		if err := tx.Create(op).Error; err != nil {
			if isUniqueViolation(err) {
				return exists
			}
			return err
		}
		return nil
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("create operator %s: %w", email, err)
	}
	return op, nil
}

// HasOperators reports whether any operator exists, disabled or not.
func (s *Store) HasOperators(ctx context.Context) (bool, error) {
	var n int64
	if err := s.read(ctx).Raw("SELECT COUNT(*) FROM (SELECT 1 FROM operators LIMIT 1) AS one").Scan(&n).Error; err != nil {
		return false, fmt.Errorf("look for operators: %w", err)
	}
	return n > 0, nil
}

// ListOperators lists every operator, oldest first: the team is small.
func (s *Store) ListOperators(ctx context.Context) ([]Operator, error) {
	var ops []Operator
	if err := s.read(ctx).Order("created_at, id").Find(&ops).Error; err != nil {
		return nil, fmt.Errorf("list operators: %w", err)
	}
	return ops, nil
}

// GetOperator returns the operator with id.
func (s *Store) GetOperator(ctx context.Context, id string) (*Operator, error) {
	var op Operator
	err := s.read(ctx).Where("id = ?", id).Take(&op).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, NotFound("operator", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get operator %s: %w", id, err)
	}
	return &op, nil
}

// DisableOperator stops an operator from signing in (by id or email) and
// ends their sessions, in one transaction. Disabling twice is not an error.
func (s *Store) DisableOperator(ctx context.Context, idOrEmail string) (*Operator, error) {
	var op Operator
	err := s.write(ctx, func(tx *gorm.DB) error {
		err := tx.Where("id = ? OR email = ?", idOrEmail, strings.TrimSpace(idOrEmail)).Take(&op).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return NotFound("operator", idOrEmail)
		}
		if err != nil {
			return err
		}
		now := s.Now()
		if err := refuseLastAdmin(tx, &op, "disable"); err != nil {
			return err
		}
		if op.DisabledAt == nil {
			op.DisabledAt = &now
			if err := tx.Model(&Operator{}).Where("id = ?", op.ID).Update("disabled_at", ms(now)).Error; err != nil {
				return err
			}
		}
		return tx.Model(&Session{}).Where("operator_id = ? AND revoked_at IS NULL", op.ID).Update("revoked_at", ms(now)).Error
	})
	if err != nil {
		if e, ok := AsError(err); ok {
			return nil, e
		}
		return nil, fmt.Errorf("disable operator %s: %w", idOrEmail, err)
	}
	return &op, nil
}

// errSignInRefused reads the same for an unknown email, a wrong password and
// a disabled operator, so the form does not tell which emails exist.
var errSignInRefused = &Error{Code: CodeInvalidCredentials, Field: "password", Message: "the email or password is not right"}

// dummyHash is compared against when the email is unknown, so a sign-in
// takes as long whether or not the operator exists.
var dummyHash = []byte("$2a$10$OQvOrP4MxGtL1GfXN177yuuZ0zFQ2ku28nRI5ywwPEvquTgIKiRte")

// Reasons CheckOperatorPassword gives for a refusal that are about what was
// typed as the e-mail rather than about an operator.
const (
	SignInMalformed    = "malformed input"
	SignInUnknownEmail = "unknown email"
)

// CheckOperatorPassword returns the operator whose email and password match.
// The reason for a refusal is returned separately, for the log only.
func (s *Store) CheckOperatorPassword(ctx context.Context, email, password string) (*Operator, string, error) {
	email = strings.TrimSpace(email)
	if email == "" || len(email) > 200 || len(password) > MaxPasswordLen {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, SignInMalformed, errSignInRefused
	}
	var op Operator
	err := s.read(ctx).Where("email = ?", email).Take(&op).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, SignInUnknownEmail, errSignInRefused
	}
	if err != nil {
		return nil, "", fmt.Errorf("sign in: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(op.PasswordHash), []byte(password)) != nil {
		return nil, "wrong password", errSignInRefused
	}
	if op.DisabledAt != nil {
		return nil, "operator disabled", errSignInRefused
	}
	return &op, "", nil
}
