package models

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestIsUniqueViolation(t *testing.T) {
	s := openSealTest(t, filepath.Join(t.TempDir(), "u.db"), "")
	op := Operator{ID: "op-1", Email: "ana@example.com", PasswordHash: "x", Role: RoleSupport, CreatedAt: s.Now()}
	if err := s.W.Create(&op).Error; err != nil {
		t.Fatal(err)
	}
	op.ID = "op-2"
	sqliteErr := s.W.Create(&op).Error
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"SQLite's unique constraint", sqliteErr, true},
		{"SQLite's unique constraint, wrapped", fmt.Errorf("create: %w", sqliteErr), true},
		{"PostgreSQL's unique_violation", fmt.Errorf("create: %w", &pgconn.PgError{Code: "23505"}), true},
		{"PostgreSQL's foreign key violation", &pgconn.PgError{Code: "23503"}, false},
		{"any other error", errors.New("disk I/O error"), false},
		{"no error", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := isUniqueViolation(c.err); got != c.want {
				t.Fatalf("isUniqueViolation(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}
