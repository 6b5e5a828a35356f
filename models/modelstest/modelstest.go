// Package modelstest opens fresh stores for tests.
package modelstest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for making schemas

	"tokendesk/models"
)

// PostgresEnv names the PostgreSQL server the suite runs on when set
// (postgres://…); unset, tests run on SQLite files.
const PostgresEnv = "TOKENDESK_TEST_POSTGRES"

// OnPostgres reports whether this run's tests use PostgreSQL.
func OnPostgres() bool { return os.Getenv(PostgresEnv) != "" }

// SkipOnPostgres skips a test that is about SQLite itself (its files, WAL,
// checkpoints, query plans), saying why.
func SkipOnPostgres(tb testing.TB, why string) {
	tb.Helper()
	if OnPostgres() {
		tb.Skipf("SQLite only (%s); this run is on PostgreSQL", why)
	}
}

// Database gives a fresh, empty database for one test: a SQLite file in a
// temporary directory, or, when PostgresEnv is set, a URL naming a new
// schema of that server (dropped when the test ends). Either goes to
// --db or models.Options.Path.
func Database(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		return filepath.Join(tb.TempDir(), "test.db")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("open %s: %v", PostgresEnv, err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("create schema for the test: %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Options are the options of a fresh test database (Database), with a
// master key file in a temporary directory.
func Options(tb testing.TB) models.Options {
	tb.Helper()
	return models.Options{Path: Database(tb), TenantID: "acme", SecretKeyFile: filepath.Join(tb.TempDir(), "master.key")}
}

// MustOpenStore opens a new database (Database) and closes it when the
// test ends.
func MustOpenStore(tb testing.TB) *models.Store {
	tb.Helper()
	s, err := models.Open(Options(tb))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// WaitForCheckpoint polls s.Checkpoint until the WAL has been copied into
// the database to its end, and fails tb if that takes more than about two
// seconds: benchmarks call it after a fill so that the checkpoint does not
// land in what they measure. On PostgreSQL the server checkpoints on its
// own schedule, which the store does not drive: it returns at once.
func WaitForCheckpoint(tb testing.TB, s *models.Store) {
	tb.Helper()
	if s.Dialect() != "sqlite" {
		return
	}
	for range 100 {
		done, err := s.Checkpoint()
		if err != nil {
			tb.Fatal(err)
		}
		if done {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatal("the WAL was never checkpointed to its end")
}
