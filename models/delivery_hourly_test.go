package models_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

type hourCounts struct{ succeeded, failed, pending int64 }

// hourlyRollup is what the triggers kept, and hourlyTruth is the same
// counted from the deliveries themselves, both keyed by mode and hour.
func hourlyRollup(t *testing.T, s *models.Store) map[string]hourCounts {
	t.Helper()
	return hourlyQuery(t, s, `SELECT mode, hour, succeeded, failed, pending FROM delivery_hourly
		WHERE succeeded <> 0 OR failed <> 0 OR pending <> 0`)
}

func hourlyTruth(t *testing.T, s *models.Store) map[string]hourCounts {
	t.Helper()
	return hourlyQuery(t, s, `SELECT mode, created_at - created_at % 3600000, SUM(CASE WHEN status = 'SUCCEEDED' THEN 1 ELSE 0 END),
		SUM(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'PENDING' THEN 1 ELSE 0 END) FROM deliveries GROUP BY 1, 2`)
}

func hourlyQuery(t *testing.T, s *models.Store, q string) map[string]hourCounts {
	t.Helper()
	rows, err := s.W.Raw(q).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]hourCounts{}
	for rows.Next() {
		var mode string
		var hour int64
		var c hourCounts
		if err := rows.Scan(&mode, &hour, &c.succeeded, &c.failed, &c.pending); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%s %s", mode, time.UnixMilli(hour).UTC().Format(time.RFC3339))] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameHourly(t *testing.T, s *models.Store) {
	t.Helper()
	got, want := hourlyRollup(t, s), hourlyTruth(t, s)
	if len(got) != len(want) {
		t.Errorf("the rollup has %d non-empty hours, the deliveries %d: %v, want %v", len(got), len(want), got, want)
	}
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("%s: rollup %+v, counted %+v", k, g, w)
		}
	}
}

