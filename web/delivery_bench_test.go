package web

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tokendesk/models"
)

// BenchmarkDeliveryLog measures the delivery log (unfiltered, with each
// filter on its own, and deep in its pages), the delivery detail page and
// the endpoint list over two databases: 1,000 deliveries, and 1,000,000
// deliveries with 3,000,000 attempts. The big one takes a few minutes to
// fill; TOKENDESK_BENCH_DELIVERIES_DB=/path/file.db keeps it between runs:
//
//	TOKENDESK_BENCH_DELIVERIES_DB=/tmp/deliveries-bench.db go test ./web/ -run '^$' -bench DeliveryLog -benchtime 200x
//
// Compare each page's ns/op between the 1k and 1M sub-benchmarks.
func BenchmarkDeliveryLog(b *testing.B) {
	for _, size := range []struct {
		name       string
		deliveries int
		path       string
	}{
		{"1k", 1_000, filepath.Join(b.TempDir(), "small.db")},
		{"1M", 1_000_000, os.Getenv("TOKENDESK_BENCH_DELIVERIES_DB")},
	} {
		if size.path == "" {
			size.path = filepath.Join(b.TempDir(), "big.db")
		}
		b.Run(size.name, func(b *testing.B) { benchDeliveryPages(b, size.path, size.deliveries) })
	}
}

const (
	benchEndpoints       = 4
	benchAttemptsPerDel  = 3
	benchDeliverySpan    = 30 * 24 * time.Hour
	benchEndpointIDFmt   = "e%031x"
	benchDeliveryIDFmt   = "d%031x"
	benchEventIDFmt      = "a%031x"
	benchDeliveryUserFmt = "acme-%032x"
)

func benchDeliveryPages(b *testing.B, path string, deliveries int) {
	cfg := DefaultConfig()
	cfg.DBPath, cfg.TenantID, cfg.RateLimit = path, "acme", 0
	cfg.AdminEmail, cfg.AdminPassword = testAdminEmail, testAdminPassword
	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	ctx := context.Background()
	var have int
	a.store.R.Raw("SELECT COUNT(*) FROM (SELECT 1 FROM deliveries LIMIT ?)", deliveries).Scan(&have)
	now := time.Now().UTC()
	if have < deliveries {
		start := time.Now()
		if err := fillDeliveries(ctx, a.store, deliveries, now); err != nil {
			b.Fatal(err)
		}
		b.Logf("filled %d deliveries and %d attempts in %s", deliveries, deliveries*benchAttemptsPerDel, time.Since(start).Round(time.Millisecond))
	}
	c := a.client(b)
	c.signIn(testAdminEmail, testAdminPassword)

	// A delivery in the middle of the table, a user with deliveries, three
	// days before it (a full page even at 1k) and a cursor deep into the log.
	mid := deliveries / 2
	var midCreated int64
	a.store.R.Raw("SELECT created_at FROM deliveries WHERE id = ?", fmt.Sprintf(benchDeliveryIDFmt, mid)).Scan(&midCreated)
	if midCreated == 0 {
		b.Fatal("the benchmark database lacks its middle delivery")
	}
	day := time.UnixMilli(midCreated).UTC()
	deep := models.Cursor{At: day, ID: fmt.Sprintf(benchDeliveryIDFmt, mid)}.Encode()
	user := fmt.Sprintf(benchDeliveryUserFmt, mid/benchEndpoints)
	ep := fmt.Sprintf(benchEndpointIDFmt, 1)
	pages := []struct{ name, path string }{
		{"log", "/deliveries"},
		{"log by status succeeded", "/deliveries?status=SUCCEEDED"},
		{"log by status failed", "/deliveries?status=FAILED"},
		{"log by endpoint", "/deliveries?endpoint=" + ep},
		{"log by event type", "/deliveries?type=USER_CREATED"},
		{"log by user", "/deliveries?user=" + user},
		{"log by time", "/deliveries?from=" + url.QueryEscape(day.Add(-benchDeliverySpan/10).Format("2006-01-02T15:04")) + "&to=" + url.QueryEscape(day.Format("2006-01-02T15:04"))},
		{"log deep cursor", "/deliveries?cursor=" + url.QueryEscape(deep)},
		{"log by status deep cursor", "/deliveries?status=FAILED&cursor=" + url.QueryEscape(deep)},
		{"delivery detail", "/deliveries/" + fmt.Sprintf(benchDeliveryIDFmt, mid)},
		{"endpoint list", "/webhooks"},
		{"endpoint page", "/webhooks/" + ep},
		{"event page", "/events/" + fmt.Sprintf(benchEventIDFmt, mid/benchEndpoints)},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, p.path, nil)
				req.AddCookie(&http.Cookie{Name: sessionCookieName, Value: c.cookies[sessionCookieName]})
				resp, err := a.Fiber().Test(req, -1)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: status %d", p.path, resp.StatusCode)
				}
			}
		})
	}
}

