package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// MoveOptions say which SQLite file MoveToPostgres moves, and where.
type MoveOptions struct {
	From string // the SQLite file; opened read-only, never changed
	To   string // postgres:// URL of an empty database (or schema)
	// SecretKeyFile is the source's master key: SecretKeyPath(From) when
	// empty. The target is sealed with the same key, so the sealed values
	// are copied as they are.
	SecretKeyFile string
	// Copied, when set, is told each table as soon as it is copied (in the
	// open transaction: nothing is committed before the last).
	Copied func(MovedTable)
}

// MovedTable is one table copied: its name and rows.
type MovedTable struct {
	Name string
	Rows int64
	// Replaced counts text values that held NUL or invalid UTF-8, which
	// PostgreSQL's text refuses; they were stored with U+FFFD, as the
	// server stores a receiver's answer on PostgreSQL.
	Replaced int64
}

// MoveReport is what MoveToPostgres did.
type MoveReport struct {
	Tables        []MovedTable
	TenantID      string
	SecretKeyFile string
	// TriggersDisabled says the target's triggers were disabled during the
	// copy (the user owns the tables); otherwise they fired and the tables
	// they maintain were replaced with the source's rows after.
	TriggersDisabled bool
	Took             time.Duration
}

// writtenByOpen are the tables Open fills on an empty database (tenant id
// and key check; a signing key per mode; the users counters): the copy
// replaces their rows with the source's. Any other table holding a row
// means the target is in use.
var writtenByOpen = []string{"settings", "signing_keys", "counters"}

// maintainedByTriggers are the tables the target's triggers write when
// rows are inserted elsewhere (users → counters, deliveries →
// delivery_hourly). They are copied last, after what the triggers wrote is
// deleted, so they end as the source's rows whether the triggers fired or
// not. (webhook_endpoints.last_failure_at is written on UPDATE only; a copy
// inserts.)
var maintainedByTriggers = []string{"counters", "delivery_hourly"}

// MoveToPostgres copies the SQLite database at opts.From into the empty
// PostgreSQL database at opts.To: the target is migrated by Open, then
// every table but schema_migrations is copied, parents before children, in
// one transaction that replaces the tenant id, key check and signing keys
// Open made with the source's. The source is read in one read transaction
// of a read-only connection: its file is not written.
func MoveToPostgres(ctx context.Context, opts MoveOptions) (*MoveReport, error) {
	start := time.Now()
	if !IsPostgresURL(opts.To) {
		return nil, fmt.Errorf("the target must be a postgres:// URL")
	}
	if IsPostgresURL(opts.From) {
		return nil, fmt.Errorf("the source must be a SQLite file, and %s is a PostgreSQL URL", RedactURL(opts.From))
	}
	if fi, err := os.Stat(opts.From); err != nil || fi.IsDir() {
		return nil, fmt.Errorf("there is no SQLite database at %s", opts.From)
	}
	if opts.SecretKeyFile == "" {
		opts.SecretKeyFile = SecretKeyPath(opts.From)
	}
	where := RedactURL(opts.To)

	src, err := openSource(ctx, opts.From)
	if err != nil {
		return nil, err
	}
	defer src.close()
	seal, err := src.checkKey(opts.SecretKeyFile)
	if err != nil {
		return nil, err
	}

	// Refuse a target in use before Open writes anything into it.
	pre, err := pgx.Connect(ctx, opts.To)
	if err != nil {
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w", where, err)
	}
	err = refuseUsedTarget(ctx, pre, where, src.tables, seal)
	pre.Close(ctx)
	if err != nil {
		return nil, err
	}

	// Open migrates the target to this release's schema (the source is at
	// the same version: openSource checked).
	target, err := Open(Options{URL: opts.To, SecretKeyFile: opts.SecretKeyFile})
	if err != nil {
		return nil, fmt.Errorf("prepare PostgreSQL at %s: %w", where, err)
	}
	target.Close()

	conn, err := pgx.Connect(ctx, opts.To)
	if err != nil {
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w", where, err)
	}
	defer conn.Close(context.Background())
	report := &MoveReport{TenantID: src.tenantID, SecretKeyFile: opts.SecretKeyFile}
	if err := copyAll(ctx, src, conn, where, seal, opts.Copied, report); err != nil {
		return nil, err
	}

	// Open it as the server will: the key check opens, the signing keys load.
	check, err := Open(Options{URL: opts.To, SecretKeyFile: opts.SecretKeyFile})
	if err != nil {
		return nil, fmt.Errorf("the copy is committed, but PostgreSQL at %s does not open with %s: %w", where, opts.SecretKeyFile, err)
	}
	tenant := check.TenantID
	check.Close()
	if tenant != src.tenantID {
		return nil, fmt.Errorf("the copy is committed, but PostgreSQL at %s holds tenant %q where the source holds %q", where, tenant, src.tenantID)
	}
	report.Took = time.Since(start)
	return report, nil
}

// queryer is what refuseUsedTarget needs of a connection or transaction.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// refuseUsedTarget refuses a target where any table but those Open fills
// holds a row, or whose key check (a tokendesk was started on it) is not
// sealed with this key.
func refuseUsedTarget(ctx context.Context, q queryer, where string, tables []string, k *sealer) error {
	existing, err := targetTables(ctx, q)
	if err != nil {
		return fmt.Errorf("read the tables of PostgreSQL at %s: %w", where, err)
	}
	var used []string
	for _, t := range tables {
		if !existing[t] || slices.Contains(writtenByOpen, t) {
			continue
		}
		var has bool
		if err := q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+pgx.Identifier{t}.Sanitize()+")").Scan(&has); err != nil {
			return fmt.Errorf("look into %s on PostgreSQL at %s: %w", t, where, err)
		}
		if has {
			used = append(used, t)
		}
	}
	if len(used) > 0 {
		return fmt.Errorf("PostgreSQL at %s already holds data (in %s): migrate-to fills an empty database only; "+
			"give it a new database or schema (or drop this one's tables if its data is not wanted)", where, strings.Join(used, ", "))
	}
	if !existing["settings"] {
		return nil
	}
	var check string
	err = q.QueryRow(ctx, "SELECT value FROM settings WHERE key = $1", keyCheckSetting).Scan(&check)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the settings of PostgreSQL at %s: %w", where, err)
	}
	if _, err := openWithOnly(k, check); err != nil {
		return fmt.Errorf("PostgreSQL at %s was set up by a tokendesk started with another master key; it holds no data, "+
			"but give migrate-to a new database or schema (or drop this one's tables)", where)
	}
	return nil
}

// targetTables are the tables of the target's current schema, where Open
// creates them.
func targetTables(ctx context.Context, q queryer) (map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}