// newDelivery creates a sandbox user, whose USER_CREATED event queues one
// PENDING delivery to the store's one endpoint, and returns that delivery's id.
func newDelivery(t *testing.T, s *models.Store) string {
	t.Helper()
	u, err := s.CreateUser(t.Context(), models.Sandbox, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	var id string
	if err := s.W.Raw("SELECT id FROM deliveries WHERE event_id = ?", u.Event.ID).Scan(&id).Error; err != nil || id == "" {
		t.Fatalf("no delivery for the new user: %v", err)
	}
	return id
}

func TestDeliveryHourlyCountsFollowEveryChange(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	mustCreateEndpoint(t, s, models.Sandbox, "https://example.com/hook")
	exec := func(t *testing.T, q string, args ...any) {
		t.Helper()
		if err := s.W.Exec(q, args...).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	setStatus := func(status string) func(t *testing.T, id string) {
		return func(t *testing.T, id string) {
			exec(t, "UPDATE deliveries SET status = ? WHERE id = ?", status, id)
		}
	}
	for _, c := range []struct {
		name  string
		steps []func(t *testing.T, id string)
	}{
		{"a new delivery counts as pending", nil},
		{"a pending delivery that succeeds moves to succeeded", []func(*testing.T, string){setStatus(models.DeliverySucceeded)}},
		{"a pending delivery that fails for good moves to failed", []func(*testing.T, string){setStatus(models.DeliveryFailed)}},
		{"a failed delivery resent goes back to pending, then succeeds", []func(*testing.T, string){
			setStatus(models.DeliveryFailed), setStatus(models.DeliveryPending), setStatus(models.DeliverySucceeded)}},
		{"a succeeded delivery resent and failing returns to succeeded", []func(*testing.T, string){
			setStatus(models.DeliverySucceeded), setStatus(models.DeliveryPending), setStatus(models.DeliverySucceeded)}},
		{"a retry that keeps the status changes nothing", []func(*testing.T, string){
			setStatus(models.DeliveryPending), func(t *testing.T, id string) {
				exec(t, "UPDATE deliveries SET attempt_count = attempt_count + 1, status = status WHERE id = ?", id)
			}}},
		{"a delivery resent through the store counts as pending again", []func(*testing.T, string){
			setStatus(models.DeliveryFailed), func(t *testing.T, id string) {
				if _, err := s.ResendDelivery(t.Context(), models.Sandbox, id, "test"); err != nil {
					t.Fatal(err)
				}
			}}},
		{"a delivery moved to another hour leaves the first", []func(*testing.T, string){
			setStatus(models.DeliveryFailed), func(t *testing.T, id string) {
				exec(t, "UPDATE deliveries SET created_at = created_at - 7200000 WHERE id = ?", id)
			}}},
		{"a delivery moved to another hour and status at once counts once", []func(*testing.T, string){
			func(t *testing.T, id string) {
				exec(t, "UPDATE deliveries SET created_at = created_at - 3600000, status = 'SUCCEEDED' WHERE id = ?", id)
			}}},
		{"a delivery moved to the other mode counts there", []func(*testing.T, string){
			func(t *testing.T, id string) { exec(t, "UPDATE deliveries SET mode = 'PRODUCTION' WHERE id = ?", id) }}},
		{"a deleted delivery no longer counts", []func(*testing.T, string){
			setStatus(models.DeliverySucceeded), func(t *testing.T, id string) {
				exec(t, "DELETE FROM attempts WHERE delivery_id = ?", id)
				exec(t, "DELETE FROM deliveries WHERE id = ?", id)
			}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := newDelivery(t, s)
			for _, step := range c.steps {
				step(t, id)
				sameHourly(t, s)
			}
			sameHourly(t, s)
		})
	}
	// The dispatcher settles a round in one statement: on PostgreSQL the
	// counts move once per statement (migration 018), summed by hour.
	t.Run("one statement moving many deliveries of two hours to three statuses counts each", func(t *testing.T) {
		ids := make([]string, 9)
		for i := range ids {
			ids[i] = newDelivery(t, s)
		}
		exec(t, "UPDATE deliveries SET created_at = created_at - 3600000 WHERE id IN (?, ?, ?, ?)", ids[0], ids[1], ids[2], ids[3])
		sameHourly(t, s)
		exec(t, `UPDATE deliveries SET attempt_count = attempt_count + 1, status = CASE
			WHEN id IN (?, ?, ?, ?) THEN 'SUCCEEDED' WHEN id IN (?, ?) THEN 'FAILED' ELSE status END
			WHERE id IN (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ids[0], ids[1], ids[4], ids[5], ids[2], ids[6],
			ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7], ids[8])
		sameHourly(t, s)
	})
	t.Run("no count ever goes below zero", func(t *testing.T) {
		var n int64
		s.W.Raw("SELECT COUNT(*) FROM delivery_hourly WHERE succeeded < 0 OR failed < 0 OR pending < 0").Scan(&n)
		if n != 0 {
			t.Fatalf("%d rows with a negative count", n)
		}
	})
}

func TestDashboardCountsDeliveriesByHourOfCreation(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	mustCreateEndpoint(t, s, models.Sandbox, "https://example.com/hook")
	now := time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = newDelivery(t, s)
	}
	// Two this hour (one succeeded), one three hours ago (failed), one 23
	// hours ago (pending: the chart's first bucket), one 25 hours ago (out).
	for _, c := range []struct {
		id     string
		ago    time.Duration
		status string
	}{
		{ids[0], 0, models.DeliverySucceeded},
		{ids[2], 3 * time.Hour, models.DeliveryFailed},
		{ids[3], 23 * time.Hour, models.DeliveryPending},
		{ids[4], 25 * time.Hour, models.DeliverySucceeded},
	} {
		if err := s.W.Exec("UPDATE deliveries SET created_at = ?, status = ? WHERE id = ?",
			now.Add(-c.ago).UnixMilli(), c.status, c.id).Error; err != nil {
			t.Fatal(err)
		}
	}
	d, err := s.LoadDashboard(t.Context(), models.Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"the current hour holds its succeeded delivery", d.Hourly[23].Succeeded, 1},
		{"the current hour holds its pending delivery", d.Hourly[23].Pending, 1},
		{"three hours ago holds the failed one", d.Hourly[20].Failed, 1},
		{"the first bucket holds the one from 23 hours ago", d.Hourly[0].Pending, 1},
		{"the totals leave out the delivery from 25 hours ago", d.Deliveries24h[models.DeliverySucceeded], 1},
		{"the totals count the failed one", d.Deliveries24h[models.DeliveryFailed], 1},
		{"the totals count both pending ones", d.Deliveries24h[models.DeliveryPending], 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %d, want %d", c.got, c.want)
			}
		})
	}
	t.Run("the other mode sees none of them", func(t *testing.T) {
		p, err := s.LoadDashboard(t.Context(), models.Production)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(p.Deliveries24h); n != 0 {
			t.Fatalf("production totals %v, want none", p.Deliveries24h)
		}
	})
}

func TestDeliveryHourlyMigrationCountsExistingDeliveries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := models.Open(models.Options{Path: path, TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	mustCreateEndpoint(t, s, models.Sandbox, "https://example.com/hook")
	for i := range 6 {
		id := newDelivery(t, s)
		status := models.DeliveryStatuses[i%3]
		if err := s.W.Exec("UPDATE deliveries SET status = ?, created_at = created_at - ? WHERE id = ?",
			status, int64(i)*1_800_000, id).Error; err != nil {
			t.Fatal(err)
		}
	}
	// Back to the schema before the rollup, as a database from the last
	// release would be, then open it again.
	s = reopenAsOlder(t, s, path,
		"DROP TRIGGER delivery_hourly_insert", "DROP TRIGGER delivery_hourly_status",
		"DROP TRIGGER delivery_hourly_move", "DROP TRIGGER delivery_hourly_delete", "DROP TABLE delivery_hourly",
		"DELETE FROM schema_migrations WHERE name = 'hourly delivery counts'",
	)
	if got := hourlyRollup(t, s); len(got) == 0 {
		t.Fatal("the migration counted nothing")
	}
	sameHourly(t, s)
}

// BenchmarkDashboard reads the dashboard with a day of deliveries at two
// volumes; its cost should not follow the volume.
//
//	go test ./models -run '^$' -bench Dashboard
func BenchmarkDashboard(b *testing.B) {
	for _, perDay := range []int{3_000, 30_000, 300_000} {
		b.Run(fmt.Sprintf("%d deliveries a day", perDay), func(b *testing.B) {
			s := modelstest.MustOpenStore(b)
			ctx := context.Background()
			fillDeliveryDay(b, s, perDay)
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.LoadDashboard(ctx, models.Sandbox); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fillDeliveryDay inserts n sandbox deliveries spread over the last day,
// mostly succeeded, in one transaction of raw inserts.
func fillDeliveryDay(b *testing.B, s *models.Store, n int) {
	b.Helper()
	db, err := s.W.DB()
	if err != nil {
		b.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Now().UnixMilli()
	if _, err := tx.Exec(`INSERT INTO webhook_endpoints(id, mode, name, url, secret, created_at, updated_at)
		VALUES ('e-bench', 'SANDBOX', 'bench', 'https://example.com/hook', 's', ?, ?)`, now, now); err != nil {
		b.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO events(id, mode, type, payload, created_at) VALUES ('ev-bench', 'SANDBOX', 'USER_CREATED', '{}', ?)`, now); err != nil {
		b.Fatal(err)
	}
	ins, err := tx.Prepare(`INSERT INTO deliveries(id, mode, endpoint_id, event_id, event_type, status, created_at, updated_at)
		VALUES (?, 'SANDBOX', 'e-bench', 'ev-bench', 'USER_CREATED', ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	statuses := []string{models.DeliverySucceeded, models.DeliverySucceeded, models.DeliverySucceeded, models.DeliveryFailed, models.DeliveryPending}
	for i := range n {
		at := now - int64(i)*86_400_000/int64(n)
		if _, err := ins.Exec(fmt.Sprintf("d%031x", i), statuses[i%len(statuses)], at, at); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDeliveryHourlyTriggers prices the triggers on the dispatcher's
// path: deliveries inserted, then settled PENDING → SUCCEEDED, 32 to a
// transaction as the dispatcher commits them, with and without the
// triggers, interleaved in one process so the machine's load hits both:
//
//	go test ./models -run '^$' -bench DeliveryHourlyTriggers -count 5
func BenchmarkDeliveryHourlyTriggers(b *testing.B) {
	for _, triggers := range []bool{true, false} {
		name := "with triggers"
		if !triggers {
			name = "without triggers"
		}
		b.Run(name, func(b *testing.B) {
			s := modelstest.MustOpenStore(b)
			if !triggers {
				for _, tr := range []string{"insert", "status", "move", "delete"} {
					if err := s.W.Exec("DROP TRIGGER delivery_hourly_" + tr).Error; err != nil {
						b.Fatal(err)
					}
				}
			}
			db, err := s.W.DB()
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now().UnixMilli()
			if _, err := db.Exec(`INSERT INTO webhook_endpoints(id, mode, name, url, secret, created_at, updated_at)
				VALUES ('e-bench', 'SANDBOX', 'bench', 'https://example.com/hook', 's', ?, ?);
				INSERT INTO events(id, mode, type, payload, created_at) VALUES ('ev-bench', 'SANDBOX', 'USER_CREATED', '{}', ?)`, now, now, now); err != nil {
				b.Fatal(err)
			}
			// Prepared once, as the store (GORM's statement cache) and the
			// dispatcher do: preparing compiles the triggers' programs too.
			ins, err := db.Prepare(`INSERT INTO deliveries(id, mode, endpoint_id, event_id, event_type, status, next_attempt_at, created_at, updated_at)
				VALUES (?, 'SANDBOX', 'e-bench', 'ev-bench', 'USER_CREATED', 'PENDING', ?, ?, ?)`)
			if err != nil {
				b.Fatal(err)
			}
			defer ins.Close()
			settle, err := db.Prepare(`UPDATE deliveries SET status = 'SUCCEEDED', attempt_count = attempt_count + 1,
				next_attempt_at = NULL, completed_at = ?, updated_at = ?, last_status_code = 200 WHERE id = ?`)
			if err != nil {
				b.Fatal(err)
			}
			defer settle.Close()
			const batch = 32
			b.ResetTimer()
			for lo := 0; lo < b.N; lo += batch {
				hi := min(lo+batch, b.N)
				for _, st := range []*sql.Stmt{ins, settle} {
					tx, err := db.Begin()
					if err != nil {
						b.Fatal(err)
					}
					txst := tx.Stmt(st)
					for i := lo; i < hi; i++ {
						at, id := now+int64(i), fmt.Sprintf("d%031x", i)
						args := []any{id, at, at, at}
						if st == settle {
							args = []any{at, at, id}
						}
						if _, err := txst.Exec(args...); err != nil {
							b.Fatal(err)
						}
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
