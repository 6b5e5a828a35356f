package models_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// BenchmarkMoveToPostgres moves a SQLite file of TOKENDESK_BENCH_USERS
// users (10000 unless set), made through the store with one endpoint, so
// each user brings its metadata, link token, event and delivery, and
// reports rows a second over the whole move (Open on the target included).
//
//	TOKENDESK_TEST_POSTGRES=postgres://… TOKENDESK_BENCH_USERS=100000 \
//	  go test ./models -run '^$' -bench MoveToPostgres -benchtime 1x
//
// TOKENDESK_BENCH_DIR, when set, keeps the file there for the next run.
func BenchmarkMoveToPostgres(b *testing.B) {
	if !modelstest.OnPostgres() {
		b.Skipf("moving to PostgreSQL needs a server: set %s to a postgres:// URL", modelstest.PostgresEnv)
	}
	ctx := context.Background()
	users := 10000
	if n, err := strconv.Atoi(os.Getenv("TOKENDESK_BENCH_USERS")); err == nil {
		users = n
	}
	dir := os.Getenv("TOKENDESK_BENCH_DIR") // keeps the made file for the next run
	if dir == "" {
		dir = b.TempDir()
	}
	path, key := filepath.Join(dir, fmt.Sprintf("bench-%d.db", users)), filepath.Join(dir, fmt.Sprintf("bench-%d.key", users))
	if _, err := os.Stat(path); err != nil {
		makeBenchSource(b, path, key, users)
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		url := modelstest.Database(b)
		b.StartTimer()
		last := time.Now()
		r, err := models.MoveToPostgres(ctx, models.MoveOptions{From: path, To: url, SecretKeyFile: key, Copied: func(m models.MovedTable) {
			b.Logf("  %s: %d rows in %s", m.Name, m.Rows, time.Since(last).Round(time.Millisecond))
			last = time.Now()
		}})
		if err != nil {
			b.Fatal(err)
		}
		var rows int64
		for _, m := range r.Tables {
			rows += m.Rows
		}
		b.ReportMetric(float64(rows)/r.Took.Seconds(), "rows/s")
		b.Logf("moved %d rows in %s (triggers disabled: %v): %.0f rows/s", rows, r.Took.Round(time.Millisecond), r.TriggersDisabled, float64(rows)/r.Took.Seconds())
	}
}

func makeBenchSource(b *testing.B, path, key string, users int) {
	ctx := context.Background()
	s, err := models.Open(models.Options{Path: path, TenantID: "acme", SecretKeyFile: key})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	str := func(v string) *string { return &v }
	yes := true
	if _, err := s.CreateWebhookEndpoint(ctx, models.Sandbox, models.WebhookInput{Name: str("Orders"), URL: str("http://localhost/a"),
		EventTypes: []string{"USER_CREATED"}, Active: &yes, Secret: str("a bench secret")}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < users; i += 8 {
				md := models.Metadata{"plan": "pro", "email": fmt.Sprintf("u%d@example.com", i)}
				if _, err := s.CreateUser(ctx, models.Sandbox, md, "bench"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.Logf("made %d users in %s", users, time.Since(start).Round(time.Millisecond))
}
