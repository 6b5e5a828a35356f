package models

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPrune(t *testing.T) {
	ctx := context.Background()
	s := openSealTest(t, filepath.Join(t.TempDir(), "td.db"), "")
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	old := now.Add(-100 * day)
	s.Now = func() time.Time { return old }
	makeEndpoint(t, s, "secret")
	var oldUsers []string
	for range 3 {
		u, err := s.CreateUser(ctx, Sandbox, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		oldUsers = append(oldUsers, u.User.ID)
	}
	db, _ := s.W.DB()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Two deliveries finished with an attempt each; the third still pending.
	exec(`UPDATE deliveries SET status = 'SUCCEEDED', completed_at = ? WHERE id IN (
		SELECT id FROM deliveries ORDER BY id LIMIT 2)`, ms(old))
	exec(`INSERT INTO attempts(id, delivery_id, mode, number, trigger, url, started_at)
		SELECT 'a-' || id, id, mode, 1, 'AUTOMATIC', 'http://x', ? FROM deliveries WHERE status = 'SUCCEEDED'`, ms(old))
	// Many more expired tokens than one batch, and a session that ended long ago.
	for i := range PruneBatch*2 + 7 {
		exec(`INSERT INTO link_tokens(id, mode, user_id, token_hash, kid, issued_at, expires_at)
			VALUES (?, 'SANDBOX', ?, ?, 'k', ?, ?)`, fmt.Sprintf("tk-%d", i), oldUsers[0], fmt.Sprintf("h%d", i), ms(old), ms(old))
	}
	// More logged requests than one batch, most about a user: their
	// users' entries go with them; a recent request's stays.
	var reqs []APIRequest
	for i := range PruneBatch + 5 {
		user := oldUsers[i%2]
		if i%7 == 0 {
			user = ""
		}
		reqs = append(reqs, APIRequest{ID: fmt.Sprintf("req-%d", i), Mode: Sandbox, Method: "POST", Path: "/v1/tokens",
			UserID: user, Status: 201, CreatedAt: old.Add(time.Duration(i) * time.Millisecond)})
	}
	reqs = append(reqs, APIRequest{ID: "req-fresh", Mode: Sandbox, Method: "POST", Path: "/v1/tokens",
		UserID: oldUsers[0], Status: 201, CreatedAt: now})
	if err := s.RecordAPIRequests(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexRequestUsers(ctx); err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return now }
	fresh, err := s.CreateUser(ctx, Sandbox, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	counts, err := s.Prune(ctx, DefaultRetention())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"tokens": PruneBatch*2 + 7 + 3, "attempts": 2, "deliveries": 2, "events": 2, "requests": PruneBatch + 5}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: pruned %d, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	t.Run("keeps what is recent, pending or still referred to", func(t *testing.T) {
		if got := count(`SELECT COUNT(*) FROM deliveries WHERE status = 'PENDING'`); got != 2 {
			t.Errorf("pending deliveries: %d left, want 2 (the old one and the fresh one)", got)
		}
		if got := count(`SELECT COUNT(*) FROM events`); got != 2 {
			t.Errorf("events: %d left, want 2 (the pending delivery's and the fresh one)", got)
		}
		if got := count(`SELECT COUNT(*) FROM link_tokens WHERE user_id = '` + fresh.User.ID + `'`); got != 1 {
			t.Errorf("the fresh user's token was pruned")
		}
		if got := count(`SELECT COUNT(*) FROM api_request_users`); got != 1 || count(`SELECT COUNT(*) FROM api_request_users WHERE request_id = 'req-fresh'`) != 1 {
			t.Errorf("api_request_users keeps %d entries, want only req-fresh's", got)
		}
		if got := count(`SELECT COUNT(*) FROM users`); got != 4 {
			t.Errorf("users: %d left, want 4 (users are never pruned)", got)
		}
	})
	t.Run("the report keeps the counts and adds up runs", func(t *testing.T) {
		if _, err := s.Prune(ctx, DefaultRetention()); err != nil {
			t.Fatal(err)
		}
		rep, err := s.RetentionReport(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Total["tokens"] != want["tokens"] || rep.Last["tokens"] != 0 || !rep.LastRunAt.Equal(now) {
			t.Errorf("report: %+v", rep)
		}
		if rep.Retention["deliveries"] != 90*day {
			t.Errorf("retention in the report: %v", rep.Retention)
		}
	})
	t.Run("0 keeps forever", func(t *testing.T) {
		s.Now = func() time.Time { return now.Add(400 * day) }
		counts, err := s.Prune(ctx, Retention{Attempts: 30 * day})
		if err != nil || len(counts) != 1 {
			t.Fatalf("got %v, %v; want only attempts considered", counts, err)
		}
		if got := count(`SELECT COUNT(*) FROM events`); got != 2 {
			t.Errorf("events: %d left, want 2", got)
		}
	})
}

func TestPrunePlans(t *testing.T) {
	s := openSealTest(t, filepath.Join(t.TempDir(), "td.db"), "")
	db, _ := s.R.DB()
	for _, table := range []string{"deliveries", "events"} {
		rows, err := db.Query(`EXPLAIN QUERY PLAN SELECT id, created_at FROM `+table+` WHERE mode = ? AND created_at < ?
			AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`, "SANDBOX", 1, 0, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		var plan string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan += detail + "\n"
		}
		rows.Close()
		if !strings.Contains(plan, "SEARCH") || !strings.Contains(plan, "(created_at,id)>(?,?)") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: the prune cursor does not seek in the index:\n%s", table, plan)
		}
	}
}

func TestPruneRequestsPlan(t *testing.T) {
	s := openSealTest(t, filepath.Join(t.TempDir(), "td.db"), "")
	db, _ := s.R.DB()
	rows, err := db.Query(`EXPLAIN QUERY PLAN SELECT id FROM api_requests WHERE mode = ? AND created_at < ? LIMIT ?`, "SANDBOX", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		rows.Scan(&id, &parent, &unused, &detail)
		plan += detail + "\n"
	}
	if !strings.Contains(plan, "SEARCH api_requests USING") || !strings.Contains(plan, "created_at<?") {
		t.Errorf("pruning the request log does not seek its (mode, created_at) index:\n%s", plan)
	}
}
