package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// Of many concurrent launches with one token exactly one may start the
// widget. The callers are split over two stores opened on one file, as the
// server and a CLI process would be, so the guarantee is tested across
// connections and not only inside one writer pool.
func TestConsumeTokenConcurrently(t *testing.T) {
	ctx := context.Background()
	a, b := twoStores(t)
	stores := []*models.Store{a, b}

	for round := range 5 {
		u, err := stores[0].CreateUser(ctx, models.Sandbox, nil, "test")
		if err != nil {
			t.Fatalf("create user: %v", err)
		}
		raw := u.Token.AccessToken

		const callers = 128
		var (
			start  = make(chan struct{})
			wg     sync.WaitGroup
			mu     sync.Mutex
			won    int
			used   int
			others []error
		)
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := stores[i%len(stores)].ConsumeToken(ctx, raw)
				mu.Lock()
				defer mu.Unlock()
				var r *models.TokenRefusedError
				switch {
				case err == nil:
					won++
				case errors.As(err, &r) && r.Reason == models.RefusedUsed:
					used++
				default:
					others = append(others, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if won != 1 || used != callers-1 || len(others) != 0 {
			t.Fatalf("round %d: %d succeeded, %d refused as used, other errors %v; want 1, %d, none", round, won, used, others, callers-1)
		}
	}
}

func TestConsumeTokenRefusals(t *testing.T) {
	ctx := context.Background()
	s := modelstest.MustOpenStore(t)
	u, err := s.CreateUser(ctx, models.Production, nil, "test")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the first use returns the row marked consumed", func(t *testing.T) {
		tok, err := s.ConsumeToken(ctx, u.Token.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if tok.ConsumedAt == nil || tok.UserID != u.User.ID || tok.Mode != models.Production {
			t.Fatalf("got %+v, want consumed token of %s in PRODUCTION", tok, u.User.ID)
		}
		row, err := s.GetToken(ctx, models.Production, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := row.Status(s.Now()), models.TokenConsumed; got != want {
			t.Fatalf("stored status %q, want %q", got, want)
		}
	})

	t.Run("a refusal is an INVALID_TOKEN error to code that knows only the error vocabulary", func(t *testing.T) {
		_, err := s.ConsumeToken(ctx, u.Token.AccessToken)
		if got, want := models.ErrorCode(err), models.CodeInvalidToken; got != want {
			t.Fatalf("code %q, want %q (err %v)", got, want, err)
		}
		e, ok := models.AsError(err)
		if !ok || e.Message == "" {
			t.Fatalf("AsError(%v) = %v, %v; want the domain error", err, e, ok)
		}
	})
}
