package models

import (
	"context"
	"fmt"
	"os"
	"time"
)

// The WAL is bounded in three steps, measured against POST /v1/tokens under
// wrk (see the README). A passive checkpoint on a reader connection runs
// every checkpointEvery beside the writer and the readers, never blocking
// them, and copies nearly all of the WAL into the database. It cannot
// restart the WAL while writes continue, though: SQLite starts the file over
// only when a write transaction begins right after a complete checkpoint,
// and under load a commit always lands first (1.76 GB after 8 s). So once
// the WAL holds more than walRestartBytes of frames the loop runs one more
// passive checkpoint beside the writer, then one on the writer connection
// itself: it waits its turn like a write, finds only what was committed
// meanwhile, and the writer's next transaction starts the file over. A
// reader still on an old snapshot can keep that from happening; past
// walForceBytes a TRUNCATE checkpoint waits (up to 100 ms) for such readers
// and starts the file over itself (a RESTART leaves that to the next
// writer, which gives up at once if a reader is in the way: measured, the
// WAL kept growing past successful RESTARTs). Past walHardBytes every write
// first waits for one (holdWAL). Once the writer has been idle for a tick, a
// TRUNCATE empties the file.
//
// The copy is synced beside the writer too. SQLite syncs the database file
// only when a checkpoint reaches the end of the WAL, which only the one on
// the writer connection does: it paid for every page the passive ones had
// copied since the last restart, one fsync of up to 32 MiB, 12 to 18 ms idle
// and 35 to 40 ms while a prune ran, with every write waiting (measured by
// timing each step of the loop under BenchmarkTokensDuringPrune). The loop
// now syncs the file itself after each passive checkpoint that copied
// something (measured here with the WAL restarting at 8 MiB, interleaved
// with the build before, four rounds of the README's wrk load each: the
// same throughput, medians 9,050 and 9,058 req/s, p99 16.0 ms instead of
// 18.8, and the WAL at 14 to 18 MiB at most instead of 36 to 40), and again
// after the passive one just before the writer-side one, so that one syncs
// only what was committed in between.
//
// What is left of a writer-side checkpoint is a few milliseconds whatever
// the WAL holds (5 to 8 ms under load, 8 to 9 while a prune runs: its syncs
// of the WAL and of the database, and the copy of what came in between), so
// the fewer of them the better, as long as the WAL stays well within its
// bound. At 8 MiB of frames they came five times a second under
// BenchmarkTokensDuringPrune, and held the writer 4 to 6% of the time while
// the prune ran; at 16 MiB, three and a half times, 3%. Measured here,
// interleaved: the prune's p99 15.4 to 19.0 ms over five runs (median 16.5)
// instead of 16.7 to 18.9 over seven (median 17.9); four rounds of the
// README's wrk load gave p99 15.5 to 16.9 ms instead of 16.1 to 17.6, the
// same throughput, and the WAL at 24 to 26 MiB at most instead of 15 to 25.
const (
	checkpointEvery = 100 * time.Millisecond
	walRestartBytes = 16 << 20 // of frames not yet restarted over
	walFileBytes    = 32 << 20 // journal_size_limit: the file kept for reuse
	walForceBytes   = 40 << 20
	walHardBytes    = 48 << 20 // a write waits for a checkpoint first (see holdWAL)
	walKeepBytes    = 4 << 20  // what an idle server keeps at most

	// How long a writer-side RESTART (past walForceBytes) and an idle
	// TRUNCATE wait for readers on old snapshots.
	restartBusyMS  = 100
	truncateBusyMS = 20
	// Past walHardBytes the write waits as long as it takes readers to
	// move on (on an overloaded machine a "short" read can take 100 ms).
	holdBusyMS = 2000
)

