package models

import (
	"context"
	"sync"
	"time"

	"gorm.io/gorm"
)

// groupCommit writes small independent items from many requests together:
// the items that arrive while a write runs go into the next one, as one
// statement in one transaction. On SQLite, which takes one writer at a
// time, most of a one-row transaction's cost is BEGIN and COMMIT; on
// PostgreSQL most of a one-row statement's cost is its round trip and its
// commit. Under load the batches grow and the cost per item falls; idle, a
// lone item is written at once. (Measured on PostgreSQL: letting each
// request write side by side on the pool, with or without a transaction of
// its own, cost the server more CPU per request than this.)
//
// Under load a batch may also wait up to linger for more items (see
// dialect.commitLinger), as PostgreSQL's commit_delay does: only while
// items arrive together (the last batch held several), never for a lone
// item, and no longer than it takes to gather as many as last time.
type groupCommit[T any] struct {
	s      *Store
	write  func(tx *gorm.DB, items []T) error
	linger time.Duration
	jobs   chan *groupJob[T]
	stop   chan struct{}
	wg     sync.WaitGroup
}

type groupJob[T any] struct {
	ctx  context.Context
	item T
	done chan error
}

const maxGroup = 128

// newGroupCommit starts the loop that hands batches of items to write,
// which must write them all in tx, in one statement where it can. A batch
// waits up to linger for more items while they arrive together.
func newGroupCommit[T any](s *Store, linger time.Duration, write func(tx *gorm.DB, items []T) error) *groupCommit[T] {
	g := &groupCommit[T]{s: s, write: write, linger: linger, jobs: make(chan *groupJob[T], maxGroup), stop: make(chan struct{})}
	g.wg.Add(1)
	go g.loop()
	return g
}

// do writes item in a shared transaction and returns once it is
// committed. The item must be a write that is not expected to fail (an
// insert whose inputs were checked): if the shared transaction fails, each
// item is written again alone so only the faulty one reports an error.
func (g *groupCommit[T]) do(ctx context.Context, item T) error {
	job := &groupJob[T]{ctx: ctx, item: item, done: make(chan error, 1)}
	select {
	case g.jobs <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.stop:
		return g.alone(ctx, item)
	}
	select {
	case err := <-job.done:
		return err
	case <-ctx.Done():
		// The job may still commit; the caller just stops waiting.
		return ctx.Err()
	}
}

func (g *groupCommit[T]) alone(ctx context.Context, item T) error {
	return g.s.write(ctx, func(tx *gorm.DB) error { return g.write(tx, []T{item}) })
}

func (g *groupCommit[T]) loop() {
	defer g.wg.Done()
	batch := make([]*groupJob[T], 0, maxGroup)
	items := make([]T, 0, maxGroup)
	var lingering *time.Timer
	if g.linger > 0 {
		lingering = time.NewTimer(g.linger)
		lingering.Stop()
	}
	last := 0 // the last batch's size
	for {
		select {
		case <-g.stop:
			return
		case job := <-g.jobs:
			batch = append(batch[:0], job)
		}
	drain:
		for len(batch) < maxGroup {
			select {
			case job := <-g.jobs:
				batch = append(batch, job)
			default:
				break drain
			}
		}
		if lingering != nil && last > 1 && len(batch) < last {
			batch = g.wait(batch, lingering, last)
		}
		last = len(batch)
		items = items[:0]
		for _, job := range batch {
			items = append(items, job.item)
		}
		g.commit(batch, items)
	}
}

// wait adds to batch the items that arrive within the linger, until it is
// as large as the last one: that many callers were writing together, and
// once they are all back there is nobody left to wait for.
func (g *groupCommit[T]) wait(batch []*groupJob[T], t *time.Timer, size int) []*groupJob[T] {
	t.Reset(g.linger)
	defer t.Stop()
	for len(batch) < size {
		select {
		case job := <-g.jobs:
			batch = append(batch, job)
		case <-t.C:
			return batch
		case <-g.stop:
			return batch
		}
	}
	return batch
}

func (g *groupCommit[T]) commit(batch []*groupJob[T], items []T) {
	err := g.s.write(context.Background(), func(tx *gorm.DB) error { return g.write(tx, items) })
	if err == nil {
		for _, job := range batch {
			job.done <- nil
		}
		return
	}
	for _, job := range batch {
		job.done <- g.alone(job.ctx, job.item)
	}
}

// close stops the loop after the batch in progress; later items are
// written alone.
func (g *groupCommit[T]) close() {
	close(g.stop)
	g.wg.Wait()
	// Jobs that were queued but not taken still get an answer.
	for {
		select {
		case job := <-g.jobs:
			job.done <- g.alone(job.ctx, job.item)
		default:
			return
		}
	}
}
