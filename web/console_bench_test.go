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

// benchUsers is how many users the console benchmark's database holds.
const benchUsers = 1_000_000

// BenchmarkConsolePages measures the console's pages over a database of a
// million users (with a metadata pair each), 100,000 tokens and 30,000
// deliveries in the last day. Filling takes a minute or two; set
// TOKENDESK_BENCH_DB=/path/file.db to keep the database between runs:
//
//	TOKENDESK_BENCH_DB=/tmp/console-bench.db go test ./web/ -run '^$' -bench ConsolePages -benchtime 200x
func BenchmarkConsolePages(b *testing.B) {
	path := os.Getenv("TOKENDESK_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	cfg := DefaultConfig()
	cfg.DBPath, cfg.TenantID, cfg.RateLimit = path, "acme", 0
	cfg.AdminEmail, cfg.AdminPassword = testAdminEmail, testAdminPassword
	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer a.store.Close()
	ctx := context.Background()
	var have int64
	a.store.R.Raw("SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT ?)", benchUsers).Scan(&have)
	if have < benchUsers {
		start := time.Now()
		if err := fillBenchDB(ctx, a.store, int(have)); err != nil {
			b.Fatal(err)
		}
		b.Logf("filled %d users in %s", benchUsers, time.Since(start).Round(time.Millisecond))
	}
	c := a.client(b)
	c.signIn(testAdminEmail, testAdminPassword)

	page, err := a.store.ListUsers(ctx, models.Sandbox, models.UserFilter{Size: 25})
	if err != nil || page.NextCursor == "" {
		b.Fatalf("list users: %v", err)
	}
	someUser := page.Items[3].ID
	deep := models.Cursor{At: time.Now().Add(-300 * 24 * time.Hour), ID: "acme-f"}.Encode()
	tok, err := a.store.RefreshToken(ctx, models.Sandbox, someUser, "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []struct{ name, method, path, form string }{
		{"dashboard", "GET", "/", ""},
		{"users first page", "GET", "/users", ""},
		{"users deep cursor", "GET", "/users?cursor=" + url.QueryEscape(deep), ""},
		{"users by metadata value", "GET", "/users?value=crm-000500000", ""},
		{"users created between", "GET", "/users?from=2025-03-01&to=2025-03-31", ""},
		{"user detail", "GET", "/users/" + someUser, ""},
		{"search metadata value", "GET", "/search?q=crm-000750000", ""},
		{"search metadata value in capitals", "GET", "/search?q=CRM-000750000", ""},
		{"search start of metadata values", "GET", "/search?q=crm-00075000", ""},
		{"search e-mail nobody has", "GET", "/search?q=" + url.QueryEscape("maria.gonzalez@bigcorp.example"), ""},
		{"search request id", "GET", "/search?q=0b7c3e0e-4c1f-4c59-9a0e-6f3c1b2a9d11", ""},
		{"search raw token", "GET", "/search?q=" + url.QueryEscape(tok.AccessToken), ""},
		{"search Bearer token", "GET", "/search?q=" + url.QueryEscape("Bearer "+tok.AccessToken), ""},
		{"token inspector", "POST", "/tokens/inspect", url.Values{"token": {tok.AccessToken}, "_csrf": {c.csrf}}.Encode()},
		{"keys", "GET", "/keys", ""},
		{"audit", "GET", "/audit", ""},
	} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				var body io.Reader
				if p.form != "" {
					body = stringsReader(p.form)
				}
				req := httptest.NewRequest(p.method, p.path, body)
				if p.form != "" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				req.AddCookie(&http.Cookie{Name: sessionCookieName, Value: c.cookies[sessionCookieName]})
				resp, err := a.Fiber().Test(req, -1)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				if resp.StatusCode >= 300 && resp.StatusCode != http.StatusSeeOther {
					b.Fatalf("%s %s: status %d", p.method, p.path, resp.StatusCode)
				}
			}
		})
	}
}