// checkpointLoop replaces SQLite's automatic checkpoints, which the writer
// connection would otherwise run inside a commit (see registerDrivers).
func (s *Store) checkpointLoop() {
	defer close(s.checkpointsDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	db, err := os.Open(s.path)
	if err != nil {
		db = nil // the writer-side checkpoints still sync, only later
	} else {
		defer db.Close()
	}
	lastCommits := s.commits.Load()
	lastCopied := 0
	for {
		select {
		case <-s.stopCheckpoints:
			return
		case <-t.C:
		}
		frames, copied, _ := s.checkpointPassive()
		if db != nil && copied > 0 && copied != lastCopied {
			// See "The copy is synced" at the top of this file.
			db.Sync()
		}
		lastCopied = copied
		commits := s.commits.Load()
		idle := commits == lastCommits
		lastCommits = commits
		switch size := s.WALSize(); {
		case idle && size > walKeepBytes:
			s.writerCheckpoint("TRUNCATE", truncateBusyMS)
		case size > walForceBytes:
			s.writerCheckpoint("TRUNCATE", restartBusyMS)
		case int64(frames)*s.walFrameBytes() > walRestartBytes:
			if _, copied, _ := s.checkpointPassive(); db != nil && copied > 0 {
				db.Sync()
			}
			s.writerCheckpoint("PASSIVE", 0)
		}
	}
}

// holdWAL is the bound's last resort, run before every write transaction:
// when checkpoints run slower than writes grow the WAL (a busy disk: a
// checkpoint of 60 MiB took 180 ms here while users were created with two
// endpoints), the write first waits for a TRUNCATE checkpoint, as SQLite's
// own automatic checkpoint would make it. One stat per transaction. The
// first writer past the bound runs the checkpoint, again while it answers
// busy, and the others wait for it. (When it ran once and the others went
// on, a TRUNCATE that found the loop's passive checkpoint running gave up at
// once, the writes went on, and the WAL reached 55 to 93 MiB in
// TestWALBounded on a loaded machine; now 46 to 49 MiB.)
func (s *Store) holdWAL() {
	if s.path == "" || s.WALSize() <= walHardBytes {
		return
	}
	s.holding.Lock()
	defer s.holding.Unlock()
	// A checkpoint running on another connection (the loop's passive one)
	// makes this one give up at once, busy: try again until it is done.
	deadline := time.Now().Add(holdBusyMS * time.Millisecond)
	for s.WALSize() > walHardBytes && time.Now().Before(deadline) { // the writer before may have done it
		if done, err := s.writerCheckpoint("TRUNCATE", holdBusyMS); done || err != nil {
			return
		}
		time.Sleep(time.Millisecond)
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

// writerCheckpoint runs a checkpoint on the writer connection, so no commit
// lands while it works (see the top of this file). RESTART and TRUNCATE
// wait for readers on old snapshots through the busy handler; the writer's
// is 10 s, so a long read (a backup) would hold every write that long.
// They wait restartBusyMS or truncateBusyMS at most instead, on the same connection,
// pinned for the three statements. A failure or a busy answer only means
// the next tick tries again. It reports whether the checkpoint ran to its
// end (false: busy).
func (s *Store) writerCheckpoint(mode string, waitMS int) (complete bool, err error) {
	db, err := s.W.DB()
	if err != nil {
		return false, err
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if mode != "PASSIVE" {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", waitMS)); err != nil {
			return false, err
		}
		defer conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeoutMS))
	}
	var busy, logFrames, done int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &done); err != nil {
		return false, fmt.Errorf("checkpoint (%s): %w", mode, err)
	}
	return busy == 0, nil
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
	frames, copied, err := s.checkpointPassive()
	return err == nil && frames >= 0 && frames == copied, err
}

// checkpointPassive runs one passive checkpoint on a reader connection and
// returns the frames the WAL holds and how many of them are now in the
// database (-1, -1 when it was busy).
func (s *Store) checkpointPassive() (frames, copied int, err error) {
	db, err := s.R.DB()
	if err != nil {
		return -1, -1, err
	}
	var busy int
	if err := db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		return -1, -1, fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return -1, -1, nil
	}
	return frames, copied, nil
}

// walFrameBytes is the size of one WAL frame: a page and its header.
func (s *Store) walFrameBytes() int64 {
	s.pageSizeOnce.Do(func() {
		s.walFrame = 4096 + 24
		var n int64
		if db, err := s.R.DB(); err == nil && db.QueryRow("PRAGMA page_size").Scan(&n) == nil && n > 0 {
			s.walFrame = n + 24
		}
	})
	return s.walFrame
}
