package models_test

import (
	"context"
	"testing"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestCheckpoint(t *testing.T) {
	t.Run("reports the WAL copied to its end once nothing is left to copy", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		for range 50 {
			if _, err := s.CreateUser(context.Background(), models.Sandbox, nil, "test"); err != nil {
				t.Fatal(err)
			}
		}
		modelstest.WaitForCheckpoint(t, s)
		// Nothing written since: the next one has nothing to copy either.
		if done, err := s.Checkpoint(); err != nil || !done {
			t.Fatalf("got %v, %v; want a complete checkpoint", done, err)
		}
	})
}
