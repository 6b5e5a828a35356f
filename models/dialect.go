package models

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// dialect is the one seam between the store and the database under it
// (River's shape: one interface, one file per database). The store's
// statements are written once, in words both databases take; where one
// needs its own words (SQLite's rowid and json_each, PostgreSQL's FOR
// UPDATE SKIP LOCKED), the statement is a named constant and the dialect
// holds its own text for it. Nothing outside dialect_*.go asks which
// database it is on.
type dialect interface {
	// Name is "sqlite" or "postgres": the migrations folder, and what the
	// operator is told.
	Name() string
	// where names the database for people, without secrets.
	where(s *Store) string
	// open connects and returns the writer and reader handles (the same
	// pool on PostgreSQL).
	open(opts Options, cfg *gorm.Config) (w, r *gorm.DB, err error)
	// statement gives this database's text for a statement written in
	// SQLite's words, as database/sql wants it (PostgreSQL numbers its
	// placeholders). GORM numbers placeholders itself: see gormSQL.
	statement(sqlite string) string
	// gormSQL gives this database's text for a statement passed to GORM.
	gormSQL(sqlite string) string
	// setup checks the database is fit to start on, then runs fn
	// (migrations, tenant id, master key check, signing keys) so that
	// instances starting together on one database run it one after the
	// other.
	setup(ctx context.Context, s *Store, db *sql.DB, fn func() error) error
	// started runs what the database needs in the background once the
	// store is open (SQLite's checkpoints; PostgreSQL's clock and
	// notifications); stop ends it.
	started(s *Store)
	stop(s *Store)
	// queued tells other instances that deliveries were committed.
	queued(s *Store)
	// scrub runs fn, which overwrites secrets, so that the old values do
	// not stay readable in the database's files (SQLite: secure_delete,
	// then the WAL emptied; PostgreSQL leaves that to VACUUM).
	scrub(ctx context.Context, conn *sql.Conn, fn func() error) error
	// snapshot is how a read transaction sees one moment for all its
	// statements.
	snapshot() *sql.TxOptions
	// retryable reports whether a write transaction failed only because a
	// concurrent one won (serialization failure, deadlock), so running it
	// again may succeed.
	retryable(err error) bool
	// keysRotated tells other instances that the signing keys changed.
	keysRotated(s *Store)
	// queueTx runs first in each of the dispatcher's transactions: what
	// its statements need of the session beyond their text.
	queueTx(ctx context.Context, tx *sql.Tx) error
	// commitLinger is how long a group commit waits for more items while
	// they arrive together (0: never).
	commitLinger() time.Duration
	// unindexedRequests names the request log's table and a condition on
	// it that selects the rows whose users are not yet in
	// api_request_users: SQLite fills that table behind the log
	// (dialect_sqlite_request_users.go; started runs the pass). table is
	// "" where the log's own insert fills it.
	unindexedRequests() (table, where string)
	// asText reads a column as text in a SELECT list (SQLite's BLOB
	// columns may hold text).
	asText(column string) string
}

// numberPlaceholders turns ? placeholders into $1, $2… for database/sql on
// PostgreSQL. A ? inside a quoted string is left alone; SQLite's ?N stays
// $N.
func numberPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	inQuote := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			b.WriteByte(c)
		case c == '?' && !inQuote:
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteString("$" + q[i+1:j])
				i = j - 1
				continue
			}
			n++
			b.WriteString("$" + strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
