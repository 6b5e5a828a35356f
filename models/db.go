package models

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Options say which database to open and how the store behaves.
type Options struct {
	Path string // SQLite file; created when missing
	// URL, when set, names a PostgreSQL database (postgres://…) shared by
	// every instance that names it; Path is then unused.
	URL      string
	TenantID string        // tenant part of user ids; generated and kept when empty
	TokenTTL time.Duration // link token lifetime; 5h when zero
	Readers  int           // reader pool size; 8 when zero
	// SecretKeyFile holds the master key that seals secrets at rest;
	// SecretKeyPath(Path) when empty on SQLite, created there when
	// missing. Required on PostgreSQL, where every instance needs the same.
	SecretKeyFile string
}

// Store is the only way into the database. On SQLite it holds one writer
// connection and a pool of readers; on PostgreSQL both are one pool.
type Store struct {
	W *gorm.DB // the writer; every write goes through Store.write
	R *gorm.DB // readers, for everything that does not write

	Now      func() time.Time // the clock; tests set it
	Rand     io.Reader        // randomness for secrets and ids; crypto/rand
	TenantID string
	TokenTTL time.Duration
	// AllowPrivate are ranges PRODUCTION endpoints may name although they
	// are not public (self-hosters' internal receivers; --allow-private).
	AllowPrivate []netip.Prefix

	// OnDeliveriesQueued is called after a commit that queued webhook
	// deliveries, so the dispatcher can start at once instead of polling.
	OnDeliveriesQueued func()

	// SecretKeyFile is the master key's file; SecretKeyCreated says
	// Open created it, so the operator is told to keep a copy.
	SecretKeyFile    string
	SecretKeyCreated bool

	// ObserveWrite, when set, is told how long each write transaction
	// took, by kind: "store" (the store's methods) or "dispatch" (the
	// dispatcher's record-and-claim rounds).
	ObserveWrite func(kind string, took time.Duration)

	// Warnings are things found at open that the operator should hear
	// about (files readable by others); the app logs them.
	Warnings []string

	d           dialect
	clockOffset atomic.Int64 // the database's clock minus this machine's, in ns (PostgreSQL)
	path        string
	sealer      *sealer
	keys        *keyRing
	tokens      *groupCommit[*tokenInsert] // link tokens issued by concurrent requests, written together
	verified    verifiedKeys               // API keys whose secret was checked, for POST /v1/tokens
	commits     atomic.Uint64              // committed write transactions, for the checkpoint loop's idle test
	diskFull    atomic.Bool                // the last write failed for lack of space
	holding     sync.Mutex                 // held by the write running holdWAL's checkpoint

	throttlePrunedAt atomic.Int64 // ms of this instance's last prune of the sign-in throttle

	stopCheckpoints chan struct{}
	checkpointsDone chan struct{}
	// requestUsersDone closes when SQLite's request-users pass has
	// stopped (it stops with the checkpoints).
	requestUsersDone chan struct{}
	pageSizeOnce     sync.Once
	walFrame         int64 // walFrameBytes
}

// DefaultTokenTTL is the contract's link token lifetime.
const DefaultTokenTTL = 5 * time.Hour

// busyTimeoutMS is how long a connection waits for another process's lock
// (the command line's, a backup's) before answering busy.
const busyTimeoutMS = 10000

// stmtCacheSize bounds the statements each SQLite connection keeps
// prepared: more than the app's distinct statement texts in steady use.
const stmtCacheSize = 256

