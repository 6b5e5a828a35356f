package models_test

import (
	"path/filepath"
	"testing"
	"time"

	"tokendesk/models"
)

// TestStatusIndicesMigrationKeepsTheLastSuccess opens a database as the
// release before migration 9 left it, with deliveries that succeeded at
// known times, and checks the migration swaps the indices and carries each
// endpoint's last success over.
func TestStatusIndicesMigrationKeepsTheLastSuccess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := models.Open(models.Options{Path: path, TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	ep := mustCreateEndpoint(t, s, models.Sandbox, "https://example.com/hook")
	latest := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for i, status := range []string{models.DeliverySucceeded, models.DeliverySucceeded, models.DeliveryFailed} {
		id := newDelivery(t, s)
		done := latest.Add(-time.Duration(i) * time.Hour).UnixMilli()
		if status == models.DeliveryFailed {
			done = latest.Add(time.Hour).UnixMilli() // a later failure does not count
		}
		if err := s.W.Exec("UPDATE deliveries SET status = ?, completed_at = ? WHERE id = ?", status, done, id).Error; err != nil {
			t.Fatal(err)
		}
	}
	quiet := mustCreateEndpoint(t, s, models.Sandbox, "https://example.com/quiet")
	s = reopenAsOlder(t, s, path,
		"DROP INDEX deliveries_mode_pending_failed", "DROP INDEX deliveries_endpoint_pending_failed",
		"CREATE INDEX deliveries_mode_status_created ON deliveries(mode, status, created_at, id)",
		"CREATE INDEX deliveries_endpoint_status_created ON deliveries(endpoint_id, status, created_at)",
		"ALTER TABLE webhook_endpoints DROP COLUMN last_success_at",
		"DELETE FROM schema_migrations WHERE name = 'status indices hold pending and failed deliveries only'",
	)

	t.Run("the endpoint's last success is its newest succeeded delivery's completion", func(t *testing.T) {
		h, err := s.WebhookHealth(t.Context(), models.Sandbox, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if h.LastSuccessAt == nil || !h.LastSuccessAt.Equal(latest) {
			t.Fatalf("last success %v, want %v", h.LastSuccessAt, latest)
		}
		if h.Succeeded != 2 || h.Failed != 1 {
			t.Fatalf("health %+v, want 2 succeeded and 1 failed", h)
		}
	})
	t.Run("an endpoint that never succeeded has no last success", func(t *testing.T) {
		h, err := s.WebhookHealth(t.Context(), models.Sandbox, quiet.ID)
		if err != nil {
			t.Fatal(err)
		}
		if h.LastSuccessAt != nil {
			t.Fatalf("last success %v, want none", h.LastSuccessAt)
		}
	})
	t.Run("only the partial status indices remain", func(t *testing.T) {
		var names []string
		if err := s.R.Raw(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries'
			AND (name LIKE '%status%' OR name LIKE '%pending_failed')`).Scan(&names).Error; err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{"deliveries_mode_pending_failed": true, "deliveries_endpoint_pending_failed": true}
		if len(names) != len(want) || !want[names[0]] || !want[names[1]] {
			t.Fatalf("indices %v, want %v", names, want)
		}
	})
}
