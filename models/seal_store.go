package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

const keyCheckSetting = "secret_key_check"

// keyCheckPlain is sealed into the settings, so a start with the wrong key
// is refused before anything else is read.
const keyCheckPlain = "tokendesk secret key check"

// The columns that hold sealed values, with the column name that is their
// additional data.
// (signing_keys.private_key is declared BLOB on SQLite, but sealed values
// are text: TEXT on PostgreSQL.)
var sealedColumns = []struct{ table, key, column string }{
	{"webhook_endpoints", "id", "secret"},
	{"webhook_endpoints", "id", "previous_secret"},
	{"signing_keys", "kid", "private_key"},
	{"console_once", "id", "once_secret"},
}

// SecretKeyPath is where the master key of the database at dbPath is kept
// when no other file is given: beside the database.
func SecretKeyPath(dbPath string) string { return dbPath + ".key" }

// openSealer finds the master key, creating it on a database that has
// none yet, checks it against the database, and seals any secret still in
// clear (a database from before sealing, or written by an older release).
func (s *Store) openSealer(ctx context.Context, path string) error {
	if path == "" {
		path = SecretKeyPath(s.path)
	}
	s.SecretKeyFile = path
	check, hasCheck, err := s.GetSetting(ctx, keyCheckSetting)
	if err != nil {
		return err
	}
	key, err := readKeyFile(path)
	switch {
	case err == nil:
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			s.Warnings = append(s.Warnings, fmt.Sprintf("secret key file %s is readable by others (mode %04o): chmod 600 %s", path, fi.Mode().Perm(), path))
		}
	case fileMissing(err) && hasCheck:
		return fmt.Errorf("the secrets in %s are sealed with a key, and the key file %s does not exist: "+
			"start with the key file that belongs to this database (--secret-key-file or TOKENDESK_SECRET_KEY_FILE)", s.Where(), path)
	case fileMissing(err):
		if key, err = writeKeyFile(path, false); err != nil {
			return err
		}
		s.SecretKeyCreated = true
	default:
		return err
	}
	if s.sealer, err = newSealer(path, key); err != nil {
		return err
	}
	if hasCheck {
		if err := s.checkKey(check); err != nil {
			return err
		}
	}
	return s.sealClearSecrets(ctx)
}

// checkKey opens the stored key check. A rotation interrupted between its
// commit and renaming the new key file into place is finished here.
func (s *Store) checkKey(check string) error {
	_, err := s.sealer.open(check, keyCheckSetting)
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrWrongSecretKey) {
		return fmt.Errorf("check secret key: %w", err)
	}
	kid, _, _ := splitSealed(check)
	if key, rerr := readKeyFile(s.SecretKeyFile + ".new"); rerr == nil && keyID(key) == kid {
		if err := os.Rename(s.SecretKeyFile+".new", s.SecretKeyFile); err != nil {
			return fmt.Errorf("finish the secret key rotation: %w", err)
		}
		s.Warnings = append(s.Warnings, "finished an interrupted secret key rotation: "+s.SecretKeyFile+" holds the new key")
		return s.sealer.setKey(key)
	}
	_, have := s.sealer.current()
	return fmt.Errorf("the secret key in %s (key %s) does not open the secrets of %s (sealed with key %s): "+
		"start with the key file that belongs to this database (--secret-key-file or TOKENDESK_SECRET_KEY_FILE)",
		s.SecretKeyFile, have, s.Where(), kid)
}

// sealClearSecrets seals every secret still in clear and records the key
// check, in one transaction. secure_delete makes SQLite zero the space the
// clear values leave, and the WAL is emptied after, so no copy of them
// stays in the files (backups taken before still hold them).
func (s *Store) sealClearSecrets(ctx context.Context) error {
	db, err := s.W.DB()
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	sealed := 0
	err = s.d.scrub(ctx, conn, func() error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, c := range sealedColumns {
			n, err := s.resealColumn(ctx, tx, c.table, c.key, c.column, func(v string) (string, bool, error) {
				if _, _, isSealed := splitSealed(v); isSealed {
					return "", false, nil
				}
				return s.sealer.seal([]byte(v), c.column), true, nil
			})
			if err != nil {
				return err
			}
			sealed += n
		}
		if _, err := tx.ExecContext(ctx, s.d.statement("INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING"),
			keyCheckSetting, s.sealer.seal([]byte(keyCheckPlain), keyCheckSetting)); err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return fmt.Errorf("seal secrets at rest: %w", err)
	}
	if sealed > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("sealed %d secrets that were stored in clear; backups made before still hold them in clear", sealed))
	}
	return nil
}

