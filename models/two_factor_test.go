package models_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestTwoFactorSignIn(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	ctx := t.Context()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	op, err := s.CreateOperator(ctx, "ana@example.com", "a-long-enough-password", models.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	en, err := s.BeginTOTP(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(en.Secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("a wrong first code does not turn it on", func(t *testing.T) {
		if _, err := s.ConfirmTOTP(ctx, op, "000000"); models.ErrorCode(err) != models.CodeInvalidParameters {
			t.Fatalf("got %v, want a field error", err)
		}
		if tf, _ := s.TwoFactorOf(ctx, op.ID); tf.Enabled || tf.PendingSecret != en.Secret {
			t.Fatalf("state %+v", tf)
		}
	})
	codes, err := s.ConfirmTOTP(ctx, op, code(now))
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != models.RecoveryCodeCount {
		t.Fatalf("%d recovery codes", len(codes))
	}
	t.Run("the secret is sealed at rest", func(t *testing.T) {
		var stored string
		if err := s.R.Raw("SELECT secret FROM operator_totp WHERE operator_id = ?", op.ID).Row().Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stored, "sealed:") || strings.Contains(stored, en.Secret) {
			t.Fatalf("stored as %q", stored)
		}
	})
	t.Run("a new enrolment is refused while it is on", func(t *testing.T) {
		if _, err := s.BeginTOTP(ctx, op); models.ErrorCode(err) != models.CodeConflict {
			t.Fatalf("got %v", err)
		}
	})
	signIn := func(c string) (*models.SecondFactor, error) {
		raw, err := s.StartLoginChallenge(ctx, op, "/users")
		if err != nil {
			t.Fatal(err)
		}
		return s.FinishLoginChallenge(ctx, raw, c)
	}
	t.Run("the code of the enrolment's step cannot sign in again", func(t *testing.T) {
		if _, err := signIn(code(now)); err == nil {
			t.Fatal("a code already used signed in")
		}
	})
	now = now.Add(30 * time.Second)
	t.Run("the next step's code signs in once", func(t *testing.T) {
		sf, err := signIn(code(now))
		if err != nil || sf.Operator.ID != op.ID || sf.Next != "/users" || sf.RecoveryCode {
			t.Fatalf("got %+v, %v", sf, err)
		}
		if _, err := signIn(code(now)); err == nil {
			t.Fatal("the same code signed in twice")
		}
	})
	t.Run("a recovery code works once, typed in any case", func(t *testing.T) {
		sf, err := signIn(" " + bytesUpper(codes[0]) + " ")
		if err != nil || !sf.RecoveryCode || sf.RecoveryLeft != models.RecoveryCodeCount-1 {
			t.Fatalf("got %+v, %v", sf, err)
		}
		if _, err := signIn(codes[0]); err == nil {
			t.Fatal("a spent recovery code signed in")
		}
	})
	t.Run("a sign-in allows five wrong codes, then must start over", func(t *testing.T) {
		raw, _ := s.StartLoginChallenge(ctx, op, "")
		for range 5 {
			if _, err := s.FinishLoginChallenge(ctx, raw, "123456"); err == nil {
				t.Fatal("a wrong code passed")
			}
		}
		now = now.Add(30 * time.Second)
		if sf, err := s.FinishLoginChallenge(ctx, raw, code(now)); err == nil || !sf.TriesExceeded {
			t.Fatalf("the right code passed after five wrong ones: %+v %v", sf, err)
		}
	})
	t.Run("a sign-in expires", func(t *testing.T) {
		raw, _ := s.StartLoginChallenge(ctx, op, "")
		now = now.Add(models.LoginChallengeTTL + time.Minute)
		if _, err := s.FinishLoginChallenge(ctx, raw, code(now)); err == nil {
			t.Fatal("an expired sign-in passed")
		}
	})
	t.Run("turning it off removes secret and codes", func(t *testing.T) {
		if removed, err := s.TurnOffTwoFactor(ctx, op.ID); err != nil || !removed {
			t.Fatalf("%v %v", removed, err)
		}
		if tf, _ := s.TwoFactorOf(ctx, op.ID); tf.Enabled || tf.PendingSecret != "" || tf.RecoveryLeft != 0 {
			t.Fatalf("state %+v", tf)
		}
	})
}

func bytesUpper(s string) string { return string(bytes.ToUpper([]byte(s))) }
