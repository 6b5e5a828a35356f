package models_test

import (
	"testing"

	"tokendesk/models"
)

// reopenAsOlder takes the database at path back to what an older release
// left (undo runs in order on s, which it closes), then opens it again as
// this release would, running the migrations that were undone.
func reopenAsOlder(t *testing.T, s *models.Store, path string, undo ...string) *models.Store {
	t.Helper()
	for _, q := range undo {
		if err := s.W.Exec(q).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	s, err := models.Open(models.Options{Path: path, TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
