package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// targetColumn is a column of the target and its type, which says what a
// SQLite value becomes (rowSource.convert).
type targetColumn struct {
	name, typ string
}

// copyAll copies every table in one transaction on the target.
func copyAll(ctx context.Context, src *source, conn *pgx.Conn, where string, k *sealer, copied func(MovedTable), report *MoveReport) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin on PostgreSQL at %s: %w", where, err)
	}
	defer tx.Rollback(context.Background())
	// The lock Open's setup takes: a server starting on the target now
	// waits for the copy, then finds the source's tenant id and keys.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('tokendesk setup ' || current_schema()))"); err != nil {
		return fmt.Errorf("take the setup lock on PostgreSQL at %s: %w", where, err)
	}
	if err := refuseUsedTarget(ctx, tx, where, src.tables, k); err != nil {
		return err
	}
	columns, err := targetColumns(ctx, tx)
	if err != nil {
		return fmt.Errorf("read the columns of PostgreSQL at %s: %w", where, err)
	}
	if err := sameTables(ctx, src, columns); err != nil {
		return err
	}
	keys, err := primaryKeys(ctx, tx)
	if err != nil {
		return fmt.Errorf("read the primary keys of PostgreSQL at %s: %w", where, err)
	}
	order, err := foreignKeyOrder(ctx, tx, src.tables)
	if err != nil {
		return fmt.Errorf("read the foreign keys of PostgreSQL at %s: %w", where, err)
	}
	report.TriggersDisabled, err = setUserTriggers(ctx, tx, src.tables, false)
	if err != nil {
		return fmt.Errorf("disable the triggers on PostgreSQL at %s: %w", where, err)
	}
	var indexes []string
	if report.TriggersDisabled { // the owner: the same right lets it drop indexes
		if indexes, err = dropPlainIndexes(ctx, tx); err != nil {
			return fmt.Errorf("set the indexes aside on PostgreSQL at %s: %w", where, err)
		}
	}
	// What Open wrote goes: children first.
	for i := len(order) - 1; i >= 0; i-- {
		if _, err := tx.Exec(ctx, "DELETE FROM "+pgx.Identifier{order[i]}.Sanitize()); err != nil {
			return fmt.Errorf("empty %s on PostgreSQL at %s: %w", order[i], where, err)
		}
	}
	for _, t := range order {
		if slices.Contains(maintainedByTriggers, t) {
			// What the triggers wrote for the rows copied before goes.
			if _, err := tx.Exec(ctx, "DELETE FROM "+pgx.Identifier{t}.Sanitize()); err != nil {
				return fmt.Errorf("empty %s on PostgreSQL at %s: %w", t, where, err)
			}
		}
		moved, err := copyTable(ctx, src, tx, t, columns[t], keys[t])
		if err != nil {
			return fmt.Errorf("copy %s: %w", t, err)
		}
		report.Tables = append(report.Tables, moved)
		if copied != nil {
			copied(moved)
		}
	}
	// Built once from the copied rows, an index is sorted in one pass;
	// kept during the copy, each row would go into each index at a random
	// place (ids and hashes are random).
	if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return err
	}
	for _, def := range indexes {
		if _, err := tx.Exec(ctx, def); err != nil {
			return fmt.Errorf("build the index %s on PostgreSQL at %s: %w", def, where, err)
		}
	}
	if report.TriggersDisabled {
		if _, err := setUserTriggers(ctx, tx, src.tables, true); err != nil {
			return fmt.Errorf("enable the triggers on PostgreSQL at %s: %w", where, err)
		}
	}
	for _, m := range report.Tables {
		var n int64
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM "+pgx.Identifier{m.Name}.Sanitize()).Scan(&n); err != nil {
			return err
		}
		if n != m.Rows {
			return fmt.Errorf("%s holds %d rows on PostgreSQL after copying %d; nothing was committed", m.Name, n, m.Rows)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit on PostgreSQL at %s: %w", where, err)
	}
	return nil
}

func targetColumns(ctx context.Context, tx pgx.Tx) (map[string][]targetColumn, error) {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]targetColumn{}
	for rows.Next() {
		var t string
		var c targetColumn
		if err := rows.Scan(&t, &c.name, &c.typ); err != nil {
			return nil, err
		}
		out[t] = append(out[t], c)
	}
	return out, rows.Err()
}

