package web

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for making the schema

	"tokendesk/models"
)

// BenchmarkConsolePages measures the console's pages over a database of
// TOKENDESK_BENCH_USERS users (a million when unset; with a metadata pair
// each), tokens for the newest 100,000 sandbox users and 30,000 deliveries
// in the last day. TOKENDESK_BENCH_DB keeps the database between runs: a
// SQLite file, or a postgres:// URL whose search_path names the schema
// (created when missing; the master key file is kept in the temporary
// directory under a name taken from the URL):
//
//	TOKENDESK_BENCH_DB=/tmp/console-bench.db go test ./web/ -run '^$' -bench ConsolePages -benchtime 200x
//	TOKENDESK_BENCH_USERS=1000 TOKENDESK_BENCH_DB='postgres://…/db?search_path=bench1k' go test ./web/ -run '^$' -bench ConsolePages
//
// Filling a million users takes a minute or two on SQLite; on PostgreSQL
// the rows are made by the server (INSERT … SELECT generate_series).
func BenchmarkConsolePages(b *testing.B) {
	users := 1_000_000
	if v := os.Getenv("TOKENDESK_BENCH_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("TOKENDESK_BENCH_USERS=%q: want a number of users, at least 100", v)
		}
		users = n
	}
	path := os.Getenv("TOKENDESK_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	cfg := DefaultConfig()
	cfg.DBPath, cfg.TenantID, cfg.RateLimit = path, "acme", 0
	cfg.AdminEmail, cfg.AdminPassword = testAdminEmail, testAdminPassword
	onPostgres := strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://")
	if onPostgres {
		keyFile, err := benchPostgresSchema(path)
		if err != nil {
			b.Fatal(err)
		}
		cfg.SecretKeyFile = keyFile
	}
	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer a.store.Close()
	ctx := context.Background()
	var have int64
	a.store.R.Raw("SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT ?) AS u", users).Scan(&have)
	if have < int64(users) {
		start := time.Now()
		fill := fillBenchDB
		if onPostgres {
			fill = fillBenchPostgres
		}
		if err := fill(ctx, a.store, int(have), users); err != nil {
			b.Fatal(err)
		}
		b.Logf("filled %d users in %s", users, time.Since(start).Round(time.Millisecond))
	}
	c := a.client(b)
	c.signIn(testAdminEmail, testAdminPassword)

	page, err := a.store.ListUsers(ctx, models.Sandbox, models.UserFilter{Size: 25})
	if err != nil || page.NextCursor == "" {
		b.Fatalf("list users: %v", err)
	}
	someUser := page.Items[3].ID
	deep := models.Cursor{At: time.Now().Add(-300 * 24 * time.Hour), ID: "acme-f"}.Encode()
	// Values and dates that find as many users whatever the size: the
	// middle user's value, the ten values that start like the
	// three-quarter user's, a month of last spring.
	middle, threeQuarters := fmt.Sprintf("crm-%09d", users/2), fmt.Sprintf("crm-%09d", users*3/4/10*10)
	from, to := time.Now().AddDate(0, -8, 0).Format(time.DateOnly), time.Now().AddDate(0, -7, 0).Format(time.DateOnly)
	tok, err := a.store.RefreshToken(ctx, models.Sandbox, someUser, "bench", 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []struct{ name, method, path, form string }{
		{"dashboard", "GET", "/", ""},
		{"users first page", "GET", "/users", ""},
		{"users deep cursor", "GET", "/users?cursor=" + url.QueryEscape(deep), ""},
		{"users by metadata value", "GET", "/users?value=" + middle, ""},
		{"users created between", "GET", "/users?from=" + from + "&to=" + to, ""},
		{"user detail", "GET", "/users/" + someUser, ""},
		{"search metadata value", "GET", "/search?q=" + threeQuarters, ""},
		{"search metadata value in capitals", "GET", "/search?q=" + strings.ToUpper(threeQuarters), ""},
		{"search start of metadata values", "GET", "/search?q=" + threeQuarters[:len(threeQuarters)-1], ""},
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

// fillBenchDB adds users from `from` up to n with raw prepared inserts in
// large transactions on SQLite, which is far faster than the store's
// one-transaction-per-user path.
func fillBenchDB(ctx context.Context, s *models.Store, from, n int) error {
	db, err := s.W.DB()
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	span := 365 * 24 * time.Hour
	const batch = 50_000
	for lo := from; lo < n; lo += batch {
		hi := min(lo+batch, n)
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
				created := now.Add(-span + time.Duration(i)*span/time.Duration(n)).UnixMilli()
				if _, err := users.ExecContext(ctx, id, mode, `{"crm":"`+value+`"}`, created); err != nil {
					return err
				}
				if _, err := md.ExecContext(ctx, id, mode, value); err != nil {
					return err
				}
				if i >= n-100_000 && mode == models.Sandbox {
					issued := now.Add(-time.Duration(n-i) * time.Second)
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
		var deliveries int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM deliveries").Scan(&deliveries); err != nil || deliveries > 0 {
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
			id, user := fmt.Sprintf("%032x", i+1), fmt.Sprintf("acme-%032x", (n-1-i+n*30)%n)
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

// benchPostgresSchema creates the schema the URL's search_path names when
// it is missing and returns the master key file kept for that URL.
func benchPostgresSchema(dbURL string) (keyFile string, err error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", fmt.Errorf("TOKENDESK_BENCH_DB: %w", err)
	}
	schema := u.Query().Get("search_path")
	if schema == "" {
		return "", fmt.Errorf("TOKENDESK_BENCH_DB: name the benchmark's schema with search_path=")
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", fmt.Errorf("create the benchmark's schema: %w", err)
	}
	sum := sha256.Sum256([]byte(dbURL))
	return filepath.Join(os.TempDir(), "tokendesk-bench-"+hex.EncodeToString(sum[:6])+".key"), nil
}

// fillBenchPostgres makes the same rows as fillBenchDB on the server, a
// batch of users per INSERT … SELECT generate_series, with what the
// store's triggers would derive from them written at the end: the users'
// counters and the deliveries' hourly counts, counted from the rows. The
// triggers are off meanwhile (session_replication_role): a million upserts
// of one counter row in one transaction leave a chain of a million row
// versions that every upsert walks.
func fillBenchPostgres(ctx context.Context, s *models.Store, from, n int) error {
	db, err := s.W.DB()
	if err != nil {
		return err
	}
	now := time.Now().UTC().UnixMilli()
	span := int64(365 * 24 * time.Hour / time.Millisecond)
	const batch = 200_000
	inFillTx := func(fn func(tx *sql.Tx) error) error {
		return inTx(ctx, db, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
				return err
			}
			return fn(tx)
		})
	}
	for lo := from; lo < n; lo += batch {
		hi := min(lo+batch, n)
		err := inFillTx(func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO users(id, mode, external_metadata, created_at)
				SELECT 'acme-' || lpad(to_hex(i), 32, '0'), CASE WHEN i % 10 = 9 THEN 'PRODUCTION' ELSE 'SANDBOX' END,
					'{"crm":"crm-' || lpad(i::text, 9, '0') || '"}', $3::bigint - $4::bigint + i * $4::bigint / $5::bigint
				FROM generate_series($1::bigint, $2::bigint - 1) AS i`, lo, hi, now, span, n); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_metadata(user_id, mode, key, value)
				SELECT 'acme-' || lpad(to_hex(i), 32, '0'), CASE WHEN i % 10 = 9 THEN 'PRODUCTION' ELSE 'SANDBOX' END,
					'crm', 'crm-' || lpad(i::text, 9, '0')
				FROM generate_series($1::bigint, $2::bigint - 1) AS i`, lo, hi); err != nil {
				return err
			}
			// The newest 100,000 users' sandbox tokens, one issued a second.
			_, err := tx.ExecContext(ctx, `INSERT INTO link_tokens(id, mode, user_id, token_hash, kid, issued_by, issued_at, expires_at)
				SELECT 'tk-' || lpad(to_hex(i), 32, '0'), 'SANDBOX', 'acme-' || lpad(to_hex(i), 32, '0'), lpad(to_hex(i), 64, '0'),
					'k-bench', 'bench', $3::bigint - ($4::bigint - i) * 1000, $3::bigint - ($4::bigint - i) * 1000 + 5 * 3600000
				FROM generate_series(GREATEST($1::bigint, $4::bigint - 100000), $2::bigint - 1) AS i WHERE i % 10 <> 9`, lo, hi, now, n)
			return err
		})
		if err != nil {
			return fmt.Errorf("fill users %d..%d: %w", lo, hi, err)
		}
	}
	// A day of deliveries to one endpoint, for the dashboard's counts and chart.
	err = inFillTx(func(tx *sql.Tx) error {
		for _, q := range []string{
			`INSERT INTO counters(name, mode, value) SELECT 'users', mode, COUNT(*) FROM users GROUP BY mode
				ON CONFLICT (name, mode) DO UPDATE SET value = excluded.value`,
			`INSERT INTO webhook_endpoints(id, mode, name, url, secret, created_at, updated_at)
				SELECT 'e0000000000000000000000000000000', 'SANDBOX', 'bench', 'https://example.com/hook', 's', $1::bigint, $1::bigint
				WHERE NOT EXISTS (SELECT FROM deliveries)`,
			`INSERT INTO events(id, mode, type, user_id, payload, created_at)
				SELECT lpad(to_hex(i + 1), 32, '0'), 'SANDBOX', 'USER_CREATED', 'acme-' || lpad(to_hex((($2::bigint - 1 - i) % $2 + $2) % $2), 32, '0'),
					'{}', $1::bigint - i * 86400000 / 30000
				FROM generate_series(0::bigint, 29999) AS i WHERE NOT EXISTS (SELECT FROM deliveries)`,
			`INSERT INTO deliveries(id, mode, endpoint_id, event_id, event_type, user_id, status, attempt_count, created_at, updated_at)
				SELECT lpad(to_hex(i + 1), 32, '0'), 'SANDBOX', 'e0000000000000000000000000000000', lpad(to_hex(i + 1), 32, '0'),
					'USER_CREATED', 'acme-' || lpad(to_hex((($2::bigint - 1 - i) % $2 + $2) % $2), 32, '0'),
					(ARRAY['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'FAILED', 'PENDING'])[i % 5 + 1],
					1, $1::bigint - i * 86400000 / 30000, $1::bigint - i * 86400000 / 30000
				FROM generate_series(0::bigint, 29999) AS i WHERE NOT EXISTS (SELECT FROM deliveries)`,
			`INSERT INTO delivery_hourly(mode, hour, succeeded, failed, pending)
				SELECT mode, created_at - created_at % 3600000, COUNT(*) FILTER (WHERE status = 'SUCCEEDED'),
					COUNT(*) FILTER (WHERE status = 'FAILED'), COUNT(*) FILTER (WHERE status = 'PENDING')
				FROM deliveries GROUP BY 1, 2
				ON CONFLICT (mode, hour) DO UPDATE SET succeeded = excluded.succeeded, failed = excluded.failed, pending = excluded.pending`,
		} {
			args := []any{now, n}
			if !strings.Contains(q, "$2") {
				args = args[:1]
			}
			if !strings.Contains(q, "$1") {
				args = nil
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("%.60s…: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// What autovacuum would do in time: the planner's statistics and the
	// visibility map that index-only scans need.
	_, err = db.ExecContext(ctx, "VACUUM ANALYZE users, user_metadata, link_tokens, events, deliveries, delivery_hourly, counters")
	return err
}
