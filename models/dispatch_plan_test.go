package models

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRecordRoundQueryPlan: a round's settlements arrive as one JSON array;
// SQLite must walk the array and find each delivery by its key, never scan
// the deliveries for ids in the array.
func TestRecordRoundQueryPlan(t *testing.T) {
	s, err := Open(Options{Path: filepath.Join(t.TempDir(), "plan.db"), TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	plan := queryPlan(t, s.W, sqlSettleBatch, 1, "o", `[["d","SUCCEEDED",1,null,200,"",0,0]]`)
	if !strings.Contains(plan, "SCAN jsonb_each") || !strings.Contains(plan, "SEARCH deliveries USING INDEX sqlite_autoindex_deliveries_1 (id=?)") {
		t.Fatalf("plan:\n%s", plan)
	}
}
