package models

import (
	"path/filepath"
	"testing"
)

// The SQLite writer connection is set up once, at connect
// (registerDrivers): no automatic checkpoints inside commits, the WAL kept
// at the size where it restarts, and statement journals in memory (a
// 500-row insert spilled its journal to a file in /var/tmp otherwise).
func TestWriterPragmas(t *testing.T) {
	s := openSealTest(t, filepath.Join(t.TempDir(), "td.db"), "")
	for pragma, want := range map[string]int64{
		"wal_autocheckpoint": 0,
		"journal_size_limit": walFileBytes,
		"temp_store":         2, // MEMORY
	} {
		var got int64
		if err := s.W.Raw("PRAGMA " + pragma).Scan(&got).Error; err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("writer's %s = %d, want %d", pragma, got, want)
		}
	}
}
