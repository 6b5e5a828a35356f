package models

import (
	"context"
	"sync"

	"gorm.io/gorm"
)

// groupCommit runs small independent writes from many requests in shared
// transactions. SQLite takes one writer at a time and most of a one-row
// transaction's cost is BEGIN and COMMIT, so committing the writes that
// arrive together as one transaction multiplies throughput under load and
// adds nothing when idle (a lone write commits at once).
type groupCommit struct {
	s    *Store
	jobs chan *groupJob
	stop chan struct{}
	wg   sync.WaitGroup
}

type groupJob struct {
	ctx  context.Context
	fn   func(tx *gorm.DB) error
	done chan error
}

const maxGroup = 128

func newGroupCommit(s *Store) *groupCommit {
	g := &groupCommit{s: s, jobs: make(chan *groupJob, maxGroup), stop: make(chan struct{})}
	g.wg.Add(1)
	go g.loop()
	return g
}

// do runs fn inside a shared transaction and returns once it is committed.
// fn must be a write that is not expected to fail (an insert of a row whose
// inputs were checked): if the shared transaction fails, each job is run
// again alone so only the faulty one reports an error.
func (g *groupCommit) do(ctx context.Context, fn func(tx *gorm.DB) error) error {
	job := &groupJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case g.jobs <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.stop:
		return g.s.write(ctx, fn)
	}
	select {
	case err := <-job.done:
		return err
	case <-ctx.Done():
		// The job may still commit; the caller just stops waiting.
		return ctx.Err()
	}
}

func (g *groupCommit) loop() {
	defer g.wg.Done()
	batch := make([]*groupJob, 0, maxGroup)
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
		g.commit(batch)
	}
}

func (g *groupCommit) commit(batch []*groupJob) {
	err := g.s.write(context.Background(), func(tx *gorm.DB) error {
		for _, job := range batch {
			if err := job.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		for _, job := range batch {
			job.done <- nil
		}
		return
	}
	for _, job := range batch {
		job.done <- g.s.write(job.ctx, job.fn)
	}
}

// close stops the loop after the batch in progress; later jobs write alone.
func (g *groupCommit) close() {
	close(g.stop)
	g.wg.Wait()
	// Jobs that were queued but not taken still get an answer.
	for {
		select {
		case job := <-g.jobs:
			job.done <- g.s.write(job.ctx, job.fn)
		default:
			return
		}
	}
}
