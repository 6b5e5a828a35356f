package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// The PostgreSQL counterparts of the SQLite plan tests (query_plan_test.go,
// delivery_plan_test.go, console2_plan_test.go, retention_test.go): every
// list page, the dispatcher's claim and the prune batches must read an
// index in the order they return rows. The planner is asked with the easy
// escapes priced out (enable_seqscan, enable_bitmapscan and enable_sort
// off), so a missing index shows as a sequential scan or a sort despite
// the penalty rather than hiding behind a small table's cheap scan.

// openPostgresPlanStore opens a store on a new schema of the server
// TOKENDESK_TEST_POSTGRES names, filled with a few thousand rows of every
// listed table and analyzed; it skips the test when the variable is unset.
func openPostgresPlanStore(t *testing.T) *Store {
	t.Helper()
	s := openPostgresSchemaStore(t)
	db, err := s.W.DB()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{postgresPlanFill, postgresPlanVacuum} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
	return s
}

// openPostgresSchemaStore opens an empty store on a new schema of the
// server TOKENDESK_TEST_POSTGRES names, dropped when the test ends; it
// skips the test when the variable is unset.
func openPostgresSchemaStore(t *testing.T) *Store {
	t.Helper()
	base := os.Getenv("TOKENDESK_TEST_POSTGRES")
	if base == "" {
		t.Skip("TOKENDESK_TEST_POSTGRES is not set: PostgreSQL's plans are not checked (.ci/with-postgres starts a server)")
	}
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatalf("TOKENDESK_TEST_POSTGRES: %v", err)
	}
	admin := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { admin.Close() })
	var suffix [6]byte
	rand.Read(suffix[:])
	schema := "t_" + hex.EncodeToString(suffix[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	s, err := Open(Options{Path: base + sep + "search_path=" + schema, TenantID: "acme", SecretKeyFile: t.TempDir() + "/master.key"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// postgresPlanFill: 5,000 users with a metadata pair each, 50 endpoints,
// 20,000 events over three and a half days with a delivery each (a tenth
// pending, half of those retrying; a tenth failed), attempts, tokens, audit entries and API
// requests, a tenth of each in production. Times start 2026-01-01.
// Production's events and deliveries are the newest tenth, a block: the
// planner prices the heap reads of a (mode, …) index by how well mode
// follows the table's physical order, and with the modes interleaved it
// would price the retrying count's index-only scan as random reads
// whenever VACUUM could not set the visibility map (it cannot while any
// transaction of the server, in any database, is older than the fill).
const postgresPlanFill = `
INSERT INTO users(id, mode, external_metadata, created_at)
	SELECT 'acme-' || lpad(g::text, 6, '0'), CASE WHEN g % 10 = 9 THEN 'PRODUCTION' ELSE 'SANDBOX' END,
		'{"crm":"crm-' || g || '"}', 1767225600000 + g * 60000
	FROM generate_series(1, 5000) g;
INSERT INTO user_metadata(user_id, mode, key, value)
	SELECT id, mode, 'crm', 'crm-' || ltrim(substr(id, 6), '0') FROM users;
INSERT INTO webhook_endpoints(id, mode, name, url, secret, created_at, updated_at)
	SELECT 'e' || g, CASE WHEN g = 50 THEN 'PRODUCTION' ELSE 'SANDBOX' END, 'e', 'https://example.com/hook', 's', 0, 0
	FROM generate_series(1, 50) g;
INSERT INTO events(id, mode, type, user_id, payload, created_at)
	SELECT 'v' || lpad(g::text, 6, '0'), CASE WHEN g > 18000 THEN 'PRODUCTION' ELSE 'SANDBOX' END,
		(ARRAY['USER_CREATED', 'USER_UPDATED', 'TOKEN_ISSUED', 'USER_DELETED'])[g % 4 + 1],
		'acme-' || lpad((g % 5000 + 1)::text, 6, '0'), '{}', 1767225600000 + g * 15000
	FROM generate_series(1, 20000) g;
INSERT INTO deliveries(id, mode, endpoint_id, event_id, event_type, user_id, status, attempt_count,
		next_attempt_at, created_at, updated_at)
	SELECT 'd' || substr(id, 2), mode, CASE WHEN mode = 'PRODUCTION' THEN 'e50' ELSE 'e' || (g % 49 + 1) END,
		id, type, user_id, CASE g % 10 WHEN 3 THEN 'PENDING' WHEN 7 THEN 'FAILED' ELSE 'SUCCEEDED' END,
		CASE WHEN g % 10 = 3 THEN g / 10 % 2 ELSE 1 END, CASE WHEN g % 10 = 3 THEN created_at + 60000 END, created_at, created_at
	FROM (SELECT *, (created_at - 1767225600000) / 15000 AS g FROM events) e;
INSERT INTO attempts(id, delivery_id, mode, number, trigger, url, started_at)
	SELECT 'a' || substr(id, 2), id, mode, 1, 'AUTOMATIC', 'https://example.com/hook', created_at
	FROM deliveries WHERE attempt_count > 0;
INSERT INTO link_tokens(id, mode, user_id, token_hash, kid, issued_at, expires_at)
	SELECT 'tk' || substr(id, 6), mode, id, md5(id), 'k', created_at, created_at + 18000000 FROM users;
INSERT INTO audit_entries(id, operator_id, action, target_id, created_at)
	SELECT 'au' || g, 'o' || (g % 5), (ARRAY['DELIVERY_RESENT', 'USER_CREATED', 'TOKEN_REVOKED'])[g % 3 + 1],
		'acme-' || lpad((g % 5000 + 1)::text, 6, '0'), 1767225600000 + g * 30000
	FROM generate_series(1, 10000) g;
INSERT INTO api_requests(id, mode, api_key_id, method, path, user_id, status, created_at)
	SELECT 'r' || g, CASE WHEN g % 10 = 0 THEN 'PRODUCTION' ELSE 'SANDBOX' END, 'k' || (g % 7), 'POST', '/v1/tokens',
		CASE WHEN g % 3 = 0 THEN '' ELSE 'acme-' || lpad((g % 5000 + 1)::text, 6, '0') END,
		CASE WHEN g % 20 = 0 THEN 404 ELSE 200 END, 1767225600000 + g * 10000
	FROM generate_series(1, 20000) g;`

// postgresPlanVacuum sets the visibility map as autovacuum would, so a
// count over a partial index is priced as the index-only scan it is, and
// gives the planner the tables' sizes. Its own statement: VACUUM does not
// run in a transaction.
const postgresPlanVacuum = `VACUUM ANALYZE users, user_metadata, webhook_endpoints, events, deliveries, attempts,
	link_tokens, audit_entries, api_requests`

// pgPlanNode is one node of EXPLAIN (FORMAT JSON)'s tree, with what the
// checks read.
type pgPlanNode struct {
	NodeType  string       `json:"Node Type"`
	Relation  string       `json:"Relation Name"`
	Index     string       `json:"Index Name"`
	IndexCond string       `json:"Index Cond"`
	Plans     []pgPlanNode `json:"Plans"`
}

func (n pgPlanNode) walk(fn func(pgPlanNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// String is the plan one node a line, indented by depth, for failures.
func (n pgPlanNode) String() string {
	var b strings.Builder
	var write func(n pgPlanNode, depth int)
	write = func(n pgPlanNode, depth int) {
		b.WriteString(strings.Repeat("  ", depth) + n.NodeType)
		if n.Relation != "" {
			b.WriteString(" on " + n.Relation)
		}
		if n.Index != "" {
			b.WriteString(" using " + n.Index)
		}
		if n.IndexCond != "" {
			b.WriteString(" (" + n.IndexCond + ")")
		}
		b.WriteString("\n")
		for _, c := range n.Plans {
			write(c, depth+1)
		}
	}
	write(n, 0)
	return b.String()
}

// explainPostgres returns PostgreSQL's plan for query (placeholders $1…)
// with sequential scans, bitmap scans and sorts priced out, on one
// transaction that is rolled back, so nothing else sees the settings.
func explainPostgres(t *testing.T, s *Store, query string, args ...any) pgPlanNode {
	t.Helper()
	db, err := s.R.DB()
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, set := range []string{"enable_seqscan", "enable_bitmapscan", "enable_sort"} {
		if _, err := tx.Exec("SET LOCAL " + set + " = off"); err != nil {
			t.Fatal(err)
		}
	}
	var out string
	if err := tx.QueryRow("EXPLAIN (FORMAT JSON) "+query, args...).Scan(&out); err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	var plans []struct{ Plan pgPlanNode }
	if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
		t.Fatalf("explain %s: %v in %s", query, err, out)
	}
	return plans[0].Plan
}

// explainGorm explains the query a store builder makes, as GORM would send it.
func explainGorm(t *testing.T, s *Store, q func(tx *gorm.DB) *gorm.DB) (pgPlanNode, string) {
	t.Helper()
	stmt := q(s.R.Session(&gorm.Session{DryRun: true})).Statement
	sql := stmt.SQL.String()
	return explainPostgres(t, s, sql, stmt.Vars...), sql
}

// planCheck says what is wrong with a plan, "" when nothing: a sequential
// scan; a sort (a full one unless allowSort; an incremental one, which
// sorts only rows that tie on the index's leading order, unless
// allowPartialSort); no index scan on any of the indices named (a|b).
type planCheck struct {
	index            string
	allowSort        bool
	allowPartialSort bool
}

func (c planCheck) problem(plan pgPlanNode) string {
	var problems []string
	found := c.index == ""
	plan.walk(func(n pgPlanNode) {
		switch n.NodeType {
		case "Seq Scan":
			problems = append(problems, "reads the whole of "+n.Relation)
		case "Sort":
			if !c.allowSort {
				problems = append(problems, "sorts the rows it read")
			}
		case "Incremental Sort":
			if !c.allowSort && !c.allowPartialSort {
				problems = append(problems, "sorts the rows that tie on the index's order")
			}
		case "Index Scan", "Index Only Scan":
			for _, want := range strings.Split(c.index, "|") {
				if n.Index == want {
					found = true
				}
			}
		}
	})
	if !found {
		problems = append(problems, "does not scan "+c.index)
	}
	return strings.Join(problems, "; ")
}

func TestPostgresListPlansReadAnIndexInOrder(t *testing.T) {
	s := openPostgresPlanStore(t)
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	next := day.AddDate(0, 0, 1)
	cursor := &Cursor{At: day, ID: "acme-001000"}
	str := func(v string) *string { return &v }

	t.Run("notices a query that reads the whole table", func(t *testing.T) {
		plan, _ := explainGorm(t, s, func(tx *gorm.DB) *gorm.DB {
			return tx.Model(&User{}).Where("external_metadata = ?", "{}").Order("created_at").Find(&[]User{})
		})
		if (planCheck{index: "users_mode_created"}).problem(plan) == "" {
			t.Errorf("a query no index serves passed the check:\n%s", plan)
		}
	})

	for _, c := range []struct {
		name string
		f    UserFilter
		planCheck
	}{
		{"users newest first", UserFilter{Size: 25}, planCheck{index: "users_mode_created"}},
		{"users after a deep cursor", UserFilter{Size: 25, Cursor: cursor}, planCheck{index: "users_mode_created"}},
		{"users created between two days", UserFilter{Size: 25, CreatedFrom: &day, CreatedBefore: &next}, planCheck{index: "users_mode_created"}},
		// Users found by a metadata value are sorted after the lookup, as
		// on SQLite: their number is bounded by how many hold the value.
		{"users by a metadata value", UserFilter{Size: 25, MetadataValue: str("CRM-42")},
			planCheck{index: "user_metadata_value_nocase", allowSort: true}},
		{"users by a metadata value after a cursor", UserFilter{Size: 25, MetadataValue: str("crm-42"), Cursor: cursor},
			planCheck{index: "user_metadata_value_nocase", allowSort: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan, sql := explainGorm(t, s, func(tx *gorm.DB) *gorm.DB { return userListQuery(s.d, tx, Sandbox, c.f).Find(&[]User{}) })
			if p := c.problem(plan); p != "" {
				t.Errorf("%s\n%s\n%s", p, sql, plan)
			}
			if c.f.Cursor != nil && c.f.MetadataValue == nil && !indexBounds(plan, "created_at <=", "users_mode_created") {
				t.Errorf("the cursor does not bound the index range:\n%s", plan)
			}
		})
	}

	for _, c := range []struct {
		name  string
		query string
		args  []any
	}{
		{"a metadata value in any case", sqlMetadataEqual, []any{Sandbox, "CRM-42", SearchHitLimit + 1}},
		{"the start of metadata values", sqlMetadataPrefix, []any{Sandbox, likePrefix("CRM-42"), SearchHitLimit + 1}},
	} {
		t.Run("search for "+c.name, func(t *testing.T) {
			plan := explainPostgres(t, s, s.d.statement(c.query), c.args...)
			if p := (planCheck{index: "user_metadata_value_nocase"}).problem(plan); p != "" {
				t.Errorf("%s\n%s", p, plan)
			}
			if !indexBounds(plan, "lower(value)", "user_metadata_value_nocase") {
				t.Errorf("the value does not bound the index range:\n%s", plan)
			}
		})
	}

	// The delivery log: each filter alone and with a cursor, as the console
	// offers them, and the pairs SQLite's test names.
	for _, c := range []struct {
		name string
		f    DeliveryFilter
		planCheck
	}{
		{"the mode's deliveries", DeliveryFilter{}, planCheck{index: "deliveries_mode_created"}},
		{"pending deliveries", DeliveryFilter{Status: str(DeliveryPending)}, planCheck{index: "deliveries_mode_pending_failed"}},
		{"failed deliveries", DeliveryFilter{Status: str(DeliveryFailed)}, planCheck{index: "deliveries_mode_pending_failed"}},
		{"retrying deliveries", DeliveryFilter{Status: str(DeliveryRetrying)}, planCheck{index: "deliveries_mode_retrying"}},
		{"succeeded deliveries", DeliveryFilter{Status: str(DeliverySucceeded)}, planCheck{index: "deliveries_mode_created"}},
		{"an endpoint's deliveries", DeliveryFilter{EndpointID: str("e7")}, planCheck{index: "deliveries_endpoint_created"}},
		{"an endpoint's failed deliveries", DeliveryFilter{EndpointID: str("e7"), Status: str(DeliveryFailed)},
			planCheck{index: "deliveries_endpoint_created|deliveries_endpoint_pending_failed", allowPartialSort: true}},
		{"an endpoint's retrying deliveries", DeliveryFilter{EndpointID: str("e7"), Status: str(DeliveryRetrying)},
			planCheck{index: "deliveries_endpoint_created|deliveries_endpoint_retrying|deliveries_mode_retrying", allowPartialSort: true}},
		{"an event type's deliveries", DeliveryFilter{EventType: str(EventUserCreated)}, planCheck{index: "deliveries_mode_type_created"}},
		{"a user's deliveries", DeliveryFilter{UserID: str("acme-000042")}, planCheck{index: "deliveries_user_created"}},
		{"deliveries in a time range", DeliveryFilter{CreatedFrom: &day, CreatedBefore: &next}, planCheck{index: "deliveries_mode_created"}},
		{"an endpoint's deliveries in a time range", DeliveryFilter{EndpointID: str("e7"), CreatedFrom: &day, CreatedBefore: &next},
			planCheck{index: "deliveries_endpoint_created"}},
	} {
		for _, withCursor := range []bool{false, true} {
			name := c.name
			f := c.f
			f.Size = 50
			if withCursor {
				name += " after a cursor"
				f.Cursor = cursor
			}
			t.Run("the log of "+name, func(t *testing.T) {
				plan, sql := explainGorm(t, s, func(tx *gorm.DB) *gorm.DB { return deliveryListQuery(tx, Sandbox, f).Find(&[]Delivery{}) })
				if p := c.problem(plan); p != "" {
					t.Errorf("%s\n%s\n%s", p, sql, plan)
				}
				if withCursor && !indexBounds(plan, "created_at <=", strings.Split(c.index, "|")...) {
					t.Errorf("the cursor does not bound the index range:\n%s", plan)
				}
			})
		}
	}

	for _, c := range []struct {
		name string
		f    EventFilter
		planCheck
	}{
		{"the mode's events", EventFilter{}, planCheck{index: "events_mode_created"}},
		{"the mode's events after a cursor", EventFilter{Cursor: cursor}, planCheck{index: "events_mode_created"}},
		{"events of a type", EventFilter{Type: str(EventUserCreated)}, planCheck{index: "events_mode_created"}},
		{"events in a time range", EventFilter{CreatedFrom: &day, CreatedBefore: &next}, planCheck{index: "events_mode_created"}},
		// events_user ends at created_at: ties are put in id order, as
		// SQLite does for the request log's indices.
		{"a user's events", EventFilter{UserID: str("acme-000042")}, planCheck{index: "events_user", allowPartialSort: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.f.Size = 25
			plan, sql := explainGorm(t, s, func(tx *gorm.DB) *gorm.DB { return eventListQuery(tx, Sandbox, c.f).Find(&[]Event{}) })
			if p := c.problem(plan); p != "" {
				t.Errorf("%s\n%s\n%s", p, sql, plan)
			}
		})
	}

	for _, c := range []struct {
		name string
		f    AuditFilter
		planCheck
	}{
		{"the audit log", AuditFilter{}, planCheck{index: "audit_created"}},
		{"the audit log after a cursor", AuditFilter{Cursor: cursor}, planCheck{index: "audit_created"}},
		{"the audit log by operator", AuditFilter{OperatorID: "o1"}, planCheck{index: "audit_operator_created"}},
		{"the audit log by action", AuditFilter{Action: AuditDeliveryResent}, planCheck{index: "audit_action"}},
		{"the audit log by target", AuditFilter{TargetID: "acme-000042"}, planCheck{index: "audit_target_created"}},
		{"the audit log by time", AuditFilter{From: &day, Before: &next}, planCheck{index: "audit_created"}},
		{"the audit log by action and time after a cursor", AuditFilter{Action: AuditDeliveryResent, From: &day, Cursor: cursor},
			planCheck{index: "audit_action"}},
		{"the audit log by operator and action", AuditFilter{OperatorID: "o1", Action: AuditDeliveryResent},
			planCheck{index: "audit_operator_created|audit_action"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan, sql := explainGorm(t, s, func(tx *gorm.DB) *gorm.DB { return auditListQuery(tx, c.f).Find(&[]AuditEntry{}) })
			if p := c.problem(plan); p != "" {
				t.Errorf("%s\n%s\n%s", p, sql, plan)
			}
		})
	}

	// The request log's indices end at created_at (SQLite's test allows
	// its sort of the right part of the order, by id, for the same reason):
	// only requests of one millisecond are put in id order.
	errs, _ := ParseStatusClass("errors")
	for _, c := range []struct {
		name string
		f    APIRequestFilter
		planCheck
	}{
		{"the mode's requests", APIRequestFilter{}, planCheck{index: "api_requests_mode_created", allowPartialSort: true}},
		{"the mode's requests after a cursor", APIRequestFilter{Cursor: cursor}, planCheck{index: "api_requests_mode_created", allowPartialSort: true}},
		{"a key's requests", APIRequestFilter{APIKeyID: str("k3")}, planCheck{index: "api_requests_key_created", allowPartialSort: true}},
		{"errors", APIRequestFilter{Status: errs}, planCheck{index: "api_requests_errors_created", allowPartialSort: true}},
		{"errors after a cursor", APIRequestFilter{Status: errs, Cursor: cursor}, planCheck{index: "api_requests_errors_created", allowPartialSort: true}},
	} {
		t.Run("the request log: "+c.name, func(t *testing.T) {
			c.f.Size = 50
			plan, sql := explainGorm(t, s, func(tx *gorm.DB) *gorm.DB { return apiRequestListQuery(tx, Sandbox, c.f).Find(&[]APIRequest{}) })
			if p := c.problem(plan); p != "" {
				t.Errorf("%s\n%s\n%s", p, sql, plan)
			}
		})
	}
	// A user's requests walk api_request_users, which the log's insert
	// fills here, along its key, newest first.
	for _, c := range []struct {
		name string
		f    APIRequestFilter
	}{
		{"a user's requests", APIRequestFilter{UserID: str("acme-000042")}},
		{"a user's requests after a cursor", APIRequestFilter{UserID: str("acme-000042"), Cursor: cursor}},
	} {
		t.Run("the request log: "+c.name, func(t *testing.T) {
			c.f.Size = 50
			plan, sql := explainGorm(t, s, func(tx *gorm.DB) *gorm.DB { return userRequestsQuery(tx, Sandbox, c.f).Find(&[]APIRequest{}) })
			if p := (planCheck{index: "api_request_users_pkey"}).problem(plan); p != "" {
				t.Errorf("%s\n%s\n%s", p, sql, plan)
			}
		})
	}
}

// indexBounds reports whether a scan of one of the indices has an index
// condition that mentions what (a column or an expression), so the range
// it reads starts there: a later page does not walk down to its cursor.
func indexBounds(plan pgPlanNode, what string, indices ...string) bool {
	bounded := false
	plan.walk(func(n pgPlanNode) {
		for _, i := range indices {
			if n.Index == i && strings.Contains(n.IndexCond, what) {
				bounded = true
			}
		}
	})
	return bounded
}

func TestPostgresDispatchAndPrunePlans(t *testing.T) {
	s := openPostgresPlanStore(t)
	for _, c := range []struct {
		name  string
		query string
		args  []any
		planCheck
		// indexOnly: the plan wanted is an index-only scan, which the
		// planner prices by the visibility map.
		indexOnly bool
	}{
		{"claiming reads the due index in order", sqlClaimAny, []any{"o", 1, 1767225600000 + 10_000_000, 1, 10},
			planCheck{index: "deliveries_due"}, false},
		{"claiming past full endpoints reads the due index in order", sqlClaim, []any{"o", 1, 1767225600000 + 10_000_000, 1, `["e1","e2"]`, 10},
			planCheck{index: "deliveries_due"}, false},
		{"the next due time of endpoints not full is the due index's first", sqlNextDueExcept, []any{1, `["e1"]`},
			planCheck{index: "deliveries_due"}, false},
		{"the dashboard counts retrying deliveries in their index",
			`SELECT COUNT(*) FROM deliveries WHERE mode = 'SANDBOX' AND ` + retryingCond + ` AND created_at >= ?`, []any{1767225600000 + 216_000_000},
			planCheck{index: "deliveries_mode_retrying"}, true},
		{"the dashboard counts active tokens in their index",
			`SELECT COUNT(*) FROM link_tokens WHERE mode = ? AND expires_at > ? AND consumed_at IS NULL AND revoked_at IS NULL`,
			[]any{Sandbox, 1}, planCheck{index: "link_tokens_active"}, true},
		{"pruning tokens reads them by expiry", `DELETE FROM link_tokens WHERE id IN (
			SELECT id FROM link_tokens WHERE mode = ? AND expires_at < ? LIMIT ?)`, []any{Sandbox, 1767225600000 + 1_000_000, PruneBatch},
			planCheck{index: "link_tokens_mode_expires"}, false},
		{"pruning attempts reads them by start", `DELETE FROM attempts WHERE id IN (
			SELECT id FROM attempts WHERE started_at < ? LIMIT ?)`, []any{1767225600000 + 1_000_000, PruneBatch},
			planCheck{index: "attempts_started"}, false},
		{"pruning requests reads them by time", `DELETE FROM api_requests WHERE id IN (
			SELECT id FROM api_requests WHERE mode = ? AND created_at < ? LIMIT ?)`, []any{Sandbox, 1767225600000 + 1_000_000, PruneBatch},
			planCheck{index: "api_requests_mode_created|api_requests_errors_created"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := explainPostgres(t, s, s.d.statement(c.query), c.args...)
			p := c.problem(plan)
			if p != "" && c.indexOnly && !allVisible(t, s, "deliveries") {
				t.Skipf("VACUUM could not set the visibility map (a transaction older than the fill is open on the server), "+
					"so the index-only scan is priced as random heap reads: %s\n%s", p, plan)
			}
			if p != "" {
				t.Errorf("%s\n%s", p, plan)
			}
		})
	}
	for _, table := range []string{"deliveries", "events"} {
		t.Run("a prune batch of "+table+" seeks its cursor in the index", func(t *testing.T) {
			plan := explainPostgres(t, s, s.d.statement(`SELECT id, created_at FROM `+table+` WHERE mode = ? AND created_at < ?
				AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`), Sandbox, 1767225600000+100_000_000, 1767225600000+50_000_000, "", PruneBatch)
			if p := (planCheck{index: table + "_mode_created"}).problem(plan); p != "" {
				t.Errorf("%s\n%s", p, plan)
			}
			if !indexBounds(plan, "ROW(created_at, id) >", table+"_mode_created") {
				t.Errorf("the cursor does not bound the index range:\n%s", plan)
			}
		})
	}
}

// allVisible reports whether VACUUM marked every page of table all-visible.
func allVisible(t *testing.T, s *Store, table string) bool {
	t.Helper()
	db, err := s.R.DB()
	if err != nil {
		t.Fatal(err)
	}
	var visible, pages int64
	if err := db.QueryRow("SELECT relallvisible, relpages FROM pg_class WHERE oid = $1::regclass", table).Scan(&visible, &pages); err != nil {
		t.Fatal(err)
	}
	return visible >= pages
}
