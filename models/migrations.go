package models

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Migrations live as files, one folder per database, named NNN_title.sql;
// the first line is "-- " and the name recorded in schema_migrations. Both
// folders hold the same numbers and names (TestMigrationFoldersAgree), so a
// schema change is made once per database, never for one only.
// Append only: never edit a migration that has shipped.
//
//go:embed migrations
var migrationFiles embed.FS

// migration is one numbered step of the schema.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the migrations of one database ("sqlite",
// "postgres") in version order, and refuses gaps and duplicates.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations for %s: %w", dialect, err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: the name must start with its number and an underscore", e.Name())
		}
		if version != len(out)+1 {
			return nil, fmt.Errorf("migration file %s: expected number %03d next", e.Name(), len(out)+1)
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		first, rest, _ := strings.Cut(string(body), "\n")
		name, ok := strings.CutPrefix(first, "-- ")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("migration file %s: the first line must be \"-- \" and the migration's name", e.Name())
		}
		out = append(out, migration{version: version, name: strings.TrimSpace(name), sql: rest})
	}
	return out, nil
}
