package models

import (
	"fmt"
	"os"
	"time"
)

// The WAL is bounded in two steps. A passive checkpoint on a reader
// connection runs every checkpointEvery beside the writer and the readers,
// never blocking them, and copies nearly all of the WAL into the database.
// It can never restart the WAL while writes continue, though: each commit
// appends past the end the checkpoint reached, so the file grows without
// end (1.76 GB after 8 s of POST /v1/tokens). So when the file passes
// walRestartBytes, the loop queues a TRUNCATE checkpoint on the writer
// pool: it waits its turn like any write, finds little left to copy (the
// passive ones did the work), resets the file to zero and lets the queue go
// on. The same happens once the writer has been idle for a tick with more
// than walKeepBytes in the WAL, so a quiet server goes back to a small file.
const (
	checkpointEvery = 100 * time.Millisecond
	walRestartBytes = 16 << 20
	walKeepBytes    = 4 << 20 // also journal_size_limit
)

// checkpointLoop replaces SQLite's automatic checkpoints, which the writer
// connection would otherwise run inside a commit (see registerDrivers).
func (s *Store) checkpointLoop() {
	defer close(s.checkpointsDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	lastCommits := s.commits.Load()
	for {
		select {
		case <-s.stopCheckpoints:
			return
		case <-t.C:
		}
		s.Checkpoint()
		commits := s.commits.Load()
		idle := commits == lastCommits
		lastCommits = commits
		if size := s.WALSize(); size > walRestartBytes || (idle && size > walKeepBytes) {
			s.truncateWAL()
		}
	}
}

// WALSize is the size of the WAL file in bytes (0 when there is none).
func (s *Store) WALSize() int64 {
	fi, err := os.Stat(s.path + "-wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// truncateWAL copies what is left of the WAL into the database and empties
// the file. It runs on the writer, so no commit lands while it works and
// the reset always succeeds unless a reader holds an old snapshot (then the
// next tick tries again).
func (s *Store) truncateWAL() error {
	db, err := s.W.DB()
	if err != nil {
		return err
	}
	var busy, logFrames, done int
	if err := db.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("truncate WAL: %w", err)
	}
	return nil
}

// Checkpoint runs one passive checkpoint on a reader connection: it needs no
// write lock, and a failure (busy) only means the next tick tries again. It
// goes through database/sql and reads the pragma's row to the end, so the
// connection keeps no read transaction open (a statement left unfinished
// would pin that connection to an old snapshot).
//
// It reports whether the WAL was copied into the database to its end;
// benchmarks call it until it was, so that copying what they wrote to set
// up is not charged to what they then measure.
func (s *Store) Checkpoint() (complete bool, err error) {
	db, err := s.R.DB()
	if err != nil {
		return false, err
	}
	var busy, logFrames, done int
	if err := db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done); err != nil {
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	return busy == 0 && logFrames == done, nil
}