// fillBenchDB adds users from `from` up to benchUsers with raw prepared
// inserts in large transactions, which is far faster than the store's
// one-transaction-per-user path.
func fillBenchDB(ctx context.Context, s *models.Store, from int) error {
	db, err := s.W.DB()
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	span := 365 * 24 * time.Hour
	const batch = 50_000
	for lo := from; lo < benchUsers; lo += batch {
		hi := min(lo+batch, benchUsers)
		if err := inTx(ctx, db, func(tx *sql.Tx) error {
			users, err := tx.PrepareContext(ctx, "INSERT INTO users(id, mode, external_metadata, created_at) VALUES (?, ?, ?, ?)")
			if err != nil {
				return err
			}
			md, err := tx.PrepareContext(ctx, "INSERT INTO user_metadata(user_id, mode, key, value) VALUES (?, ?, 'crm', ?)")
			if err != nil {
				return err
			}
			toks, err := tx.PrepareContext(ctx, `INSERT INTO link_tokens(id, mode, user_id, token_hash, kid, issued_by, issued_at, expires_at)
				VALUES (?, 'SANDBOX', ?, ?, 'k-bench', 'bench', ?, ?)`)
			if err != nil {
				return err
			}
			for i := lo; i < hi; i++ {
				id := fmt.Sprintf("acme-%032x", i)
				mode := models.Sandbox
				if i%10 == 9 {
					mode = models.Production
				}
				value := fmt.Sprintf("crm-%09d", i)
				created := now.Add(-span + time.Duration(i)*span/benchUsers).UnixMilli()
				if _, err := users.ExecContext(ctx, id, mode, `{"crm":"`+value+`"}`, created); err != nil {
					return err
				}
				if _, err := md.ExecContext(ctx, id, mode, value); err != nil {
					return err
				}
				if i >= benchUsers-100_000 && mode == models.Sandbox {
					issued := now.Add(-time.Duration(benchUsers-i) * time.Second)
					if _, err := toks.ExecContext(ctx, fmt.Sprintf("tk-%032x", i), id, fmt.Sprintf("%064x", i),
						issued.UnixMilli(), issued.Add(5*time.Hour).UnixMilli()); err != nil {
						return err
					}
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("fill users %d..%d: %w", lo, hi, err)
		}
	}
	// A day of deliveries to one endpoint, for the dashboard's counts and chart.
	return inTx(ctx, db, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM deliveries").Scan(&n); err != nil || n > 0 {
			return err
		}
		ms := now.UnixMilli()
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints(id, mode, name, url, secret, created_at, updated_at)
			VALUES ('e0000000000000000000000000000000', 'SANDBOX', 'bench', 'https://example.com/hook', 's', ?, ?)`, ms, ms); err != nil {
			return err
		}
		ev, err := tx.PrepareContext(ctx, "INSERT INTO events(id, mode, type, user_id, payload, created_at) VALUES (?, 'SANDBOX', 'USER_CREATED', ?, '{}', ?)")
		if err != nil {
			return err
		}
		dl, err := tx.PrepareContext(ctx, `INSERT INTO deliveries(id, mode, endpoint_id, event_id, event_type, user_id, status, attempt_count, created_at, updated_at)
			VALUES (?, 'SANDBOX', 'e0000000000000000000000000000000', ?, 'USER_CREATED', ?, ?, 1, ?, ?)`)
		if err != nil {
			return err
		}
		statuses := []string{models.DeliverySucceeded, models.DeliverySucceeded, models.DeliverySucceeded, models.DeliveryFailed, models.DeliveryPending}
		for i := 0; i < 30_000; i++ {
			id, user := fmt.Sprintf("%032x", i+1), fmt.Sprintf("acme-%032x", benchUsers-1-i)
			at := now.Add(-time.Duration(i) * 24 * time.Hour / 30_000).UnixMilli()
			if _, err := ev.ExecContext(ctx, id, user, at); err != nil {
				return err
			}
			if _, err := dl.ExecContext(ctx, id, id, user, statuses[i%len(statuses)], at, at); err != nil {
				return err
			}
		}
		return nil
	})
}

func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