func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", strconv.Itoa(busyTimeoutMS))
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "on")
	// Each connection keeps its statements prepared, by SQL text, and
	// takes them again in later transactions (go-sqlite3 resets and
	// clears a statement when it comes back, finalizes the least recently
	// used past the bound, and all of them when the connection closes).
	q.Set("_stmt_cache_size", strconv.Itoa(stmtCacheSize))
	if writer {
		// Take the write lock when the transaction begins, so two processes
		// (server and CLI) never deadlock upgrading a read lock.
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (and creates, and migrates) the database: the SQLite file at
// opts.Path, or the PostgreSQL database at opts.URL.
func Open(opts Options) (*Store, error) {
	if opts.URL == "" && IsPostgresURL(opts.Path) {
		opts.URL, opts.Path = opts.Path, ""
	}
	var d dialect = sqliteDialect{}
	switch {
	case opts.URL != "":
		if opts.SecretKeyFile == "" {
			return nil, fmt.Errorf("--secret-key-file (TOKENDESK_SECRET_KEY_FILE) is required on PostgreSQL: " +
				"name the master key file, the same file for every instance (the first start creates it)")
		}
		d = &postgresDialect{url: opts.URL}
	case opts.Path == "":
		return nil, fmt.Errorf("open database: no path given")
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.Readers == 0 {
		opts.Readers = 8
	}
	cfg := &gorm.Config{
		// GORM's default logger prints SQL with its parameters, which may
		// hold secrets; the app logs what matters itself.
		Logger: logger.Discard,
		// No PrepareStmt: each driver keeps prepared statements per
		// connection itself (dsn's _stmt_cache_size on SQLite, pgx on
		// PostgreSQL). GORM's, on SQLite, prepared every statement first
		// used in a transaction again in each later one.
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	s := &Store{Rand: rand.Reader, TokenTTL: opts.TokenTTL, path: opts.Path, d: d}
	s.Now = func() time.Time { return time.Now().Add(time.Duration(s.clockOffset.Load())).UTC() }
	cfg.NowFunc = func() time.Time { return s.Now() }
	if opts.URL == "" {
		warnings, err := prepareFiles(opts.Path)
		if err != nil {
			return nil, err
		}
		s.Warnings = warnings
	}
	w, r, err := d.open(opts, cfg)
	if err != nil {
		return nil, err
	}
	s.W, s.R = w, r
	if err := s.openRest(opts); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openRest checks, migrates and prepares an opened database: one instance
// at a time (dialect.setup).
func (s *Store) openRest(opts Options) error {
	ctx := context.Background()
	db, err := s.W.DB()
	if err != nil {
		return err
	}
	err = s.d.setup(ctx, s, db, func() error {
		if err := s.migrate(ctx); err != nil {
			return err
		}
		if err := s.initTenant(opts.TenantID); err != nil {
			return err
		}
		if err := s.openSealer(ctx, opts.SecretKeyFile); err != nil {
			return err
		}
		return s.loadKeys(ctx)
	})
	if err != nil {
		return err
	}
	s.tokens = newGroupCommit(s, s.d.commitLinger(), s.insertLinkTokens)
	s.d.started(s)
	return nil
}

// Where names the database for people: the SQLite file's path, or the
// PostgreSQL URL without its password.
func (s *Store) Where() string { return s.d.where(s) }

// Dialect names the database under the store: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.Name() }

// Close closes both pools.
func (s *Store) Close() error {
	if s.tokens != nil {
		s.tokens.close()
		s.tokens = nil
	}
	if s.d != nil {
		s.d.stop(s)
	}
	var first error
	seen := map[*gorm.DB]bool{}
	for _, db := range []*gorm.DB{s.R, s.W} {
		if db == nil || seen[db] {
			continue
		}
		seen[db] = true
		if sqlDB, err := db.DB(); err == nil {
			if err := sqlDB.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// Ping checks that the database answers, for /healthz.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.R.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error
}

// write runs fn in one immediate transaction on the writer.
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	start := time.Now()
	s.holdWAL()
	db := s.W.WithContext(withSealer(ctx, s.sealer))
	err := db.Transaction(fn)
	for try := 1; try < maxWriteTries && s.d.retryable(err) && ctx.Err() == nil; try++ {
		err = db.Transaction(fn)
	}
	err = s.noteWrite(err)
	s.observeWrite("store", start)
	return err
}

// maxWriteTries bounds how often a write that lost a race to a concurrent
// one (PostgreSQL) is run again before its error is returned.
const maxWriteTries = 5

// observeWrite hands a write transaction's time, waiting for the writer
// (and for the WAL's bound) included, to ObserveWrite (the app's metrics)
// when one is set.
func (s *Store) observeWrite(kind string, start time.Time) {
	if s.ObserveWrite != nil {
		s.ObserveWrite(kind, time.Since(start))
	}
}

// read gives a reader handle bound to ctx.
func (s *Store) read(ctx context.Context) *gorm.DB { return s.R.WithContext(withSealer(ctx, s.sealer)) }

// ScopeMode limits a query to one mode's rows. Every mode-owned table is
// queried through it, so one mode cannot see the other's data.
func ScopeMode(m Mode) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB { return db.Where("mode = ?", string(m)) }
}

func (s *Store) migrate(ctx context.Context) error {
	// Migrations go through database/sql directly: each script is one
	// Exec, whose statements the driver runs in turn.
	db, err := s.W.DB()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	migrations, err := loadMigrations(s.d.Name())
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if err := s.applyMigration(ctx, db, m.version, m.name, m.sql); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, db *sql.DB, version int, name, script string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, s.d.statement("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, script); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.d.statement("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)"),
		version, name, ms(s.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// scanRow runs a query built on db that returns at most one row and scans
// it into dest; sql.ErrNoRows when there is none. GORM's Row() hands back
// an empty *sql.Row, which panics in Scan, when preparing the statement
// fails (a dropped connection), so queries go through Rows() instead.
func scanRow(db *gorm.DB, dest ...any) error {
	rows, err := db.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}
