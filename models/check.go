package models

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
)

// maxCheckProblems is how many problems a check lists; SQLite stops there.
const maxCheckProblems = 100

// CheckFile runs SQLite's integrity check (or, when quick, its quick check,
// which skips matching indices to their tables) on the database at path
// and returns the problems found; none means the file is sound. It opens
// the file on its own, read-only, so it also works on a database that the
// store refuses to open, and beside a running server.
func CheckFile(ctx context.Context, path string, quick bool) ([]string, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("check %s: %w", path, err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return checkDB(ctx, db, quick)
}

func checkDB(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, quick bool) ([]string, error) {
	pragma := "integrity_check"
	if quick {
		pragma = "quick_check"
	}
	rows, err := db.QueryContext(ctx, fmt.Sprintf("PRAGMA %s(%d)", pragma, maxCheckProblems))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pragma, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		// A page too damaged to read fails the statement itself.
		return append(problems, err.Error()), nil
	}
	return problems, nil
}

// quickCheck refuses to start on a damaged database: served, the damage
// would show only when a bad page is read, as failures of single requests.
func (s *Store) quickCheck(ctx context.Context) error {
	db, err := s.W.DB()
	if err != nil {
		return err
	}
	problems, err := checkDB(ctx, db, true)
	if err != nil {
		problems = []string{err.Error()}
	}
	if len(problems) == 0 {
		return nil
	}
	first := problems
	if len(first) > 3 {
		first = first[:3]
	}
	return fmt.Errorf("database %s is damaged (its quick check found %d problems, first: %s); not starting on it. "+
		"See everything with: tokendesk check --db %s; then restore the latest backup (see the README, Backups)",
		s.path, len(problems), strings.Join(first, "; "), s.path)
}

// Backup writes a consistent copy of the database to out while the server
// may be reading and writing: VACUUM INTO copies one read snapshot, so the
// copy holds every transaction committed before it began and none after,
// and it is compact. out must not exist; it is created 0600, since it holds
// the same data (the secrets in it stay sealed under the master key).
func (s *Store) Backup(ctx context.Context, out string) error {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, privateFileMode)
	if err != nil {
		return fmt.Errorf("backup to %s: %w (choose a file that does not exist)", out, err)
	}
	f.Chmod(privateFileMode)
	f.Close()
	db, err := s.R.DB()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		os.Remove(out)
		if IsDiskFull(err) {
			return fmt.Errorf("backup to %s: the disk is full", out)
		}
		return fmt.Errorf("backup to %s: %w", out, err)
	}
	problems, err := CheckFile(ctx, out, true)
	if err == nil && len(problems) > 0 {
		err = fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	if err != nil {
		return fmt.Errorf("backup to %s was written but does not check out: %w", out, err)
	}
	return nil
}
