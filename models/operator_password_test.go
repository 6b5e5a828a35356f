package models_test

import (
	"strings"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestSetOperatorPassword(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	ctx := t.Context()
	op, err := s.CreateOperator(ctx, "ana@example.com", "the-old-password", models.RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.CreateOperator(ctx, "bo@example.com", "bos-own-password", models.RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	signIn := func(o *models.Operator) string {
		t.Helper()
		raw, _, err := s.CreateSession(ctx, o, "10.0.0.1", "test", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	live := func(raw string) bool {
		_, err := s.LookupSession(ctx, raw, time.Hour)
		return err == nil
	}
	kept, ended, bos := signIn(op), signIn(op), signIn(other)

	for _, c := range []struct {
		name     string
		password string
		want     string
	}{
		{"a short password is refused beside the field", "short", "at least 10 characters"},
		{"a password longer than bcrypt reads is refused", strings.Repeat("x", models.MaxPasswordLen+1), "at most 72 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.SetOperatorPassword(ctx, op.ID, c.password, "")
			e, ok := models.AsError(err)
			if !ok || e.Field != "password" || !strings.Contains(e.Message, c.want) {
				t.Fatalf("got %v, want a password field error saying %q", err, c.want)
			}
			if !live(kept) || !live(ended) {
				t.Fatal("a refused password ended sessions")
			}
		})
	}
	t.Run("an unknown operator is not found", func(t *testing.T) {
		if err := s.SetOperatorPassword(ctx, "op-nope", "a-new-password", ""); models.ErrorCode(err) != models.CodeMissingResource {
			t.Fatalf("got %v, want MISSING_RESOURCE", err)
		}
	})
	keptID := models.HashSessionToken(kept)
	if err := s.SetOperatorPassword(ctx, op.ID, "a-brand-new-password", keptID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  bool
		want bool
	}{
		{"the new password signs in", signsIn(t, s, "ana@example.com", "a-brand-new-password"), true},
		{"the old password no longer signs in", signsIn(t, s, "ana@example.com", "the-old-password"), false},
		{"the session that changed it stays signed in", live(kept), true},
		{"every other session of the operator ends", live(ended), false},
		{"another operator's session is untouched", live(bos), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %v, want %v", c.got, c.want)
			}
		})
	}
	t.Run("a reset without a session to keep ends them all", func(t *testing.T) {
		if err := s.SetOperatorPassword(ctx, op.ID, "reset-by-an-admin", ""); err != nil {
			t.Fatal(err)
		}
		if live(kept) {
			t.Fatal("the session is still live")
		}
	})
	t.Run("PasswordMatches checks the hash", func(t *testing.T) {
		got, err := s.GetOperator(ctx, op.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.PasswordMatches("reset-by-an-admin") || got.PasswordMatches("a-brand-new-password") {
			t.Fatal("PasswordMatches does not follow the current password")
		}
	})
}

func signsIn(t *testing.T, s *models.Store, email, password string) bool {
	t.Helper()
	_, _, err := s.CheckOperatorPassword(t.Context(), email, password)
	return err == nil
}

func TestSweepSessions(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	ctx := t.Context()
	op, err := s.CreateOperator(ctx, "ana@example.com", "a-long-password", models.RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	rows := []struct {
		name    string
		expires time.Duration // from now
		revoked time.Duration // from now; 0 is not revoked
		swept   bool
	}{
		{"live", time.Hour, 0, false},
		{"expired yesterday", -day, 0, false},
		{"expired eight days ago", -8 * day, 0, true},
		{"revoked yesterday", time.Hour, -day, false},
		{"revoked eight days ago, expiry still ahead", time.Hour, -8 * day, true},
		{"expired just under a week ago", -7*day + time.Minute, 0, false},
	}
	for i, r := range rows {
		sess := models.Session{ID: r.name, OperatorID: op.ID, Mode: models.Sandbox, CSRFToken: "x",
			CreatedAt: now.Add(-30 * day), LastSeenAt: now.Add(-30 * day), ExpiresAt: now.Add(r.expires)}
		if r.revoked != 0 {
			at := now.Add(r.revoked)
			sess.RevokedAt = &at
		}
		if err := s.W.Create(&sess).Error; err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	n, err := s.SweepSessions(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n, int64(2); got != want {
		t.Fatalf("swept %d, want %d", got, want)
	}
	for _, r := range rows {
		t.Run("the session "+r.name+" is kept unless it ended over a week ago", func(t *testing.T) {
			var left int64
			s.W.Model(&models.Session{}).Where("id = ?", r.name).Count(&left)
			if got, want := left == 0, r.swept; got != want {
				t.Fatalf("swept %v, want %v", got, want)
			}
		})
	}
	t.Run("a second sweep finds nothing", func(t *testing.T) {
		if n, err := s.SweepSessions(ctx, now); err != nil || n != 0 {
			t.Fatalf("swept %d (%v), want 0", n, err)
		}
	})
}
