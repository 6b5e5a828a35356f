package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// The dispatcher's claim and settle keep their plans on a backlog the
// planner has no statistics for yet (a burst of deliveries before
// autovacuum analyzes the table): the claim reads the due index in order
// and stops at its limit, rather than reading and sorting every due row,
// and both find the rows they update by tuple id, not by a join whose
// shape follows the planner's guess of the table's size.
func TestPostgresQueuePlansHoldOnAFreshBacklog(t *testing.T) {
	s := openPostgresSchemaStore(t)
	db, err := s.W.DB()
	if err != nil {
		t.Fatal(err)
	}
	const due, held = 20_000, 1_000
	now := int64(1796624700000)
	for _, q := range []string{
		`INSERT INTO webhook_endpoints(id, mode, name, url, secret, created_at, updated_at)
			SELECT 'ep' || i, 'SANDBOX', 'e', 'https://example.com/' || i, 's', 1, 1 FROM generate_series(1, 100) i`,
		`INSERT INTO events(id, mode, type, user_id, payload, created_at)
			SELECT 'ev' || i, 'SANDBOX', 'USER_CREATED', 'u' || i, '{}', 1 FROM generate_series(1, 200) i`,
		fmt.Sprintf(`INSERT INTO deliveries(id, mode, endpoint_id, event_id, event_type, status, next_attempt_at, created_at, updated_at)
			SELECT 'd' || i, 'SANDBOX', 'ep' || (i %% 100 + 1), 'ev' || (i / 100 + 1), 'USER_CREATED', 'PENDING', %d + i, 1, 1
			FROM generate_series(0, %d) i`, now, due-1),
		fmt.Sprintf(`UPDATE deliveries SET lease_owner = 'other', lease_expires_at = %d
			WHERE id IN (SELECT id FROM deliveries ORDER BY next_attempt_at LIMIT %d)`, now+3_600_000, held),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
	explain := func(t *testing.T, query string, args ...any) string {
		t.Helper()
		tx, err := db.BeginTx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := s.d.queueTx(context.Background(), tx); err != nil {
			t.Fatal(err)
		}
		var out string
		if err := tx.QueryRow("EXPLAIN (FORMAT JSON) "+s.d.statement(query), args...).Scan(&out); err != nil {
			t.Fatalf("explain: %v", err)
		}
		var plans []struct{ Plan pgPlanNode }
		if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
			t.Fatalf("explain: %v in %s", err, out)
		}
		var nodes []string
		plans[0].Plan.walk(func(n pgPlanNode) { nodes = append(nodes, n.NodeType+" "+n.Relation+" "+n.Index) })
		return strings.Join(nodes, "\n")
	}
	t.Run("the claim reads the due index in order and updates by tuple id", func(t *testing.T) {
		plan := explain(t, sqlClaimAny, "me", now+60_000, now+due, now, 256)
		for _, bad := range []string{"Sort", "Bitmap", "Seq Scan"} {
			if strings.Contains(plan, bad) {
				t.Errorf("the plan has a %s:\n%s", bad, plan)
			}
		}
		for _, want := range []string{"Index Scan deliveries deliveries_due", "Tid Scan deliveries"} {
			if !strings.Contains(plan, want) {
				t.Errorf("the plan has no %s:\n%s", want, plan)
			}
		}
	})
	t.Run("the settle finds a round's rows by tuple id", func(t *testing.T) {
		var batch []byte
		rows, err := db.Query(`SELECT id, ((ctid::text::point)[0]::bigint << 16) | (ctid::text::point)[1]::bigint
			FROM deliveries WHERE lease_owner = 'other' LIMIT 256`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			var rowid int64
			if err := rows.Scan(&id, &rowid); err != nil {
				t.Fatal(err)
			}
			batch = append(batch, ',')
			batch = appendSettleJSON(batch, rowid, &settled{status: DeliverySucceeded, auto: 1}, 200, 0, id)
		}
		rows.Close()
		batch[0] = '['
		plan := explain(t, sqlSettleBatch, now, "other", string(append(batch, ']')))
		for _, bad := range []string{"Bitmap", "Seq Scan"} {
			if strings.Contains(plan, bad) {
				t.Errorf("the plan has a %s:\n%s", bad, plan)
			}
		}
		if !strings.Contains(plan, "Tid Scan deliveries") {
			t.Errorf("the plan has no Tid Scan of deliveries:\n%s", plan)
		}
	})
}
