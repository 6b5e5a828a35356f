package models_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestCheckpoint(t *testing.T) {
	modelstest.SkipOnPostgres(t, "the WAL and its checkpoints")
	t.Run("reports the WAL copied to its end once nothing is left to copy", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		for range 50 {
			if _, err := s.CreateUser(context.Background(), models.Sandbox, nil, "test"); err != nil {
				t.Fatal(err)
			}
		}
		modelstest.WaitForCheckpoint(t, s)
		// Nothing written since: the next one has nothing to copy either.
		if done, err := s.Checkpoint(); err != nil || !done {
			t.Fatalf("got %v, %v; want a complete checkpoint", done, err)
		}
	})
}

// TestWALBounded writes as fast as many clients can for a few seconds
// (without the bound this grows the WAL by about 100 MB a second here) and
// samples the WAL's size all along.
func TestWALBounded(t *testing.T) {
	modelstest.SkipOnPostgres(t, "the WAL and its checkpoints")
	if testing.Short() {
		t.Skip("writes for several seconds")
	}
	s := modelstest.MustOpenStore(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, models.Sandbox, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	const limit, idleLimit = 64 << 20, 4 << 20
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.RefreshToken(ctx, models.Sandbox, u.User.ID, "test", 0); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.CreateUser(ctx, models.Sandbox, models.Metadata{"crm": "some value"}, "test"); err != nil {
					t.Error(err)
					return
				}
				writes.Add(2)
			}
		}()
	}
	var largest int64
	end := time.Now().Add(4 * time.Second)
	for time.Now().Before(end) {
		largest = max(largest, s.WALSize())
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d writes; largest WAL %.1f MiB", writes.Load(), float64(largest)/(1<<20))
	if largest > limit {
		t.Errorf("the WAL reached %d bytes under load, more than %d", largest, limit)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.WALSize() > idleLimit {
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the load the WAL is %d bytes, more than %d", s.WALSize(), idleLimit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
