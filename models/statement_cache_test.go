package models_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// compilesOn records, on the one connection of pool, what SQLite's
// authorizer is asked, which it is only while a statement is compiled
// (sqlite3_prepare, or a re-compilation of an expired statement), never
// while it runs. The result tells how often an action on a table (and
// column, for reads) was authorized since: once per compilation of each
// statement that does it.
func compilesOn(t *testing.T, pool *gorm.DB) func(op int, table, column string) int64 {
	t.Helper()
	db, err := pool.DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mu sync.Mutex
	seen := map[[3]string]int64{}
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*sqlite3.SQLiteConn)
		if !ok {
			return errors.New("the connection is not go-sqlite3's")
		}
		c.RegisterAuthorizer(func(op int, arg1, arg2, _ string) int {
			mu.Lock()
			seen[[3]string{strconv.Itoa(op), arg1, arg2}]++
			mu.Unlock()
			return sqlite3.SQLITE_OK
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return func(op int, table, column string) int64 {
		mu.Lock()
		defer mu.Unlock()
		return seen[[3]string{strconv.Itoa(op), table, column}]
	}
}

func TestStatementCache(t *testing.T) {
	modelstest.SkipOnPostgres(t, "SQLite's per-connection statement cache")
	ctx := context.Background()

	t.Run("a write transaction compiles its statements once, not once per transaction", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		compiles := compilesOn(t, s.W)
		for range 20 {
			if _, err := s.CreateUser(ctx, models.Sandbox, models.Metadata{"email": "a@example.com"}, "test"); err != nil {
				t.Fatal(err)
			}
		}
		for _, table := range []string{"users", "user_metadata", "link_tokens", "events"} {
			if got, want := compiles(sqlite3.SQLITE_INSERT, table, ""), int64(1); got != want {
				t.Errorf("the %s insert was compiled %d times for 20 users, want %d", table, got, want)
			}
		}
	})

	t.Run("a metadata search is compiled once, not on every search", func(t *testing.T) {
		opts := modelstest.Options(t)
		opts.Readers = 1
		s, err := models.Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.CreateUser(ctx, models.Sandbox, models.Metadata{"email": "a@example.com"}, "test"); err != nil {
			t.Fatal(err)
		}
		compiles := compilesOn(t, s.R)
		for _, q := range []string{"a@example.com", "A@example.com", "b@example.com", "a@example.com"} {
			if _, err := s.Search(ctx, models.Sandbox, q); err != nil {
				t.Fatal(err)
			}
		}
		// The equal match runs four times and is compiled once; the prefix
		// match runs once (b@ matches nothing whole) and is compiled twice,
		// when prepared and again with its pattern bound, which SQLite
		// plans with (as on every run: the LIKE's index range needs it).
		if got, want := compiles(sqlite3.SQLITE_READ, "user_metadata", "user_id"), int64(1+2); got != want {
			t.Fatalf("the metadata search's statements were compiled %d times, want %d", got, want)
		}
	})

	t.Run("a query run again while its first run's rows are open gets its own statement", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		for range 3 {
			if _, err := s.CreateUser(ctx, models.Sandbox, nil, "test"); err != nil {
				t.Fatal(err)
			}
		}
		const q = "SELECT id FROM users WHERE mode = ? ORDER BY id"
		db, err := s.W.DB()
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		outer, err := tx.QueryContext(ctx, q, "SANDBOX")
		if err != nil {
			t.Fatal(err)
		}
		defer outer.Close()
		var seen int
		for outer.Next() {
			var id string
			if err := outer.Scan(&id); err != nil {
				t.Fatal(err)
			}
			seen++
			inner, err := tx.QueryContext(ctx, q, "SANDBOX")
			if err != nil {
				t.Fatal(err)
			}
			var n int
			for inner.Next() {
				n++
			}
			if err := inner.Close(); err != nil {
				t.Fatal(err)
			}
			if got, want := n, 3; got != want {
				t.Fatalf("the inner run read %d rows, want %d", got, want)
			}
		}
		if err := outer.Err(); err != nil {
			t.Fatal(err)
		}
		if got, want := seen, 3; got != want {
			t.Fatalf("the outer run read %d rows, want %d", got, want)
		}
	})

	t.Run("a cancelled statement is interrupted and runs again afterwards", func(t *testing.T) {
		s := modelstest.MustOpenStore(t)
		db, err := s.R.DB()
		if err != nil {
			t.Fatal(err)
		}
		// One connection, so the second run takes the first's statement
		// from the same connection's cache.
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		const q = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT count(*) FROM c"
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		var n int64
		err = conn.QueryRowContext(short, q, int64(1)<<40).Scan(&n)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v (n=%d), want the deadline's error", err, n)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("the cancelled query returned after %v", took)
		}
		if err := conn.QueryRowContext(ctx, q, 10).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if got, want := n, int64(10); got != want {
			t.Fatalf("got %d, want %d", got, want)
		}
	})

	t.Run("closing the store finalizes every cached statement", func(t *testing.T) {
		opts := modelstest.Options(t)
		s, err := models.Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.CreateUser(ctx, models.Sandbox, models.Metadata{"email": "a@example.com"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetUser(ctx, models.Sandbox, u.User.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// SQLite removes the WAL when its last connection closes; a
		// statement left unfinalized would keep that connection open
		// (sqlite3_close_v2 defers the close until it is finalized).
		if _, err := os.Stat(opts.Path + "-wal"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the WAL is still there after Close (%v): a connection was left open", err)
		}
	})
}