// resealColumn rewrites the non-empty values of one column through fn,
// which says whether a value changes.
func (s *Store) resealColumn(ctx context.Context, tx *sql.Tx, table, key, column string, fn func(string) (string, bool, error)) (int, error) {
	rows, err := tx.QueryContext(ctx, fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s != ''", key, s.d.asText(column), table, column))
	if err != nil {
		return 0, err
	}
	type change struct{ id, value string }
	var changes []change
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			rows.Close()
			return 0, err
		}
		nv, changed, err := fn(v)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("%s %s: %w", table, id, err)
		}
		if changed {
			changes = append(changes, change{id, nv})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	update := s.d.statement(fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ?", table, column, key))
	for _, c := range changes {
		if _, err := tx.ExecContext(ctx, update, c.value, c.id); err != nil {
			return 0, err
		}
	}
	return len(changes), nil
}

// RotateSecretKey seals every secret under a new master key and puts the
// new key in the key file. The new key is written beside the old one
// first, the secrets are resealed in one transaction, then the new file
// replaces the old: a crash in between leaves either the old state or one
// that the next start completes (see checkKey). A server running on the
// same database picks the new key up from the file by itself.
func (s *Store) RotateSecretKey(ctx context.Context) (oldKid, newKid string, err error) {
	newPath := s.SecretKeyFile + ".new"
	key, err := writeKeyFile(newPath, true)
	if err != nil {
		return "", "", err
	}
	next, err := newSealer(s.SecretKeyFile, key)
	if err != nil {
		return "", "", err
	}
	_, oldKid = s.sealer.current()
	_, newKid = next.current()
	db, err := s.W.DB()
	if err != nil {
		return "", "", err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	// Old ciphertexts open with the old key: scrub the space they leave.
	err = s.d.scrub(ctx, conn, func() error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, c := range sealedColumns {
			_, err := s.resealColumn(ctx, tx, c.table, c.key, c.column, func(v string) (string, bool, error) {
				plain, err := s.sealer.open(v, c.column)
				if err != nil {
					return "", false, err
				}
				return next.seal(plain, c.column), true, nil
			})
			if err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.statement("UPDATE settings SET value = ? WHERE key = ?"),
			next.seal([]byte(keyCheckPlain), keyCheckSetting), keyCheckSetting); err != nil {
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		os.Remove(newPath)
		return "", "", fmt.Errorf("rotate secret key: %w", err)
	}
	if err := os.Rename(newPath, s.SecretKeyFile); err != nil {
		return "", "", fmt.Errorf("rotate secret key: the secrets are sealed with the key in %s, but it could not replace %s: %w (rename it by hand)", newPath, s.SecretKeyFile, err)
	}
	return oldKid, newKid, s.sealer.setKey(key)
}

// openSealed opens a sealed column value read outside GORM (raw scans).
func (s *Store) openSealed(v, column string) (string, error) {
	if v == "" {
		return "", nil
	}
	plain, err := s.sealer.open(v, column)
	return string(plain), err
}

// sealed seals a value written outside GORM's struct path (map updates).
func (s *Store) sealed(v, column string) string {
	if v == "" {
		return ""
	}
	return s.sealer.seal([]byte(v), column)
}

// openClaimSecrets opens the endpoint secrets of claims, which the claim
// query reads without GORM.
func (s *Store) openClaimSecrets(claims []Claim) error {
	for i := range claims {
		ep := &claims[i].Endpoint
		var err error
		if ep.Secret, err = s.openSealed(ep.Secret, "secret"); err != nil {
			return fmt.Errorf("endpoint %s: %w", ep.ID, err)
		}
		if ep.PreviousSecret, err = s.openSealed(ep.PreviousSecret, "previous_secret"); err != nil {
			return fmt.Errorf("endpoint %s: %w", ep.ID, err)
		}
	}
	return nil
}
