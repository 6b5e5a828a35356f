package models

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/mattn/go-sqlite3"
)

// The database holds sealed secrets, hashed credentials and every user's
// metadata: only the account that runs tokendesk reads it.
const privateFileMode = 0o600

// prepareFiles creates the database file 0600 before SQLite opens it.
// SQLite creates the -wal and -shm files with the database file's mode, so
// all three stay private whatever the umask. Existing files that others can
// read are left as they are (the operator may have reasons) but reported.
func prepareFiles(path string) (warnings []string, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, privateFileMode)
	switch {
	case err == nil:
		// The umask can only remove bits from 0600; Chmod makes it exact.
		cerr := f.Chmod(privateFileMode)
		if err := f.Close(); err != nil || cerr != nil {
			return nil, fmt.Errorf("create database %s: %w", path, errors.Join(err, cerr))
		}
	case errors.Is(err, fs.ErrExist):
	default:
		return nil, fmt.Errorf("create database %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if fi.Mode().Perm()&0o077 != 0 {
			warnings = append(warnings, fmt.Sprintf("%s is readable or writable by others (mode %04o); it holds secrets: chmod 600 %s",
				p, fi.Mode().Perm(), p))
		}
	}
	return warnings, nil
}

const (
	writerDriver = "sqlite3-tokendesk-writer"
	readerDriver = "sqlite3-tokendesk-reader"
)

var registerOnce sync.Once

// registerDrivers registers the SQLite driver twice, once per pool, each
// with the pragmas its connections need, so a connection that database/sql
// reopens gets them too. Drivers are registered process-wide, hence once.
func registerDrivers() {
	registerOnce.Do(func() {
		keepFreedHeap()
		sql.Register(writerDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			// Checkpoints copy the WAL into the database and fsync; run
			// inside a commit they stall that request and every one queued
			// behind the single writer. The writer never checkpoints by
			// itself; the checkpoint loop decides when (see checkpoint.go).
			// journal_size_limit keeps the restarted WAL file at the size
			// where it restarts, so it is not cut and regrown each time.
			// temp_store = MEMORY keeps each statement's rollback journal in
			// memory: a multi-row insert (the request log's 500 rows, a
			// token batch) journals every page it changes so that a failed
			// row can undo the statement, and past 64 KiB SQLite spilled
			// that journal to a file in /var/tmp, written and read back on
			// every batch. The writer's statements touch a bounded number of
			// pages (batches are capped), so the memory is too.
			_, err := c.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = %d; PRAGMA temp_store = MEMORY", walFileBytes), nil)
			return err
		}})
		sql.Register(readerDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec(fmt.Sprintf("PRAGMA journal_size_limit = %d", walFileBytes), nil)
			return err
		}})
	})
}
