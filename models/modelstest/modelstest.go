// Package modelstest opens fresh stores for tests.
package modelstest

import (
	"path/filepath"
	"testing"
	"time"

	"tokendesk/models"
)

// MustOpenStore opens a new database in a temporary directory and closes it
// when the test ends.
func MustOpenStore(tb testing.TB) *models.Store {
	tb.Helper()
	s, err := models.Open(models.Options{Path: filepath.Join(tb.TempDir(), "test.db"), TenantID: "acme"})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// WaitForCheckpoint polls s.Checkpoint until the WAL has been copied into
// the database to its end, and fails tb if that takes more than about two
// seconds.
func WaitForCheckpoint(tb testing.TB, s *models.Store) {
	tb.Helper()
	for range 100 {
		done, err := s.Checkpoint()
		if err != nil {
			tb.Fatal(err)
		}
		if done {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatal("the WAL was never checkpointed to its end")
}
