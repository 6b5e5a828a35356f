package models

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// queryPlan returns SQLite's plan for a query, one line per step.
func queryPlan(t *testing.T, db *gorm.DB, sql string, vars ...any) string {
	t.Helper()
	rows, err := db.Raw("EXPLAIN QUERY PLAN "+sql, vars...).Rows()
	if err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

func TestDeliveryListQueryPlans(t *testing.T) {
	s, err := Open(Options{Path: filepath.Join(t.TempDir(), "plan.db"), TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	str := func(v string) *string { return &v }
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	cur := &Cursor{At: day, ID: "f0"}
	tests := []struct {
		name      string
		filter    DeliveryFilter
		wantIndex string
	}{
		{"the mode's newest deliveries read deliveries_mode_created", DeliveryFilter{}, "deliveries_mode_created"},
		{"a later page reads the same index from the cursor", DeliveryFilter{Cursor: cur}, "deliveries_mode_created"},
		{"one endpoint's deliveries read deliveries_endpoint_created", DeliveryFilter{EndpointID: str("e")}, "deliveries_endpoint_created"},
		{"one endpoint's deliveries in a date range use its index", DeliveryFilter{EndpointID: str("e"), CreatedFrom: &day, CreatedBefore: &day}, "deliveries_endpoint_created"},
		{"a failed filter reads deliveries_mode_pending_failed", DeliveryFilter{Status: str("FAILED")}, "deliveries_mode_pending_failed (mode=? AND status=?)"},
		{"a pending filter reads deliveries_mode_pending_failed", DeliveryFilter{Status: str("PENDING")}, "deliveries_mode_pending_failed (mode=? AND status=?)"},
		{"a retrying filter reads deliveries_mode_retrying", DeliveryFilter{Status: str("RETRYING")}, "deliveries_mode_retrying"},
		{"an endpoint and retrying use an index in order", DeliveryFilter{EndpointID: str("e"), Status: str("RETRYING"), Cursor: cur}, ""},
		{"a succeeded filter reads the mode's deliveries in order", DeliveryFilter{Status: str("SUCCEEDED")}, "deliveries_mode_created"},
		{"an event type filter reads deliveries_mode_type_created", DeliveryFilter{EventType: str("USER_CREATED")}, "deliveries_mode_type_created"},
		{"a user filter reads deliveries_user_created", DeliveryFilter{UserID: str("acme-1")}, "deliveries_user_created"},
		{"an endpoint and a status use an index in order", DeliveryFilter{EndpointID: str("e"), Status: str("FAILED"), Cursor: cur}, ""},
		{"an endpoint and succeeded read the endpoint's deliveries in order", DeliveryFilter{EndpointID: str("e"), Status: str("SUCCEEDED")}, "deliveries_endpoint_created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.filter.Size = 10
			stmt := deliveryListQuery(s.R.Session(&gorm.Session{DryRun: true}), Sandbox, tt.filter).Find(&[]Delivery{}).Statement
			plan := queryPlan(t, s.R, stmt.SQL.String(), stmt.Vars...)
			t.Logf("plan:\n%s", plan)
			if strings.Contains(plan, "TEMP B-TREE") {
				t.Fatalf("the page is sorted after reading, not read in order:\n%s", plan)
			}
			if !strings.Contains(plan, "USING INDEX") && !strings.Contains(plan, "USING COVERING INDEX") {
				t.Fatalf("no index used:\n%s", plan)
			}
			if tt.wantIndex != "" && !strings.Contains(plan, tt.wantIndex) {
				t.Fatalf("want %s:\n%s", tt.wantIndex, plan)
			}
		})
	}

	t.Run("claiming reads the pending-only index in due order", func(t *testing.T) {
		plan := queryPlan(t, s.W, sqlClaim, "o", 1, 1, 1, "[]", 10)
		if !strings.Contains(plan, "deliveries_due") || strings.Contains(plan, "TEMP B-TREE") {
			t.Fatalf("got:\n%s", plan)
		}
	})

	t.Run("claiming with no endpoint at its cap reads the pending-only index in due order", func(t *testing.T) {
		plan := queryPlan(t, s.W, sqlClaimAny, "o", 1, 1, 1, 10)
		if !strings.Contains(plan, "deliveries_due") || strings.Contains(plan, "TEMP B-TREE") {
			t.Fatalf("got:\n%s", plan)
		}
	})

	t.Run("claiming past full endpoints still reads the pending-only index in due order", func(t *testing.T) {
		plan := queryPlan(t, s.W, sqlClaim, "o", 1, 1, 1, `["e1","e2"]`, 10)
		if !strings.Contains(plan, "deliveries_due") || strings.Contains(plan, "TEMP B-TREE") {
			t.Fatalf("got:\n%s", plan)
		}
	})

	t.Run("failing an endpoint's pending deliveries reads its status index", func(t *testing.T) {
		plan := queryPlan(t, s.W, sqlFailPendingOf, "r", 1, 1, "e")
		if !strings.Contains(plan, "deliveries_endpoint_pending_failed (endpoint_id=? AND status=?)") {
			t.Fatalf("got:\n%s", plan)
		}
	})

	t.Run("recovering an endpoint's failed deliveries reads its status index", func(t *testing.T) {
		plan := queryPlan(t, s.W, `SELECT COUNT(*) FROM deliveries WHERE mode = ? AND endpoint_id = ? AND status = 'FAILED' AND created_at >= ?`, "SANDBOX", "e", 1)
		if !strings.Contains(plan, "deliveries_endpoint_pending_failed (endpoint_id=? AND status=? AND created_at>?)") {
			t.Fatalf("got:\n%s", plan)
		}
	})

	t.Run("pruning reads attempts by start time", func(t *testing.T) {
		plan := queryPlan(t, s.W, `SELECT id FROM attempts WHERE started_at < ? LIMIT ?`, 1, 10)
		if !strings.Contains(plan, "attempts_started") {
			t.Fatalf("got:\n%s", plan)
		}
	})
}

func TestRetryingCountsReadTheirIndex(t *testing.T) {
	s, err := Open(Options{Path: t.TempDir() + "/db", TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct{ name, sql, index string }{
		{"the dashboard's count", `SELECT COUNT(*) FROM deliveries WHERE mode = 'SANDBOX' AND ` + retryingCond + ` AND created_at >= 0`, "deliveries_mode_retrying"},
		{"an endpoint's count", `SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE endpoint_id = 'e' AND ` + retryingCond + ` AND created_at >= 0 LIMIT 10)`, "deliveries_endpoint_retrying"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rows []struct{ Detail string }
			if err := s.R.Raw("EXPLAIN QUERY PLAN " + c.sql).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			var plan []string
			for _, r := range rows {
				plan = append(plan, r.Detail)
			}
			if got := strings.Join(plan, "\n"); !strings.Contains(got, c.index) {
				t.Fatalf("plan %q does not read %s", got, c.index)
			}
		})
	}
}