// sameTables refuses a source whose tables or columns differ from the
// target's (a database changed by hand, or a migration written for one
// database only).
func sameTables(ctx context.Context, src *source, target map[string][]targetColumn) error {
	for _, t := range src.tables {
		cols, ok := target[t]
		if !ok {
			return fmt.Errorf("%s has a table %s that this release's PostgreSQL schema does not: not moving it", src.path, t)
		}
		rows, err := src.conn.QueryContext(ctx, "SELECT name FROM pragma_table_info(?) ORDER BY name", t)
		if err != nil {
			return fmt.Errorf("read the columns of %s in %s: %w", t, src.path, err)
		}
		var have []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			have = append(have, n)
		}
		rows.Close()
		var want []string
		for _, c := range cols {
			want = append(want, c.name)
		}
		slices.Sort(want)
		if !slices.Equal(have, want) {
			return fmt.Errorf("table %s has columns %s in %s and %s on PostgreSQL: not moving it",
				t, strings.Join(have, ", "), src.path, strings.Join(want, ", "))
		}
	}
	return nil
}

// foreignKeyOrder orders tables parents first (a stable topological sort,
// by name among equals), with the trigger-maintained tables last.
func foreignKeyOrder(ctx context.Context, tx pgx.Tx, tables []string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT child.relname, parent.relname
		FROM pg_constraint c
		JOIN pg_class child ON child.oid = c.conrelid
		JOIN pg_class parent ON parent.oid = c.confrelid
		JOIN pg_namespace n ON n.oid = child.relnamespace
		WHERE c.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			rows.Close()
			return nil, err
		}
		if child != parent {
			parents[child] = append(parents[child], parent)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sorted := slices.Clone(tables)
	slices.Sort(sorted)
	var order []string
	placed := map[string]bool{}
	for len(order) < len(sorted) {
		progress := false
		for _, t := range sorted {
			if placed[t] || slices.Contains(maintainedByTriggers, t) && !onlyTriggerTablesLeft(sorted, placed) {
				continue
			}
			ready := true
			for _, p := range parents[t] {
				if !placed[p] && slices.Contains(sorted, p) {
					ready = false
				}
			}
			if ready {
				order = append(order, t)
				placed[t] = true
				progress = true
			}
		}
		if !progress {
			return nil, fmt.Errorf("the foreign keys among %v form a cycle", sorted)
		}
	}
	return order, nil
}

func onlyTriggerTablesLeft(tables []string, placed map[string]bool) bool {
	for _, t := range tables {
		if !placed[t] && !slices.Contains(maintainedByTriggers, t) {
			return false
		}
	}
	return true
}

// setUserTriggers disables (or enables again) the triggers of the tables
// that have any, in the transaction: ALTER TABLE is transactional, so a
// failed copy leaves them enabled. Only the tables' owner may; for another
// user it answers false and the triggers fire during the copy (slower; the
// tables they write are replaced after).
func setUserTriggers(ctx context.Context, tx pgx.Tx, tables []string, enable bool) (bool, error) {
	rows, err := tx.Query(ctx, `SELECT DISTINCT c.relname FROM pg_trigger t
		JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE NOT t.tgisinternal AND n.nspname = current_schema() ORDER BY 1`)
	if err != nil {
		return false, err
	}
	withTriggers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return false, err
	}
	verb := "DISABLE"
	if enable {
		verb = "ENABLE"
	}
	if _, err := tx.Exec(ctx, "SAVEPOINT triggers"); err != nil {
		return false, err
	}
	for _, t := range withTriggers {
		if !slices.Contains(tables, t) {
			continue
		}
		if _, err := tx.Exec(ctx, "ALTER TABLE "+pgx.Identifier{t}.Sanitize()+" "+verb+" TRIGGER USER"); err != nil {
			var pgErr *pgconn.PgError
			if !enable && errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege: not the owner
				_, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT triggers")
				return false, rerr
			}
			return false, err
		}
	}
	_, err = tx.Exec(ctx, "RELEASE SAVEPOINT triggers")
	return true, err
}

