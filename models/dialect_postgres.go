package models

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// postgresDialect lets several instances share one PostgreSQL database:
// one pool serves reads and writes, setup runs under an advisory lock,
// claims skip rows another instance holds, leases follow the database's
// clock, and LISTEN/NOTIFY tells every instance that deliveries were
// queued or signing keys rotated.
type postgresDialect struct {
	url string

	schema   string // current_schema(): tests share a database, one schema each
	instance string // this process's id in notification payloads

	notifyMu   sync.Mutex
	lastNotify time.Time
	pending    bool

	stopBG chan struct{}
	bgDone sync.WaitGroup
}

// postgresPoolSize bounds the connections one instance opens: requests,
// the dispatcher's rounds and the listener share them.
const postgresPoolSize = 32

// IsPostgresURL reports whether --db names a PostgreSQL server.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// RedactURL gives a database URL fit to print: the password replaced.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func (*postgresDialect) Name() string { return "postgres" }

func (d *postgresDialect) where(*Store) string { return RedactURL(d.url) }

func (d *postgresDialect) open(opts Options, cfg *gorm.Config) (w, r *gorm.DB, err error) {
	// The errors here name the setting and never the password, and wrap
	// nothing: the caller's sentence is the one to show, not a 503.
	where := RedactURL(d.url)
	if _, err := pgx.ParseConfig(d.url); err != nil {
		return nil, nil, fmt.Errorf("--db (TOKENDESK_DB) is not a PostgreSQL URL that parses: %s; "+
			"the form is postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=verify-full", where)
	}
	// pgx prepares and caches each statement per connection by itself.
	// GORM's own prepared statements on top prepare on the pool, which
	// needs a free connection while transactions hold the rest: measured
	// as a deadlock with 100 concurrent sign-ins.
	pgCfg := *cfg
	pgCfg.PrepareStmt = false
	db, err := gorm.Open(postgres.New(postgres.Config{DSN: d.url}), &pgCfg)
	if err != nil {
		return nil, nil, fmt.Errorf("--db (TOKENDESK_DB): cannot reach the PostgreSQL server at %s: %v", where, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, nil, err
	}
	sqlDB.SetMaxOpenConns(postgresPoolSize)
	sqlDB.SetMaxIdleConns(postgresPoolSize)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sqlDB.QueryRowContext(ctx, "SELECT current_schema()").Scan(&d.schema); err != nil {
		sqlDB.Close()
		return nil, nil, fmt.Errorf("--db (TOKENDESK_DB): cannot reach the PostgreSQL server at %s: %v", where, err)
	}
	d.instance = randomHex(rand.Reader, 8)
	return db, db, nil
}

func (*postgresDialect) statement(q string) string {
	if pg, ok := postgresStatements[q]; ok {
		q = pg
	}
	return numberPlaceholders(q)
}

func (*postgresDialect) gormSQL(q string) string {
	if pg, ok := postgresStatements[q]; ok {
		return pg
	}
	return q
}

// setup holds a session-level advisory lock, keyed by the schema, on one
// connection while fn runs on the pool: a second instance starting at the
// same moment waits, then finds the schema, tenant id and keys made.
func (d *postgresDialect) setup(ctx context.Context, _ *Store, db *sql.DB, fn func() error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	key := "tokendesk setup " + d.schema
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext($1))", key); err != nil {
		return fmt.Errorf("take the setup lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(hashtext($1))", key)
	return fn()
}

// scrub has nothing to add: the old row versions stay in the table's pages
// until VACUUM reuses them (autovacuum, or a manual VACUUM after a key
// rotation; see the README).
func (*postgresDialect) scrub(_ context.Context, _ *sql.Conn, fn func() error) error { return fn() }

// queueTx turns bitmap scans off for the dispatcher's transaction. Its
// statements each read a few rows, by key or in an index's order, and the
// planner's only other choice, a bitmap scan of every due row and a sort,
// it makes when its statistics hold fewer due rows than there are: right
// after a burst of deliveries, before autovacuum analyzes the table. Then
// every claim read and sorted the whole backlog (measured: 20,000 rows,
// two thirds of a claim's time, with BenchmarkLatencyReceivers).
func (*postgresDialect) queueTx(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "SET LOCAL enable_bitmapscan = off")
	return err
}

// commitLinger: none. Each batch is one round trip; the figures of issue
// 12 (POST /v1/tokens at the bare stack's speed) were measured without one.
func (*postgresDialect) commitLinger() time.Duration { return 0 }

// unindexedRequests: none; the log's insert fills api_request_users in
// the same statement (postgresStatements[sqlInsertRequests]).
func (*postgresDialect) unindexedRequests() (table, where string) { return "", "" }

func (*postgresDialect) asText(column string) string { return column }

// snapshot: READ COMMITTED would give each statement its own moment.
func (*postgresDialect) snapshot() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
}

// retryable: 40001 serialization_failure, 40P01 deadlock_detected. Writes
// run READ COMMITTED, so these are rare (row locks taken in different
// orders by triggers), and the transaction as a whole can run again.
func (*postgresDialect) retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func (d *postgresDialect) keysRotated(s *Store) { d.notify(s, "keys") }
