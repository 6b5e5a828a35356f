package web

import (
	"context"
	"github.com/PuerkitoBio/goquery"
	"strings"
	"testing"
	"time"

	"tokendesk/models"
)

func TestRetentionPage(t *testing.T) {
	a := newConsoleApp(t)
	// The app's own prune at start records its retention too: let it land
	// first, so the page shows this test's run.
	waitForStartPrune(t, a.store)
	if _, err := a.store.Prune(context.Background(), models.Retention{Tokens: 30 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	b := a.signedIn(t, models.RoleAdmin)
	resp, doc, body := b.page("GET", "/retention", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /retention: %d\n%s", resp.StatusCode, body)
	}
	rows := doc.Find(`[data-testid=retention-row]`)
	if rows.Length() != len(models.PruneKinds) {
		t.Fatalf("got %d rows, want one per kind", rows.Length())
	}
	keep := map[string]string{}
	rows.Each(func(_ int, r *goquery.Selection) {
		kind, _ := r.Attr("data-kind")
		keep[kind] = strings.TrimSpace(r.Find(`[data-testid=retention-keep]`).Text())
	})
	if keep["tokens"] != "30 days" || keep["events"] != "forever" {
		t.Errorf("kept: %v", keep)
	}
	if doc.Find(`[data-testid=retention-last-run]`).Length() != 1 {
		t.Error("the last run is not shown")
	}
	t.Run("support staff may not see it", func(t *testing.T) {
		s := a.signedIn(t, models.RoleSupport)
		if resp, _, _ := s.page("GET", "/retention", nil); resp.StatusCode != 403 {
			t.Errorf("support: got %d, want 403", resp.StatusCode)
		}
	})
}

// waitForStartPrune waits until the app's own prune at start has run and
// recorded its run: a test's own prune or rows made before it ends race
// with it (on PostgreSQL it came after a test's old rows were made and
// took them before the test's prune could).
func waitForStartPrune(t *testing.T, s *models.Store) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rep, err := s.RetentionReport(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !rep.LastRunAt.IsZero() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the app's prune at start never recorded its run")
		}
	}
}
