package models

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRecordRoundQueryPlan: a round's settlements arrive as one JSON array;
// SQLite must walk the array and find each delivery by its rowid, never
// scan the deliveries for rows in the array.
func TestRecordRoundQueryPlan(t *testing.T) {
	s, err := Open(Options{Path: filepath.Join(t.TempDir(), "plan.db"), TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	plan := queryPlan(t, s.W, sqlSettleBatch, 1, "o", `[[1,"SUCCEEDED",1,null,200,"",0,0]]`)
	if !strings.Contains(plan, "SCAN jsonb_each") || !strings.Contains(plan, "SEARCH deliveries USING INTEGER PRIMARY KEY (rowid=?)") {
		t.Fatalf("plan:\n%s", plan)
	}
}
