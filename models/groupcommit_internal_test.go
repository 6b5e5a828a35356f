package models

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// batchRecorder is a group commit's write that records each batch and,
// when held is set, holds item 1's batch until held is closed.
type batchRecorder struct {
	mu      sync.Mutex
	batches [][]int
	holding chan struct{} // gets a value once item 1's batch is held
	held    chan struct{}
}

func newHoldingRecorder() *batchRecorder {
	return &batchRecorder{holding: make(chan struct{}, 1), held: make(chan struct{})}
}

func (r *batchRecorder) write(_ *gorm.DB, items []int) error {
	if r.held != nil && slices.Contains(items, 1) {
		r.holding <- struct{}{}
		<-r.held
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, slices.Clone(items))
	return nil
}

func (r *batchRecorder) written() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func openGroupCommitStore(t *testing.T) *Store {
	s, err := Open(Options{Path: t.TempDir() + "/db", TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// doAll runs g.do for each item in its own goroutine and returns a channel
// closed once all of them returned.
func doAll(t *testing.T, g *groupCommit[int], items ...int) <-chan struct{} {
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.do(context.Background(), it); err != nil {
				t.Error(err)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// queueTwoTogether makes the loop's last batch [2 3]: item 1's batch is held
// while 2 and 3 queue behind it.
func queueTwoTogether(t *testing.T, g *groupCommit[int], r *batchRecorder) {
	t.Helper()
	first := doAll(t, g, 1)
	<-r.holding
	// 2, then 3 once 2 is queued: two goroutines started together queue
	// in either order, and a loaded machine ran 3 first.
	two := doAll(t, g, 2)
	for len(g.jobs) < 1 {
		time.Sleep(time.Millisecond)
	}
	three := doAll(t, g, 3)
	for len(g.jobs) < 2 {
		time.Sleep(time.Millisecond)
	}
	close(r.held)
	<-first
	<-two
	<-three
	if got := r.written(); !slices.EqualFunc(got, [][]int{{1}, {2, 3}}, slices.Equal) {
		t.Fatalf("batches %v, want [[1] [2 3]]", got)
	}
}

func TestGroupCommitLinger(t *testing.T) {
	t.Run("a lone item is written at once, whatever the linger", func(t *testing.T) {
		r := &batchRecorder{}
		g := newGroupCommit(openGroupCommitStore(t), time.Hour, r.write)
		defer g.close()
		for i := 10; i < 13; i++ {
			select {
			case <-doAll(t, g, i):
			case <-time.After(time.Minute):
				t.Fatalf("item %d waited for the linger", i)
			}
		}
	})
	t.Run("while items arrive together a batch waits for as many as last time", func(t *testing.T) {
		r := newHoldingRecorder()
		g := newGroupCommit(openGroupCommitStore(t), time.Hour, r.write)
		defer g.close()
		queueTwoTogether(t, g, r)

		four := doAll(t, g, 4)
		time.Sleep(50 * time.Millisecond)
		select {
		case <-four:
			t.Fatal("item 4 was written alone although the last batch held two")
		default:
		}
		// The second arrival completes the batch: written at once, long
		// before the hour's linger.
		select {
		case <-doAll(t, g, 5):
		case <-time.After(time.Minute):
			t.Fatal("a batch as large as the last one still waited")
		}
		<-four
		if got := r.written(); !slices.EqualFunc(got[2:], [][]int{{4, 5}}, slices.Equal) {
			t.Fatalf("batches %v, want [4 5] last", got)
		}
	})
	t.Run("a batch waits no longer than the linger", func(t *testing.T) {
		const linger = 100 * time.Millisecond
		r := newHoldingRecorder()
		g := newGroupCommit(openGroupCommitStore(t), linger, r.write)
		defer g.close()
		queueTwoTogether(t, g, r)

		start := time.Now()
		<-doAll(t, g, 4)
		if waited := time.Since(start); waited < linger {
			t.Fatalf("item 4 was written after %v, before the linger of %v ended", waited, linger)
		}
		// Alone last time: the next one is written at once.
		select {
		case <-doAll(t, g, 5):
		case <-time.After(time.Minute):
			t.Fatal("an item after a lone one waited")
		}
	})
}
