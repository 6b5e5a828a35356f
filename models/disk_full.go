package models

import (
	"context"
	"errors"
	"strconv"
	"syscall"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// ErrDiskFull is what every write answers while the database's filesystem
// has no room: SERVER_UNAVAILABLE (503), a condition that passes, with a
// message that tells the operator what to do. SQLite rolls the transaction
// back, so nothing is half written, and the connection stays usable: the
// first write after space is freed succeeds.
var ErrDiskFull = &Error{Code: CodeServerUnavailable,
	Message: "the server's disk is full: nothing was saved; try again once space is freed"}

// IsDiskFull reports whether err is a write that failed for lack of space,
// from the store or straight from the SQLite driver.
func IsDiskFull(err error) bool {
	if errors.Is(err, ErrDiskFull) {
		return true
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		// SQLITE_FULL is the usual answer; growing the -shm file or a
		// checkpoint's write can fail as an I/O error whose errno says it.
		return se.Code == sqlite3.ErrFull || se.SystemErrno == syscall.ENOSPC || se.SystemErrno == syscall.EDQUOT
	}
	return errors.Is(err, syscall.ENOSPC)
}

// noteWrite keeps the store's disk-full state, for /healthz, and turns a
// failed write into ErrDiskFull when the disk is full.
func (s *Store) noteWrite(err error) error {
	if err == nil {
		// A success does not clear the state: on a full disk small
		// writes still fit in the WAL's reused space while anything that
		// grows a file fails, so Health decides when space is back.
		s.commits.Add(1)
		return nil
	}
	if IsDiskFull(err) {
		s.diskFull.Store(true)
		return ErrDiskFull
	}
	if IsUnreachable(err) {
		return ErrUnreachable
	}
	return err
}

// DiskFull reports whether a write failed for lack of space and Health has
// not seen the space come back since.
func (s *Store) DiskFull() bool { return s.diskFull.Load() }

// Health says whether the store can serve: reads answer and, when the last
// write found the disk full, a small write succeeds again. It answers
// ErrDiskFull while the disk stays full, so /healthz names the cause.
func (s *Store) Health(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return err
	}
	if !s.DiskFull() {
		return nil
	}
	// A one-row write may fit in the last few blocks while a user's does
	// not: the disk counts as full until some room is back.
	if free, ok := freeBytes(s.path); ok && free < minFreeBytes {
		return ErrDiskFull
	}
	if err := s.probeWrite(ctx); err != nil {
		return err
	}
	s.diskFull.Store(false)
	return nil
}

// minFreeBytes is the room the disk needs before a full disk counts as
// freed: a few batches of writes.
const minFreeBytes = 1 << 20

// probeWrite writes one small row, so recovery is noticed without waiting
// for a client's write.
func (s *Store) probeWrite(ctx context.Context) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO settings(key, value) VALUES ('health_probe', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", strconv.FormatInt(s.Now().UnixNano(), 10)).Error
	})
}