// fillDeliveries writes n deliveries over the last 30 days (one event per
// four deliveries, one per endpoint) and three attempts each, with raw
// prepared inserts in large transactions. Statuses: mostly succeeded, some
// failed, a few pending with their next attempt far ahead so the running
// dispatcher leaves them alone.
func fillDeliveries(ctx context.Context, s *models.Store, n int, now time.Time) error {
	db, err := s.W.DB()
	if err != nil {
		return err
	}
	ms := now.UnixMilli()
	if err := inTx(ctx, db, func(tx *sql.Tx) error {
		for e := 0; e < benchEndpoints; e++ {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO webhook_endpoints(id, mode, name, url, event_types, secret, created_at, updated_at)
				VALUES (?, 'SANDBOX', ?, 'https://receiver.invalid/hook', '["ALL_EVENTS"]', 'bench-secret', ?, ?)`,
				fmt.Sprintf(benchEndpointIDFmt, e), fmt.Sprintf("bench endpoint %d", e), ms-int64(benchDeliverySpan/time.Millisecond), ms); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	var start int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM deliveries").Scan(&start); err != nil {
		return err
	}
	start -= start % benchEndpoints // restart at an event boundary
	reqHeaders := `{"Content-Type":"application/json","Smile-Signature":"` + fmt.Sprintf("%0128x", 7) +
		`","User-Agent":"tokendesk-webhooks/1","Webhook-Id":"%s","Webhook-Signature":"v1,hM/89ict2o+UQ1m4lQqlEptf8Hk+ZmifW90ALHHSmIM=","Webhook-Timestamp":"%d"}`
	respHeaders := `{"Content-Length":"2","Content-Type":"text/plain; charset=utf-8","Date":"Wed, 25 Nov 2026 16:23:31 GMT"}`
	types := []string{"USER_CREATED", "USER_CREATED", "USER_CREATED", "USER_CREATED", "USER_CREATED", "USER_CREATED", "USER_CREATED", "ACCOUNT_CREATED"}
	const batch = 20_000 // deliveries per transaction
	for lo := start; lo < n; lo += batch {
		hi := min(lo+batch, n)
		err := inTx(ctx, db, func(tx *sql.Tx) error {
			ev, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO events(id, mode, type, user_id, payload, created_at) VALUES (?, 'SANDBOX', ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			dl, err := tx.PrepareContext(ctx, `INSERT INTO deliveries(id, mode, endpoint_id, event_id, event_type, user_id, status, attempt_count,
				auto_attempts, next_attempt_at, last_status_code, last_error, created_at, updated_at, completed_at)
				VALUES (?, 'SANDBOX', ?, ?, ?, ?, ?, 3, 3, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			at, err := tx.PrepareContext(ctx, `INSERT INTO attempts(id, delivery_id, mode, number, "trigger", url, request_headers, request_body,
				response_status, response_headers, response_body, duration_ms, error, started_at)
				VALUES (?, ?, 'SANDBOX', ?, 'AUTOMATIC', 'https://receiver.invalid/hook', ?, ?, ?, ?, ?, ?, '', ?)`)
			if err != nil {
				return err
			}
			for i := lo; i < hi; i++ {
				e := i / benchEndpoints
				eventID, user, typ := fmt.Sprintf(benchEventIDFmt, e), fmt.Sprintf(benchDeliveryUserFmt, e), types[e%len(types)]
				created := ms - int64(benchDeliverySpan/time.Millisecond) + int64(i)*int64(benchDeliverySpan/time.Millisecond)/int64(n)
				payload := fmt.Sprintf(`{"id":"%s","version":1,"type":"%s","createdAt":"%s","data":{"userId":"%s"}}`,
					eventID, typ, time.UnixMilli(created).UTC().Format(time.RFC3339), user)
				if i%benchEndpoints == 0 {
					if _, err := ev.ExecContext(ctx, eventID, typ, user, payload, created); err != nil {
						return err
					}
				}
				status, code, lastErr, next, done := models.DeliverySucceeded, 200, "", any(nil), any(created+5000)
				switch {
				case i%50 == 7:
					status, code, lastErr = models.DeliveryFailed, 500, "receiver answered HTTP 500; gave up after attempt 3"
				case i%1000 == 13:
					status, code, lastErr, next, done = models.DeliveryPending, 503, "receiver answered HTTP 503", ms+int64(30*24*time.Hour/time.Millisecond), nil
				}
				id := fmt.Sprintf(benchDeliveryIDFmt, i)
				if _, err := dl.ExecContext(ctx, id, fmt.Sprintf(benchEndpointIDFmt, i%benchEndpoints), eventID, typ, user, status,
					next, code, lastErr, created, created+5000, done); err != nil {
					return err
				}
				for k := 1; k <= benchAttemptsPerDel; k++ {
					rs, body := 503, "unavailable"
					if k == benchAttemptsPerDel {
						rs, body = code, "ok"
					}
					started := created + int64(k-1)*2000
					if _, err := at.ExecContext(ctx, fmt.Sprintf("t%030x%d", i, k), id, k, fmt.Sprintf(reqHeaders, eventID, started/1000),
						payload, rs, respHeaders, body, 40+k, started); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("fill deliveries %d..%d: %w", lo, hi, err)
		}
	}
	return nil
}
