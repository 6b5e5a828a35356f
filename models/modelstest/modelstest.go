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
	"strconv"
	"strings"
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

// PostgresCPU returns a function that gives the CPU time the PostgreSQL
// server of this run (PostgresEnv) has used so far, its backends and
// background processes together, read from /proc: a benchmark reports it
// per request beside its own process's CPU, since on a busy machine CPU
// spent is steadier than requests per second. It returns nil on SQLite,
// and when the server's processes cannot be read (another machine, or no
// /proc).
func PostgresCPU(tb testing.TB) func() time.Duration {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		return nil
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		return nil
	}
	defer db.Close()
	var dir string
	if err := db.QueryRow("SHOW data_directory").Scan(&dir); err != nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return nil
	}
	postmaster, _, _ := strings.Cut(string(b), "\n")
	if _, ok := procCPU(postmaster); !ok {
		return nil
	}
	return func() time.Duration {
		// The postmaster's own time with its exited children's, then
		// every living child's.
		total, _ := procCPU(postmaster)
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if err != nil {
				continue
			}
			f := statFields(string(stat))
			if len(f) > 14 && f[1] == postmaster {
				total += ticks(f[11]) + ticks(f[12])
			}
		}
		return total
	}
}

// procCPU is a process's CPU time with its waited-for children's.
func procCPU(pid string) (time.Duration, bool) {
	stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return 0, false
	}
	f := statFields(string(stat))
	if len(f) < 15 {
		return 0, false
	}
	return ticks(f[11]) + ticks(f[12]) + ticks(f[13]) + ticks(f[14]), true
}

// statFields splits /proc/PID/stat after the command's name (which may
// hold spaces): index 0 is the state, 1 the parent, 11 and 12 user and
// system time, 13 and 14 those of waited-for children.
func statFields(stat string) []string {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(stat[i+1:])
}

// ticks turns clock ticks (100 a second on Linux) into a duration.
func ticks(s string) time.Duration {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Duration(n) * 10 * time.Millisecond
}
