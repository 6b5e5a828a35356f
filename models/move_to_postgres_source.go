package models

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// source is the SQLite file, read in one read transaction.
type source struct {
	path     string
	db       *sql.DB
	conn     *sql.Conn
	tables   []string // every table but schema_migrations
	tenantID string
	keyCheck string
}

// openSource opens the file read-only (mode=ro: SQLite writes neither the
// file nor, on closing, a checkpoint into it) and begins the read
// transaction every table is read in, so the copy is one moment's state
// even if a server writes meanwhile.
func openSource(ctx context.Context, path string) (*source, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	s := &source{path: path, db: db}
	if s.conn, err = db.Conn(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s read-only: %w", path, err)
	}
	if _, err := s.conn.ExecContext(ctx, "BEGIN"); err != nil {
		s.close()
		return nil, fmt.Errorf("open %s read-only: %w", path, err)
	}
	if err := s.describe(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *source) close() {
	if s.conn != nil {
		s.conn.ExecContext(context.Background(), "ROLLBACK")
		s.conn.Close()
	}
	s.db.Close()
}

// describe checks that the file is a tokendesk database at this release's
// schema version, and reads its tables, tenant id and key check.
func (s *source) describe(ctx context.Context) error {
	rows, err := s.conn.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
	if err != nil {
		return fmt.Errorf("read %s: %w", s.path, err)
	}
	var all []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		all = append(all, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", s.path, err)
	}
	if !slices.Contains(all, "schema_migrations") || !slices.Contains(all, "settings") {
		return fmt.Errorf("%s is not a tokendesk database (it has no schema_migrations or settings table)", s.path)
	}
	for _, t := range all {
		if t != "schema_migrations" {
			s.tables = append(s.tables, t)
		}
	}
	var have int
	if err := s.conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&have); err != nil {
		return fmt.Errorf("read the schema version of %s: %w", s.path, err)
	}
	migrations, err := loadMigrations("sqlite")
	if err != nil {
		return err
	}
	switch want := len(migrations); {
	case have < want:
		return fmt.Errorf("%s is at schema version %d and this release's is %d: start this release on it once (tokendesk serve, or any command such as tokendesk operator list --db %s), stop it, then move it",
			s.path, have, want, s.path)
	case have > want:
		return fmt.Errorf("%s is at schema version %d, made by a newer release than this one (%d): move it with that release", s.path, have, want)
	}
	settings := map[string]string{}
	rows, err = s.conn.QueryContext(ctx, "SELECT key, value FROM settings WHERE key IN (?, ?)", "tenant_id", keyCheckSetting)
	if err != nil {
		return fmt.Errorf("read the settings of %s: %w", s.path, err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return err
		}
		settings[k] = v
	}
	rows.Close()
	s.tenantID, s.keyCheck = settings["tenant_id"], settings[keyCheckSetting]
	if s.tenantID == "" || s.keyCheck == "" {
		return fmt.Errorf("%s has no tenant id or no master key check: start this release on it once, stop it, then move it", s.path)
	}
	return nil
}

// checkKey reads the master key file and refuses it unless it opens the
// source's key check: the target gets the sealed values as they are.
func (s *source) checkKey(path string) (*sealer, error) {
	key, err := readKeyFile(path)
	if fileMissing(err) {
		return nil, fmt.Errorf("the master key file %s does not exist: give --secret-key-file the key file of %s (by default the database path + .key)", path, s.path)
	}
	if err != nil {
		return nil, fmt.Errorf("read the master key %s: %w", path, err)
	}
	k, err := newSealer(path, key)
	if err != nil {
		return nil, fmt.Errorf("the master key %s: %w", path, err)
	}
	if _, err := openWithOnly(k, s.keyCheck); err != nil {
		kid, _, _ := splitSealed(s.keyCheck)
		_, have := k.current()
		return nil, fmt.Errorf("the master key in %s (key %s) does not open the secrets of %s (sealed with key %s): "+
			"give --secret-key-file the key file that belongs to this database", path, have, s.path, kid)
	}
	return k, nil
}

// openWithOnly opens a key check with k's key alone: sealer.open would look
// for another key beside the file (a rotation's .new), which is not the key
// the target will be opened with.
func openWithOnly(k *sealer, check string) ([]byte, error) {
	kid, body, ok := splitSealed(check)
	aead, have := k.current()
	if !ok || kid != have {
		return nil, ErrWrongSecretKey
	}
	return openWith(aead, body, keyCheckSetting)
}
