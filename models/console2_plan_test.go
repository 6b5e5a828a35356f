package models

import (
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestDeliveryLogAndAuditQueryPlans asks SQLite how it runs every filter
// combination the delivery log and the audit log offer: each must search an
// index (never read the whole table) and take its order from it.
func TestDeliveryLogAndAuditQueryPlans(t *testing.T) {
	s, err := Open(Options{Path: t.TempDir() + "/db", TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	next := day.AddDate(0, 0, 1)
	ep, st, typ, user := "e1", DeliveryFailed, EventUserCreated, "acme-1"
	cursor := &Cursor{At: day, ID: "d"}
	plan := func(t *testing.T, q func(tx *gorm.DB) *gorm.DB) string {
		sql := s.R.ToSQL(q)
		var rows []struct{ Detail string }
		if err := s.R.Raw("EXPLAIN QUERY PLAN " + sql).Scan(&rows).Error; err != nil {
			t.Fatalf("explain %s: %v", sql, err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, r.Detail)
		}
		return sql + "\nplan: " + strings.Join(out, " | ")
	}
	bad := func(p string) bool {
		return strings.Contains(p, "USE TEMP B-TREE") ||
			(strings.Contains(p, "SCAN ") && !strings.Contains(p, "USING INDEX") && !strings.Contains(p, "USING COVERING INDEX"))
	}
	// Every subset of the five filters, with and without a cursor.
	for mask := 0; mask < 32; mask++ {
		for _, withCursor := range []bool{false, true} {
			f := DeliveryFilter{Size: 50}
			var names []string
			if mask&1 != 0 {
				f.EndpointID, names = &ep, append(names, "endpoint")
			}
			if mask&2 != 0 {
				f.Status, names = &st, append(names, "status")
			}
			if mask&4 != 0 {
				f.EventType, names = &typ, append(names, "type")
			}
			if mask&8 != 0 {
				f.UserID, names = &user, append(names, "user")
			}
			if mask&16 != 0 {
				f.CreatedFrom, f.CreatedBefore, names = &day, &next, append(names, "time")
			}
			if withCursor {
				f.Cursor, names = cursor, append(names, "cursor")
			}
			name := "the delivery log filtered by " + strings.Join(names, ", ") + " uses an index in order"
			if len(names) == 0 {
				name = "the unfiltered delivery log uses an index in order"
			}
			t.Run(name, func(t *testing.T) {
				p := plan(t, func(tx *gorm.DB) *gorm.DB { return deliveryListQuery(tx, Sandbox, f).Find(&[]Delivery{}) })
				if bad(p) {
					t.Error(p)
				}
				// A deep page starts its index range at the cursor instead of
				// walking down to it from the newest row.
				if f.Cursor != nil && f.UserID == nil && !strings.Contains(p, "created_at<") {
					t.Errorf("the cursor does not bound the index range:\n%s", p)
				}
			})
		}
	}
	// A delivery has a handful of attempts, so sorting them is no cost.
	t.Run("a delivery's attempts are read through their index", func(t *testing.T) {
		if p := plan(t, func(tx *gorm.DB) *gorm.DB {
			return tx.Scopes(ScopeMode(Sandbox)).Where("delivery_id = ?", "d").Order("number, started_at, id").Find(&[]Attempt{})
		}); !strings.Contains(p, "SEARCH attempts USING INDEX attempts_delivery (delivery_id=?)") {
			t.Error(p)
		}
	})
	for _, c := range []struct {
		name string
		f    AuditFilter
	}{
		{"the audit log", AuditFilter{}},
		{"the audit log by operator", AuditFilter{OperatorID: "o"}},
		{"the audit log by action", AuditFilter{Action: AuditDeliveryResent}},
		{"the audit log by target", AuditFilter{TargetID: "x"}},
		{"the audit log by time", AuditFilter{From: &day, Before: &next}},
		{"the audit log by action and time after a cursor", AuditFilter{Action: AuditDeliveryResent, From: &day, Cursor: cursor}},
		{"the audit log by operator and action", AuditFilter{OperatorID: "o", Action: AuditDeliveryResent}},
	} {
		t.Run(c.name+" uses an index in order", func(t *testing.T) {
			if p := plan(t, func(tx *gorm.DB) *gorm.DB { return auditListQuery(tx, c.f).Find(&[]AuditEntry{}) }); bad(p) {
				t.Error(p)
			}
		})
	}
	t.Run("an event's deliveries are read in order from their index", func(t *testing.T) {
		if p := plan(t, func(tx *gorm.DB) *gorm.DB {
			return tx.Scopes(ScopeMode(Sandbox)).Where("event_id = ?", "v").Order("created_at, id").Find(&[]Delivery{})
		}); bad(p) || !strings.Contains(p, "deliveries_event_created (event_id=?)") {
			t.Error(p)
		}
	})
	t.Run("the health counts and last failure read a range of an endpoint index", func(t *testing.T) {
		for _, c := range []struct{ q, index string }{
			{`SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE endpoint_id = 'e' AND created_at >= 1 LIMIT 10)`,
				"INDEX deliveries_endpoint_created (endpoint_id=? AND created_at>?)"},
			{`SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE endpoint_id = 'e' AND status = 'FAILED' AND created_at >= 1 LIMIT 10)`,
				"INDEX deliveries_endpoint_pending_failed (endpoint_id=? AND status=? AND created_at>?)"},
			{`SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE endpoint_id = 'e' AND status = 'PENDING' AND created_at >= 1 LIMIT 10)`,
				"INDEX deliveries_endpoint_pending_failed (endpoint_id=? AND status=? AND created_at>?)"},
			{`SELECT COALESCE(completed_at, updated_at) FROM deliveries WHERE endpoint_id = 'e' AND status = 'FAILED' ORDER BY created_at DESC LIMIT 1`,
				"INDEX deliveries_endpoint_pending_failed (endpoint_id=? AND status=?)"},
		} {
			var rows []struct{ Detail string }
			s.R.Raw(`EXPLAIN QUERY PLAN ` + c.q).Scan(&rows)
			var out []string
			for _, r := range rows {
				out = append(out, r.Detail)
			}
			if p := strings.Join(out, " | "); !strings.Contains(p, c.index) || strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("%s\n%s", c.q, p)
			}
		}
	})
}