// dropPlainIndexes drops the indexes of the current schema that back no
// constraint (primary keys and unique constraints stay: foreign keys need
// them) and returns the statements that make them again, as PostgreSQL
// itself writes them.
func dropPlainIndexes(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT quote_ident(i.relname), pg_get_indexdef(i.oid)
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema()
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
		ORDER BY i.relname`)
	if err != nil {
		return nil, err
	}
	type index struct{ name, def string }
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var ix index
		return ix, r.Scan(&ix.name, &ix.def)
	})
	if err != nil {
		return nil, err
	}
	var defs []string
	for _, ix := range found {
		if _, err := tx.Exec(ctx, "DROP INDEX "+ix.name); err != nil {
			return nil, err
		}
		defs = append(defs, ix.def)
	}
	return defs, nil
}

// copyTable streams one table from the source into the target with COPY.
func copyTable(ctx context.Context, src *source, tx pgx.Tx, table string, cols []targetColumn, pk []string) (MovedTable, error) {
	names := make([]string, len(cols))
	quoted := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
		quoted[i] = `"` + c.name + `"`
	}
	// In primary key order, each row goes at the end of the key's index
	// instead of at a random place (ids are random).
	rows, err := src.conn.QueryContext(ctx, "SELECT "+strings.Join(quoted, ", ")+` FROM "`+table+`"`+orderBy(pk))
	if err != nil {
		return MovedTable{}, fmt.Errorf("read from %s: %w", src.path, err)
	}
	defer rows.Close()
	r := &rowSource{table: table, rows: rows, cols: cols, raw: make([]any, len(cols)), ptrs: make([]any, len(cols)), out: make([]any, len(cols))}
	for i := range r.raw {
		r.ptrs[i] = &r.raw[i]
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, names, r)
	if err != nil {
		return MovedTable{}, err
	}
	return MovedTable{Name: table, Rows: n, Replaced: r.replaced}, nil
}

// primaryKeys are the primary key columns of each table, in key order.
func primaryKeys(ctx context.Context, tx pgx.Tx) (map[string][]string, error) {
	rows, err := tx.Query(ctx, `SELECT t.relname, a.attname
		FROM pg_index x
		JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, pos) ON true
		JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
		WHERE x.indisprimary AND n.nspname = current_schema()
		ORDER BY t.relname, k.pos`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			return nil, err
		}
		out[t] = append(out[t], c)
	}
	return out, rows.Err()
}

func orderBy(cols []string) string {
	if len(cols) == 0 {
		return ""
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = `"` + c + `"`
	}
	return " ORDER BY " + strings.Join(quoted, ", ")
}

// rowSource hands SQLite's rows to COPY, each value turned into the target
// column's type: SQLite's 0/1 into a boolean, text with NUL or invalid
// UTF-8 made storable, BLOB as bytes.
type rowSource struct {
	table    string
	rows     *sql.Rows
	cols     []targetColumn
	raw      []any
	ptrs     []any
	out      []any
	err      error
	replaced int64
}

func (r *rowSource) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		r.err = err
		return false
	}
	for i, c := range r.cols {
		v, err := r.convert(c, r.raw[i])
		if err != nil {
			r.err = fmt.Errorf("column %s: %w", c.name, err)
			return false
		}
		r.out[i] = v
	}
	return true
}

func (r *rowSource) Values() ([]any, error) { return r.out, r.err }

func (r *rowSource) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func (r *rowSource) convert(c targetColumn, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.typ {
	case "boolean":
		switch n := v.(type) {
		case int64:
			if n == 0 || n == 1 {
				return n == 1, nil
			}
		case bool:
			return n, nil
		}
		return nil, fmt.Errorf("%v (%T) where a boolean (0 or 1) belongs", v, v)
	case "bigint", "integer", "smallint":
		switch n := v.(type) {
		case int64:
			return n, nil
		case float64:
			if n == float64(int64(n)) {
				return int64(n), nil
			}
		}
		return nil, fmt.Errorf("%v (%T) where an integer belongs", v, v)
	case "text":
		var s string
		switch t := v.(type) {
		case string:
			s = t
		case []byte:
			s = string(t)
		case int64, float64:
			s = fmt.Sprint(t)
		default:
			return nil, fmt.Errorf("%T where text belongs", v)
		}
		if fixed := storableText(s); fixed != s {
			r.replaced++
			return fixed, nil
		}
		return s, nil
	case "bytea":
		switch t := v.(type) {
		case []byte:
			return t, nil
		case string:
			return []byte(t), nil
		}
		return nil, fmt.Errorf("%T where bytes belong", v)
	}
	return nil, fmt.Errorf("the PostgreSQL type %s is not one migrate-to knows", c.typ)
}
