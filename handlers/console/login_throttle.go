package console

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"tokendesk/models"
)

// loginThrottle slows down guessing: after a few failures for one email from
// one address (or many from one address), each further try must wait twice
// as long as the last, up to a limit. The counting is the store's (see
// models.BeginLoginTry), so every instance on one database counts the same
// guesses; this file says which counts a try is held to.
type loginThrottle struct {
	store *models.Store
	log   *slog.Logger
}

const (
	freeFailuresPerEmail = 3
	freeFailuresPerIP    = 20
)

func throttleKeys(ip, email string) []models.ThrottleKey {
	return []models.ThrottleKey{
		{Key: "e|" + ip + "|" + strings.ToLower(strings.TrimSpace(email)), Free: freeFailuresPerEmail},
		{Key: "i|" + ip, Free: freeFailuresPerIP},
	}
}

// loginTry is a place taken by begin; exactly one of fail or succeed settles it.
type loginTry struct {
	t    *loginThrottle
	ctx  context.Context
	keys []models.ThrottleKey
}

// begin takes a place for one try of this email from this address. When
// none is free it returns nil and how long to wait.
func (t *loginThrottle) begin(ctx context.Context, ip, email string) (*loginTry, time.Duration, error) {
	keys := throttleKeys(ip, email)
	wait, err := t.store.BeginLoginTry(ctx, keys)
	if err != nil || wait > 0 {
		return nil, wait, err
	}
	// The try is settled even when the request's context ends first: an
	// unsettled place would hold back the next try until its lease ends.
	return &loginTry{t: t, ctx: context.WithoutCancel(ctx), keys: keys}, 0, nil
}

// fail settles the try as a failure and returns the wait it imposes on the next.
func (a *loginTry) fail() time.Duration {
	wait, err := a.t.store.FailLoginTry(a.ctx, a.keys)
	if err != nil {
		// The place ends with its lease; the failure is lost, which the
		// log says.
		a.t.log.Error("a failed sign-in was not counted", "error", err)
	}
	return wait
}

// succeed settles the try and forgets the failures for this email from this
// address (the address's own count stays: many emails guessed from one
// address are still many guesses).
func (a *loginTry) succeed() {
	if err := a.t.store.SucceedLoginTry(a.ctx, []string{a.keys[0].Key}, []string{a.keys[1].Key}); err != nil {
		a.t.log.Error("a sign-in try was not settled", "error", err)
	}
}
