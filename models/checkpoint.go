package models

import (
	"fmt"
	"time"
)

// checkpointEvery is how often the WAL is copied back into the database. A
// passive checkpoint runs beside the writer and the readers, never blocking
// them, so it costs requests nothing; often enough keeps the WAL small.
const checkpointEvery = time.Second

// checkpointLoop replaces SQLite's automatic checkpoints, which the writer
// connection would otherwise run inside a commit (see Open).
func (s *Store) checkpointLoop() {
	defer close(s.checkpointsDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stopCheckpoints:
			return
		case <-t.C:
			s.Checkpoint()
		}
	}
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
