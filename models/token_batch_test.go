package models_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestTokensIssuedTogether(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	ctx := context.Background()
	var users []string
	for range 20 {
		u, err := s.CreateUser(ctx, models.Sandbox, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u.User.ID)
	}
	other, err := s.CreateUser(ctx, models.Production, nil, "test")
	if err != nil {
		t.Fatal(err)
	}

	tokenRows := func(mode models.Mode, users ...string) (n int) {
		for _, u := range users {
			ts, err := s.ListUserTokens(ctx, mode, u, 1000)
			if err != nil {
				t.Fatal(err)
			}
			n += len(ts)
		}
		return n
	}
	before, otherBefore := tokenRows(models.Sandbox, users...), tokenRows(models.Production, other.User.ID)

	t.Run("each request hears about its own user when many are written in one statement", func(t *testing.T) {
		type result struct {
			user string
			want bool
			err  error
		}
		var wg sync.WaitGroup
		results := make(chan result, 200)
		for i := range 200 {
			user, want := users[i%len(users)], true
			switch i % 5 {
			case 1:
				user, want = fmt.Sprintf("acme-%032x", i), false // nobody's
			case 3:
				user, want = other.User.ID, false // the other mode's
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.RefreshToken(ctx, models.Sandbox, user, "test", 0)
				results <- result{user, want, err}
			}()
		}
		wg.Wait()
		close(results)
		issued := 0
		for r := range results {
			switch {
			case r.want && r.err != nil:
				t.Errorf("token for %s: %v", r.user, r.err)
			case !r.want && models.ErrorCode(r.err) != models.CodeMissingResource:
				t.Errorf("token for %s: got %v, want MISSING_RESOURCE", r.user, r.err)
			case r.want:
				issued++
			}
		}
		if got, want := tokenRows(models.Sandbox, users...)-before, issued; got != want {
			t.Fatalf("got %d new token rows, want %d", got, want)
		}
		if got := tokenRows(models.Production, other.User.ID) - otherBefore; got != 0 {
			t.Fatalf("the other mode's user got %d tokens", got)
		}
	})
}
