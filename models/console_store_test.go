package models_test

import (
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestUsersCounterFollowsInserts(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	ctx := t.Context()
	for i := 0; i < 3; i++ {
		if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateUser(ctx, models.Production, nil, "test"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode models.Mode
		want int64
	}{{models.Sandbox, 3}, {models.Production, 1}} {
		d, err := s.LoadDashboard(ctx, c.mode)
		if err != nil {
			t.Fatal(err)
		}
		if d.Users != c.want || d.ActiveTokens != c.want {
			t.Errorf("%s: users %d, active tokens %d, want %d each", c.mode, d.Users, d.ActiveTokens, c.want)
		}
	}
}

func TestSessions(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	ctx := t.Context()
	op, err := s.CreateOperator(ctx, "ana@example.com", "a-long-password", models.RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	raw, sess, err := s.CreateSession(ctx, op, "10.0.0.1", "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if sess.ID == raw || sess.ID != models.HashSessionToken(raw) {
		t.Fatal("the session id is not the hash of the cookie value")
	}
	t.Run("a live session is found and slides its expiry", func(t *testing.T) {
		real := s.Now
		defer func() { s.Now = real }()
		s.Now = func() time.Time { return real().Add(50 * time.Minute) }
		got, err := s.LookupSession(ctx, raw, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !got.ExpiresAt.After(sess.ExpiresAt) {
			t.Fatalf("expiry %s did not move past %s", got.ExpiresAt, sess.ExpiresAt)
		}
	})
	t.Run("a session idle for longer than the limit is gone", func(t *testing.T) {
		real := s.Now
		defer func() { s.Now = real }()
		s.Now = func() time.Time { return real().Add(3 * time.Hour) }
		if _, err := s.LookupSession(ctx, raw, time.Hour); err == nil {
			t.Fatal("an idle session still works")
		}
	})
	t.Run("a wrong password and an unknown email read the same", func(t *testing.T) {
		_, _, e1 := s.CheckOperatorPassword(ctx, "ana@example.com", "wrong-password")
		_, _, e2 := s.CheckOperatorPassword(ctx, "nobody@example.com", "wrong-password")
		if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
			t.Fatalf("errors differ: %v / %v", e1, e2)
		}
	})
}

func TestSearchStaysInItsMode(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	ctx := t.Context()
	u, err := s.CreateUser(ctx, models.Production, models.Metadata{"crm": "X-1"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		mode models.Mode
		q    string
		want models.SearchKind
	}{
		{"a user id in its mode is found", models.Production, u.User.ID, models.FoundUser},
		{"a user id of the other mode is reported as such", models.Sandbox, u.User.ID, models.FoundOtherMode},
		{"a token id leads to its token", models.Production, u.Token.ID, models.FoundToken},
		{"an event id leads to its event", models.Production, u.Event.ID, models.FoundEvent},
		{"a metadata value in its mode finds the user", models.Production, "X-1", models.FoundUser},
		{"a metadata value of the other mode finds nothing", models.Sandbox, "X-1", models.FoundNothing},
		{"a raw token goes to the inspector", models.Sandbox, u.Token.AccessToken, models.FoundRawToken},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := s.Search(ctx, c.mode, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != c.want {
				t.Fatalf("got %q, want %q", r.Kind, c.want)
			}
		})
	}
}
