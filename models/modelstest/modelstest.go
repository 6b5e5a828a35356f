// Package modelstest opens fresh stores for tests.
package modelstest

import (
	"path/filepath"
	"testing"

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
