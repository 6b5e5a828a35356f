package models

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrUnreachable is what a request answers while the database server (on
// PostgreSQL) cannot be reached: SERVER_UNAVAILABLE (503), a condition that
// passes; the pool reconnects by itself once the server is back.
var ErrUnreachable = &Error{Code: CodeServerUnavailable,
	Message: "the database cannot be reached: nothing was saved; try again shortly"}

// IsUnreachable reports whether err means the connection to the database
// server failed or broke, rather than a statement being refused.
func IsUnreachable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnreachable) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08 is connection exception; 57P01-57P03: the server is
		// shutting down, crashed, or not accepting connections yet.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ne net.Error
	return errors.As(err, &ne)
}
