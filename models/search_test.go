package models_test

import (
	"strings"
	"testing"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestSearchFindsWhatATicketHolds(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	ctx := t.Context()
	mk := func(md models.Metadata) *models.CreatedUser {
		t.Helper()
		u, err := s.CreateUser(ctx, models.Sandbox, md, "test")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	maria := mk(models.Metadata{"email": "Maria.Gonzalez@BigCorp.example"})
	shop := mk(models.Metadata{"domain": "shop.acme.test"})
	cust := mk(models.Metadata{"crm": "CUST-8841"})
	mk(models.Metadata{"crm": "CUST-8842"})
	acme := mk(models.Metadata{"org": "acme"})
	mk(models.Metadata{"org": "acme-two"})
	mk(models.Metadata{"rate": "500"})
	tok := maria.Token.AccessToken
	wrapped := tok[:30] + "\n" + tok[30:60] + "\r\n  " + tok[60:]

	for _, c := range []struct {
		name   string
		q      string
		kind   models.SearchKind
		id     string
		prefix bool
		hits   int
	}{
		{"an e-mail address is a metadata value, not a token", "maria.gonzalez@bigcorp.example", models.FoundUser, maria.User.ID, false, 0},
		{"a domain is a metadata value, not a token", "shop.acme.test", models.FoundUser, shop.User.ID, false, 0},
		{"a value is found in any letter case", "cust-8841", models.FoundUser, cust.User.ID, false, 0},
		{"an exact value wins over values that start with it", "ACME", models.FoundUser, acme.User.ID, false, 0},
		{"the start of values lists each match", "cust-88", models.FoundSeveral, "", true, 2},
		{"LIKE wildcards in the text are taken literally", "50%", models.FoundNothing, "", false, 0},
		{"a raw token goes to the inspector", tok, models.FoundRawToken, tok, false, 0},
		{"a quoted token goes to the inspector", `"` + tok + `"`, models.FoundRawToken, tok, false, 0},
		{"a Bearer token goes to the inspector", "Authorization: Bearer " + tok, models.FoundRawToken, tok, false, 0},
		{"a line-wrapped token goes to the inspector", wrapped, models.FoundRawToken, tok, false, 0},
		{"a token id in capitals finds its token", strings.ToUpper(maria.Token.ID), models.FoundToken, maria.Token.ID, false, 0},
		{"an event id in capitals finds its event", strings.ToUpper(maria.Event.ID), models.FoundEvent, maria.Event.ID, false, 0},
		{"a user id with capital hex finds the user", "acme-" + strings.ToUpper(maria.User.ID[5:]), models.FoundUser, maria.User.ID, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := s.Search(ctx, models.Sandbox, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := r.Kind, c.kind; got != want {
				t.Fatalf("kind: got %q, want %q (%+v)", got, want, r)
			}
			if got, want := r.ID, c.id; got != want {
				t.Fatalf("id: got %q, want %q", got, want)
			}
			if got, want := r.Prefix, c.prefix; got != want {
				t.Fatalf("prefix: got %v, want %v", got, want)
			}
			if got, want := len(r.Hits), c.hits; got != want {
				t.Fatalf("hits: got %d, want %d", got, want)
			}
		})
	}

	t.Run("nothing found says what was tried", func(t *testing.T) {
		r, err := s.Search(ctx, models.Sandbox, "no-such-value")
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != models.FoundNothing || len(r.Tried) == 0 {
			t.Fatalf("got %+v, want nothing with what was tried", r)
		}
		if got := strings.Join(r.Tried, "; "); !strings.Contains(got, "metadata value") || !strings.Contains(got, "start") {
			t.Fatalf("tried %q, want the exact and prefix metadata searches named", got)
		}
	})
	t.Run("an unknown request id says it was tried as one", func(t *testing.T) {
		r, err := s.Search(ctx, models.Sandbox, "0b7c3e0e-4c1f-4c59-9a0e-6f3c1b2a9d11")
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != models.FoundNothing || !strings.Contains(strings.Join(r.Tried, ";"), "request id") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("the prefix search lists at most the limit and says there is more", func(t *testing.T) {
		for i := range models.SearchHitLimit + 2 {
			mk(models.Metadata{"tag": "bulk-" + strings.Repeat("x", i+1)})
		}
		r, err := s.Search(ctx, models.Sandbox, "BULK-")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Hits) != models.SearchHitLimit || !r.More || !r.Prefix {
			t.Fatalf("got %d hits, more %v, prefix %v", len(r.Hits), r.More, r.Prefix)
		}
	})
}
