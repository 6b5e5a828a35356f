package models_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokendesk/models"
)

// twoInstances is twoStores (two instances sharing one database) with
// both stores on one settable clock.
func twoInstances(t *testing.T) (a, b *models.Store, clock *atomic.Int64) {
	t.Helper()
	clock = &atomic.Int64{}
	clock.Store(time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli())
	a, b = twoStores(t)
	for _, s := range []*models.Store{a, b} {
		s.Now = func() time.Time { return time.UnixMilli(clock.Load()).UTC() }
	}
	return a, b, clock
}

func signInKeys(ip, email string) []models.ThrottleKey {
	return []models.ThrottleKey{{Key: "e|" + ip + "|" + email, Free: 3}, {Key: "i|" + ip, Free: 20}}
}

func TestLoginThrottleCountsEveryInstancesGuesses(t *testing.T) {
	ctx := context.Background()
	t.Run("failures on two instances add up", func(t *testing.T) {
		a, b, _ := twoInstances(t)
		keys := signInKeys("192.0.2.1", "ana@example.com")
		for i, s := range []*models.Store{a, b, a} {
			wait, err := s.BeginLoginTry(ctx, keys)
			if err != nil || wait != 0 {
				t.Fatalf("try %d: wait %v, err %v; want a place", i+1, wait, err)
			}
			wait, err = s.FailLoginTry(ctx, keys)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]time.Duration{true: time.Second}[i == 2]; wait != want {
				t.Fatalf("failure %d imposes %v, want %v", i+1, wait, want)
			}
		}
		wait, err := b.BeginLoginTry(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := wait, time.Second; got != want {
			t.Fatalf("the fourth try on the other instance waits %v, want %v", got, want)
		}
	})
	t.Run("of 100 tries begun at once on two instances at most the free ones get a place", func(t *testing.T) {
		a, b, _ := twoInstances(t)
		keys := signInKeys("192.0.2.2", "ana@example.com")
		var placed atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 100 {
			s := []*models.Store{a, b}[i%2]
			wg.Go(func() {
				<-start
				wait, err := s.BeginLoginTry(ctx, keys)
				if err != nil {
					t.Error(err)
					return
				}
				if wait == 0 {
					placed.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if got, want := placed.Load(), int32(3); got != want {
			t.Fatalf("%d tries got a place, want %d", got, want)
		}
	})
	t.Run("a success forgets the e-mail's failures but not the address's", func(t *testing.T) {
		a, b, _ := twoInstances(t)
		keys := signInKeys("192.0.2.3", "ana@example.com")
		for range 2 {
			a.BeginLoginTry(ctx, keys)
			a.FailLoginTry(ctx, keys)
		}
		if wait, _ := b.BeginLoginTry(ctx, keys); wait != 0 {
			t.Fatalf("third try waits %v", wait)
		}
		if err := b.SucceedLoginTry(ctx, []string{keys[0].Key}, []string{keys[1].Key}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 { // three free failures again for the e-mail
			if wait, _ := a.BeginLoginTry(ctx, keys); wait != 0 {
				t.Fatalf("try %d after the success waits %v", i+1, wait)
			}
			a.FailLoginTry(ctx, keys)
		}
		// The address has five failures now; 15 more from it, for other
		// e-mails, spend its own budget.
		for i := range 15 {
			k := signInKeys("192.0.2.3", "other"+string(rune('a'+i))+"@example.com")
			if wait, _ := b.BeginLoginTry(ctx, k); wait != 0 {
				t.Fatalf("other e-mail %d waits %v", i+1, wait)
			}
			b.FailLoginTry(ctx, k)
		}
		if wait, _ := a.BeginLoginTry(ctx, signInKeys("192.0.2.3", "new@example.com")); wait == 0 {
			t.Fatal("the address's 21st try was let in at once")
		}
	})
	t.Run("a place never settled stops counting when its lease ends", func(t *testing.T) {
		a, b, clock := twoInstances(t)
		keys := signInKeys("192.0.2.4", "ana@example.com")
		for range 3 { // begun, and the instance stopped before settling
			if wait, _ := a.BeginLoginTry(ctx, keys); wait != 0 {
				t.Fatalf("a free try waits %v", wait)
			}
		}
		if wait, _ := b.BeginLoginTry(ctx, keys); wait != models.LoginBusyRetry {
			t.Fatalf("with three in flight a try waits %v, want %v", wait, models.LoginBusyRetry)
		}
		clock.Add((2 * time.Minute).Milliseconds())
		if wait, _ := b.BeginLoginTry(ctx, keys); wait != 0 {
			t.Fatalf("after the lease a try waits %v, want a place", wait)
		}
	})
	t.Run("keys forgotten are deleted", func(t *testing.T) {
		a, b, clock := twoInstances(t)
		old := signInKeys("192.0.2.6", "ana@example.com")
		a.BeginLoginTry(ctx, old)
		a.FailLoginTry(ctx, old)
		clock.Add((2 * time.Hour).Milliseconds())
		b.BeginLoginTry(ctx, signInKeys("192.0.2.7", "ana@example.com"))
		var n int64
		if err := a.R.Raw("SELECT COUNT(*) FROM login_throttle WHERE key LIKE ?", "%192.0.2.6%").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("%d forgotten keys are still stored", n)
		}
	})
	t.Run("failures are forgotten after an hour without tries", func(t *testing.T) {
		a, b, clock := twoInstances(t)
		keys := signInKeys("192.0.2.5", "ana@example.com")
		for range 5 {
			a.BeginLoginTry(ctx, keys)
			a.FailLoginTry(ctx, keys)
		}
		clock.Add((61 * time.Minute).Milliseconds())
		for i := range 3 {
			if wait, _ := b.BeginLoginTry(ctx, keys); wait != 0 {
				t.Fatalf("try %d an hour later waits %v", i+1, wait)
			}
			b.FailLoginTry(ctx, keys)
		}
	})
}

func TestOnceEntryIsTakenOnceByItsSessionOnAnyInstance(t *testing.T) {
	ctx := context.Background()
	a, b, clock := twoInstances(t)
	secret := []byte(`{"Secret":"whsec_only-shown-once"}`)
	put := func() string {
		id, err := a.PutOnce(ctx, models.OnceEntry{SessionID: "sess-1", FlashKind: "ok", FlashText: "Done.",
			SecretType: "console.shownSecret", Secret: secret, ExpiresAt: a.Now().Add(10 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	t.Run("the other instance shows it, once, to its session only", func(t *testing.T) {
		id := put()
		if _, ok, err := b.TakeOnce(ctx, id, "sess-2"); err != nil || ok {
			t.Fatalf("another session took it: ok %v, err %v", ok, err)
		}
		e, ok, err := b.TakeOnce(ctx, id, "sess-1")
		if err != nil || !ok {
			t.Fatalf("its session did not get it: ok %v, err %v", ok, err)
		}
		if got, want := string(e.Secret), string(secret); got != want {
			t.Fatalf("secret %q, want %q", got, want)
		}
		if got, want := e.FlashText, "Done."; got != want {
			t.Fatalf("flash %q, want %q", got, want)
		}
		if _, ok, _ := a.TakeOnce(ctx, id, "sess-1"); ok {
			t.Fatal("taken twice")
		}
	})
	t.Run("the secret is sealed at rest", func(t *testing.T) {
		id := put()
		var stored string
		if err := a.R.Raw("SELECT once_secret FROM console_once WHERE id = ?", id).Scan(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stored, "sealed:v1:") || strings.Contains(stored, "only-shown-once") {
			t.Fatalf("stored secret %q is not sealed", stored)
		}
	})
	t.Run("of many takers at once on two instances exactly one gets it", func(t *testing.T) {
		id := put()
		var got atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			s := []*models.Store{a, b}[i%2]
			wg.Go(func() {
				if _, ok, err := s.TakeOnce(ctx, id, "sess-1"); err != nil {
					t.Error(err)
				} else if ok {
					got.Add(1)
				}
			})
		}
		wg.Wait()
		if got.Load() != 1 {
			t.Fatalf("%d takers got it, want 1", got.Load())
		}
	})
	t.Run("an entry expires after its time and is pruned by the next", func(t *testing.T) {
		id := put()
		clock.Add((11 * time.Minute).Milliseconds())
		if _, ok, _ := b.TakeOnce(ctx, id, "sess-1"); ok {
			t.Fatal("an expired entry was taken")
		}
		put()
		var n int64
		if err := a.R.Raw("SELECT COUNT(*) FROM console_once WHERE id = ?", id).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatal("the expired entry is still stored")
		}
	})
}

func TestReadThenWriteRacesAcrossInstances(t *testing.T) {
	ctx := context.Background()
	t.Run("of many resends at once on two instances one is made", func(t *testing.T) {
		a, b, _ := twoInstances(t)
		mustCreateEndpoint(t, a, models.Sandbox, "http://localhost/a")
		if _, err := a.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
			t.Fatal(err)
		}
		c := claimAll(t, a, "w")[0]
		settle(t, a, "w", &c, true, nil)
		var wg sync.WaitGroup
		for i := range 20 {
			s := []*models.Store{a, b}[i%2]
			wg.Go(func() {
				if _, err := s.ResendDelivery(ctx, models.Sandbox, c.Delivery.ID, "ops"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		d, err := b.GetDelivery(ctx, models.Sandbox, c.Delivery.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Delivery; got.ManualRequests != 1 || !got.ManualPending || got.ReturnStatus != models.DeliverySucceeded {
			t.Fatalf("manual requests %d, pending %v, returns to %s; want 1, true, %s",
				got.ManualRequests, got.ManualPending, got.ReturnStatus, models.DeliverySucceeded)
		}
	})
	t.Run("two admins disabling each other at once leave one admin", func(t *testing.T) {
		a, b, _ := twoInstances(t)
		for _, email := range []string{"one@example.com", "two@example.com"} {
			if _, err := a.CreateOperator(ctx, email, "a-long-enough-password", models.RoleAdmin); err != nil {
				t.Fatal(err)
			}
		}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, email := range []string{"one@example.com", "two@example.com"} {
			s := []*models.Store{a, b}[i]
			wg.Go(func() { _, errs[i] = s.DisableOperator(ctx, email) })
		}
		wg.Wait()
		refused := 0
		for _, err := range errs {
			if models.ErrorCode(err) == models.CodeConflict {
				refused++
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if refused != 1 {
			t.Fatalf("%d of the two were refused, want 1 (%v)", refused, errs)
		}
	})
	t.Run("one e-mail added at once on two instances is one operator and conflicts", func(t *testing.T) {
		a, b, _ := twoInstances(t)
		errs := make([]error, 6)
		var wg sync.WaitGroup
		for i := range errs {
			s := []*models.Store{a, b}[i%2]
			wg.Go(func() {
				_, errs[i] = s.CreateOperator(ctx, "same@example.com", "a-long-enough-password", models.RoleSupport)
			})
		}
		wg.Wait()
		made := 0
		for _, err := range errs {
			switch e, ok := models.AsError(err); {
			case err == nil:
				made++
			case !ok || e.Code != models.CodeConflict || e.Field != "email":
				t.Fatalf("a duplicate came back as %v, want a CONFLICT about the email", err)
			}
		}
		if made != 1 {
			t.Fatalf("%d operators made, want 1", made)
		}
	})
}

func TestSigningKeyRotationsAtOnceLeaveOneCurrentKey(t *testing.T) {
	ctx := context.Background()
	a, b, _ := twoInstances(t)
	var wg sync.WaitGroup
	for i := range 40 {
		s := []*models.Store{a, b}[i%2]
		wg.Go(func() {
			if _, err := s.RotateSigningKey(ctx, models.Sandbox); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, m := range models.Modes {
		var n int64
		if err := a.R.Model(&models.SigningKey{}).Where("mode = ? AND retired_at IS NULL", m).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%s has %d current signing keys, want 1", m, n)
		}
	}
}

func TestPruneReportsAddUpAcrossInstances(t *testing.T) {
	ctx := context.Background()
	a, b, clock := twoInstances(t)
	u, err := a.CreateUser(ctx, models.Sandbox, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	const rounds, perRound = 6, 30
	for range rounds {
		for range perRound {
			if _, err := a.RefreshToken(ctx, models.Sandbox, u.User.ID, "test", time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		clock.Add((31 * 24 * time.Hour).Milliseconds())
		var wg sync.WaitGroup
		for i := range 6 {
			s := []*models.Store{a, b}[i%2]
			wg.Go(func() {
				if _, err := s.Prune(ctx, models.DefaultRetention()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	rep, err := b.RetentionReport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The user came with a token of its own.
	if got, want := rep.Total["tokens"], int64(rounds*perRound+1); got != want {
		t.Fatalf("the report counts %d tokens pruned in all, want %d: a run's count was lost", got, want)
	}
}
