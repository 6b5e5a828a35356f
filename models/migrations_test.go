package models

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mattn/go-sqlite3"
	"gorm.io/gorm/schema"
)

func TestMigrationFoldersAgree(t *testing.T) {
	files := func(dialect string) []string {
		entries, err := fs.ReadDir(migrationFiles, "migrations/"+dialect)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	pgFiles, liteFiles := files("postgres"), files("sqlite")
	for _, f := range liteFiles {
		if !slices.Contains(pgFiles, f) {
			t.Errorf("migrations/sqlite/%s has no migrations/postgres/%s", f, f)
		}
	}
	for _, f := range pgFiles {
		if !slices.Contains(liteFiles, f) {
			t.Errorf("migrations/postgres/%s has no migrations/sqlite/%s", f, f)
		}
	}

	lite, err := loadMigrations("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < max(len(lite), len(pg)); i++ {
		switch {
		case i >= len(pg):
			t.Errorf("migration %d (%s) is in sqlite only", lite[i].version, lite[i].name)
		case i >= len(lite):
			t.Errorf("migration %d (%s) is in postgres only", pg[i].version, pg[i].name)
		case lite[i].name != pg[i].name:
			t.Errorf("migration %d is %q in sqlite, %q in postgres", lite[i].version, lite[i].name, pg[i].name)
		case strings.TrimSpace(pg[i].sql) == "":
			t.Errorf("migration %d (%s) is empty in postgres: a step with nothing to do says why and runs SELECT 1", pg[i].version, pg[i].name)
		}
	}
}

// The deliberate differences between the two schemas, in one place.
//
// SQLite declares every integer INTEGER; PostgreSQL needs the width, and a
// flag Go binds as bool must be BOOLEAN (pgx refuses a bool for an int, and
// `boolean = 1` is an error). An INTEGER column is BIGINT unless it is
// listed here: times in ms and Go int64s are BIGINT, small counts and codes
// are INTEGER, flags are BOOLEAN.
var pgTypeExceptions = map[string]string{
	"webhook_endpoints.active":          "boolean",
	"webhook_endpoints.include_payload": "boolean",
	"deliveries.manual_pending":         "boolean",
	"attempts.body_is_payload":          "boolean",

	"webhook_endpoints.rate_limit":    "integer",
	"webhook_endpoints.max_in_flight": "integer",
	"deliveries.attempt_count":        "integer",
	"deliveries.auto_attempts":        "integer",
	"deliveries.last_status_code":     "integer",
	"deliveries.manual_requests":      "integer",
	"attempts.number":                 "integer",
	"attempts.response_status":        "integer",
	"api_requests.status":             "integer",
	"login_challenges.tries":          "integer",
	"login_throttle.failures":         "integer",
	"login_throttle.in_flight":        "integer",

	// Declared BLOB in SQLite, but what the store writes there is the
	// sealed key as text (seal.go), read back with CAST(… AS TEXT).
	"signing_keys.private_key": "text",
}

// sqliteClass is the PostgreSQL type class a SQLite column must have.
func sqliteClass(table, column, decl string) string {
	if c, ok := pgTypeExceptions[table+"."+column]; ok {
		return c
	}
	switch strings.ToUpper(decl) {
	case "TEXT":
		return "text"
	case "INTEGER":
		return "bigint"
	case "BLOB":
		return "blob"
	case "REAL":
		return "real"
	}
	return "sqlite " + decl
}

func pgClass(dataType string) string {
	switch dataType {
	case "text", "bigint", "integer", "boolean":
		return dataType
	case "bytea":
		return "blob"
	case "double precision", "real":
		return "real"
	}
	return "postgres " + dataType
}

// An index column is its name or expression and, when not the default,
// its collation. SQLite's NOCASE is lower() in PostgreSQL's expression
// indices (the metadata search), or the collation nocase on a column
// (operator e-mail).
var lowerExpr = regexp.MustCompile(`^lower\(\(?(\w+)\)?\)$`)

func normIndexColumn(col string) string {
	if m := lowerExpr.FindStringSubmatch(col); m != nil {
		return m[1] + " COLLATE NOCASE"
	}
	return col
}

// Partial-index predicates and defaults compare without PostgreSQL's casts,
// parentheses and spacing.
var pgCast = regexp.MustCompile(`::[a-z ]+`)

func normExpr(s string) string {
	s = pgCast.ReplaceAllString(s, "")
	return strings.NewReplacer("(", "", ")", "", " ", "", "\t", "", "\n", "").Replace(s)
}

func normDefault(class, s string) string {
	s = normExpr(s)
	if class == "boolean" {
		s = strings.NewReplacer("true", "1", "false", "0").Replace(strings.ToLower(s))
	}
	return s
}

type schemaColumn struct {
	Class   string
	NotNull bool
	Default string // normalized; "" for none
}

type schemaIndex struct {
	Unique  bool
	Columns []string
	Where   string
}

type schemaTable struct {
	Columns map[string]schemaColumn
	PK      []string
	FKs     []string // "column -> table(column) ON DELETE action"
	Uniques []string // indices made by UNIQUE constraints, which have no name of ours
	Indexes map[string]schemaIndex
	// Triggers by name: when and on what they fire ("after update of
	// status"); their bodies differ by dialect and are not compared.
	Triggers map[string]string
}

var triggerEvent = regexp.MustCompile(`(?is)\b(BEFORE|AFTER|INSTEAD\s+OF)\s+(INSERT|DELETE|UPDATE(?:\s+OF\s+[\w\s,]+?)?)\s+ON\b`)

// triggerWhen reads when a trigger fires from its CREATE TRIGGER text.
func triggerWhen(def string) string {
	m := triggerEvent.FindStringSubmatch(def)
	if m == nil {
		return "unreadable: " + def
	}
	return strings.ToLower(strings.Join(strings.Fields(m[1]+" "+m[2]), " "))
}

func TestSchemasAgree(t *testing.T) {
	url := os.Getenv("TOKENDESK_TEST_POSTGRES")
	if url == "" {
		t.Skip("TOKENDESK_TEST_POSTGRES is not set: the PostgreSQL schema is not compared (.ci/with-postgres starts a server)")
	}
	lite := sqliteSchema(t)
	pg := postgresSchema(t, url)

	checkTypeExceptions(t, lite)
	for _, name := range unionKeys(lite, pg) {
		l, lok := lite[name]
		p, pok := pg[name]
		if !lok || !pok {
			t.Errorf("table %s: in sqlite %v, in postgres %v", name, lok, pok)
			continue
		}
		for _, c := range unionKeys(l.Columns, p.Columns) {
			lc, lok := l.Columns[c]
			pc, pok := p.Columns[c]
			switch {
			case !lok || !pok:
				t.Errorf("column %s.%s: in sqlite %v, in postgres %v", name, c, lok, pok)
			case lc != pc:
				t.Errorf("column %s.%s: sqlite %+v, postgres %+v", name, c, lc, pc)
			}
		}
		if !slices.Equal(l.PK, p.PK) {
			t.Errorf("table %s: primary key sqlite %q, postgres %q", name, l.PK, p.PK)
		}
		if !slices.Equal(l.FKs, p.FKs) {
			t.Errorf("table %s: foreign keys\nsqlite:   %q\npostgres: %q", name, l.FKs, p.FKs)
		}
		for trigger, when := range pgTriggerExceptions[name] {
			if p.Triggers[trigger] == when {
				p.Triggers[trigger] = l.Triggers[trigger]
			}
		}
		if !reflect.DeepEqual(l.Triggers, p.Triggers) {
			t.Errorf("table %s: triggers\nsqlite:   %q\npostgres: %q", name, l.Triggers, p.Triggers)
		}
		if !slices.Equal(l.Uniques, p.Uniques) {
			t.Errorf("table %s: unique constraints sqlite %q, postgres %q", name, l.Uniques, p.Uniques)
		}
		for _, i := range unionKeys(l.Indexes, p.Indexes) {
			li, lok := l.Indexes[i]
			pi, pok := p.Indexes[i]
			switch {
			case !lok || !pok:
				t.Errorf("index %s on %s: in sqlite %v, in postgres %v", i, name, lok, pok)
			case !reflect.DeepEqual(li, pi):
				t.Errorf("index %s on %s: sqlite %+v, postgres %+v", i, name, li, pi)
			}
		}
	}
}

// pgTriggerExceptions are the triggers that fire otherwise on PostgreSQL,
// by table, with when they fire there. delivery_hourly_status runs once
// per statement with transition tables, which take no column list
// (migration 018).
var pgTriggerExceptions = map[string]map[string]string{
	"deliveries": {"delivery_hourly_status": "after update"},
}

// checkTypeExceptions keeps pgTypeExceptions true to the schema and to the
// models: every entry names a column that exists, every bool field of a
// model is a boolean column, and no int64 field is held in an integer.
func checkTypeExceptions(t *testing.T, lite map[string]schemaTable) {
	t.Helper()
	for key := range pgTypeExceptions {
		table, column, _ := strings.Cut(key, ".")
		if _, ok := lite[table].Columns[column]; !ok {
			t.Errorf("pgTypeExceptions names %s, which is no column", key)
		}
	}
	cache := &sync.Map{}
	for _, model := range []any{&Setting{}, &Operator{}, &Session{}, &APIKey{}, &SigningKey{}, &User{}, &UserMetadata{},
		&LinkToken{}, &Event{}, &WebhookEndpoint{}, &Delivery{}, &Attempt{}, &AuditEntry{}, &APIRequest{},
		&operatorTOTP{}, &recoveryCode{}, &loginChallenge{}} {
		s, err := schema.Parse(model, cache, schema.NamingStrategy{})
		if err != nil {
			t.Fatal(err)
		}
		table, ok := lite[s.Table]
		if !ok {
			t.Errorf("model %s: no table %s", s.Name, s.Table)
			continue
		}
		for _, f := range s.Fields {
			if f.DBName == "" {
				continue
			}
			col, ok := table.Columns[f.DBName]
			if !ok {
				t.Errorf("model %s: field %s has no column %s.%s", s.Name, f.Name, s.Table, f.DBName)
				continue
			}
			switch f.FieldType.Kind() {
			case reflect.Bool:
				if col.Class != "boolean" {
					t.Errorf("%s.%s is a Go bool (%s.%s): list it as boolean in pgTypeExceptions", s.Table, f.DBName, s.Name, f.Name)
				}
			case reflect.Int64:
				if col.Class != "bigint" {
					t.Errorf("%s.%s is a Go int64 (%s.%s) held in %s", s.Table, f.DBName, s.Name, f.Name, col.Class)
				}
			}
		}
	}
}

func unionKeys[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// sqliteSchema applies the SQLite migrations to a fresh file and reads the
// schema back.
func sqliteSchema(t *testing.T) map[string]schemaTable {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite3", filepath.Join(t.TempDir(), "schema.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	migrations, err := loadMigrations("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		if err := applyMigration(ctx, db, m); err != nil {
			t.Fatalf("sqlite: %v", err)
		}
	}

	rows := func(q string, args ...any) *sql.Rows {
		t.Helper()
		r, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return r
	}
	tables := map[string]schemaTable{}
	for _, name := range queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`) {
		tb := schemaTable{Columns: map[string]schemaColumn{}, Indexes: map[string]schemaIndex{}, Triggers: map[string]string{}}
		pk := map[int]string{}
		r := rows(`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`, name)
		for r.Next() {
			var col, decl string
			var notNull bool
			var dflt sql.NullString
			var pkPos int
			if err := r.Scan(&col, &decl, &notNull, &dflt, &pkPos); err != nil {
				t.Fatal(err)
			}
			class := sqliteClass(name, col, decl)
			tb.Columns[col] = schemaColumn{Class: class, NotNull: notNull || pkPos > 0, Default: normDefault(class, dflt.String)}
			if pkPos > 0 {
				pk[pkPos] = col
			}
		}
		r.Close()
		for i := 1; i <= len(pk); i++ {
			tb.PK = append(tb.PK, pk[i])
		}

		r = rows(`SELECT "from", "table", "to", on_delete FROM pragma_foreign_key_list(?)`, name)
		for r.Next() {
			var from, table, to, onDelete string
			if err := r.Scan(&from, &table, &to, &onDelete); err != nil {
				t.Fatal(err)
			}
			tb.FKs = append(tb.FKs, fmt.Sprintf("%s -> %s(%s) ON DELETE %s", from, table, to, onDelete))
		}
		r.Close()
		sort.Strings(tb.FKs)

		type indexRow struct {
			name, origin string
			unique       bool
		}
		var indexes []indexRow
		r = rows(`SELECT name, "unique", origin FROM pragma_index_list(?)`, name)
		for r.Next() {
			var ir indexRow
			if err := r.Scan(&ir.name, &ir.unique, &ir.origin); err != nil {
				t.Fatal(err)
			}
			indexes = append(indexes, ir)
		}
		r.Close()
		for _, ir := range indexes {
			if ir.origin == "pk" {
				continue // the primary key, compared as such
			}
			var cols []string
			r = rows(`SELECT name, coll FROM pragma_index_xinfo(?) WHERE key ORDER BY seqno`, ir.name)
			for r.Next() {
				var col sql.NullString
				var coll string
				if err := r.Scan(&col, &coll); err != nil {
					t.Fatal(err)
				}
				c := col.String
				if !col.Valid {
					c = "<expression>"
				}
				if !strings.EqualFold(coll, "BINARY") {
					c += " COLLATE " + strings.ToUpper(coll)
				}
				cols = append(cols, c)
			}
			r.Close()
			if ir.origin == "u" {
				tb.Uniques = append(tb.Uniques, strings.Join(cols, ", "))
				continue
			}
			var where string
			var def sql.NullString
			if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`, ir.name).Scan(&def); err != nil {
				t.Fatal(err)
			}
			if m := regexp.MustCompile(`(?is)\bWHERE\b(.*)$`).FindStringSubmatch(def.String); m != nil {
				where = normExpr(m[1])
			}
			tb.Indexes[ir.name] = schemaIndex{Unique: ir.unique, Columns: cols, Where: where}
		}
		sort.Strings(tb.Uniques)
		r = rows(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?`, name)
		for r.Next() {
			var trigger, def string
			if err := r.Scan(&trigger, &def); err != nil {
				t.Fatal(err)
			}
			tb.Triggers[trigger] = triggerWhen(def)
		}
		r.Close()
		tables[name] = tb
	}
	return tables
}

// postgresSchema applies the PostgreSQL migrations to a fresh schema of the
// database at url, dropped when the test ends, and reads the schema back.
func postgresSchema(t *testing.T, url string) map[string]schemaTable {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatalf("TOKENDESK_TEST_POSTGRES: %v", err)
	}
	admin := stdlib.OpenDB(*cfg.Copy())
	t.Cleanup(func() { admin.Close() })
	var suffix [6]byte
	rand.Read(suffix[:])
	name := "t_" + hex.EncodeToString(suffix[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	cfg.RuntimeParams["search_path"] = name
	db := stdlib.OpenDB(*cfg)
	defer db.Close()

	migrations, err := loadMigrations("postgres")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations {
		if err := applyMigration(ctx, db, m); err != nil {
			t.Fatalf("postgres: %v", err)
		}
	}

	rows := func(q string, args ...any) *sql.Rows {
		t.Helper()
		r, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return r
	}
	tables := map[string]schemaTable{}
	for _, table := range queryStrings(t, db, `SELECT c.relname FROM pg_class c
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')`) {
		tb := schemaTable{Columns: map[string]schemaColumn{}, Indexes: map[string]schemaIndex{}, Triggers: map[string]string{}}
		r := rows(`SELECT column_name, data_type, is_nullable = 'NO', COALESCE(column_default, '')
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, table)
		for r.Next() {
			var col, dataType, dflt string
			var notNull bool
			if err := r.Scan(&col, &dataType, &notNull, &dflt); err != nil {
				t.Fatal(err)
			}
			class := pgClass(dataType)
			tb.Columns[col] = schemaColumn{Class: class, NotNull: notNull, Default: normDefault(class, dflt)}
		}
		r.Close()

		tb.PK = queryStrings(t, db, `SELECT a.attname FROM pg_constraint c
			CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
			WHERE c.conrelid = $1::regclass AND c.contype = 'p' ORDER BY k.n`, table)
		tb.FKs = queryStrings(t, db, `SELECT a.attname || ' -> ' || f.relname || '(' || fa.attname || ') ON DELETE ' ||
				CASE c.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
					WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' END
			FROM pg_constraint c
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
			JOIN pg_class f ON f.oid = c.confrelid
			JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
			WHERE c.conrelid = $1::regclass AND c.contype = 'f' AND cardinality(c.conkey) = 1`, table)
		sort.Strings(tb.FKs)
		if n := queryStrings(t, db, `SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'
			AND cardinality(conkey) <> 1`, table); len(n) > 0 {
			t.Errorf("table %s: foreign keys of several columns (%q) are not compared yet", table, n)
		}

		type indexRow struct {
			oid, natts       int64
			name, where      string
			unique, primary  bool
			byConstraintOnly bool
		}
		var indexes []indexRow
		r = rows(`SELECT x.indexrelid::bigint, x.indnkeyatts, i.relname, COALESCE(pg_get_expr(x.indpred, x.indrelid), ''),
				x.indisunique, x.indisprimary,
				EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.contype = 'u')
			FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
			WHERE x.indrelid = $1::regclass`, table)
		for r.Next() {
			var ir indexRow
			if err := r.Scan(&ir.oid, &ir.natts, &ir.name, &ir.where, &ir.unique, &ir.primary, &ir.byConstraintOnly); err != nil {
				t.Fatal(err)
			}
			indexes = append(indexes, ir)
		}
		r.Close()
		for _, ir := range indexes {
			if ir.primary {
				continue
			}
			cols := queryStrings(t, db, `SELECT pg_get_indexdef(x.indexrelid, k, true) ||
					COALESCE(' COLLATE ' || upper(co.collname), '')
				FROM pg_index x CROSS JOIN generate_series(1, x.indnkeyatts) AS k
				LEFT JOIN pg_collation co ON co.oid = x.indcollation[k - 1] AND co.collname <> 'default'
				WHERE x.indexrelid = $1 ORDER BY k`, ir.oid)
			for i := range cols {
				cols[i] = normIndexColumn(cols[i])
			}
			if ir.byConstraintOnly {
				tb.Uniques = append(tb.Uniques, strings.Join(cols, ", "))
				continue
			}
			tb.Indexes[ir.name] = schemaIndex{Unique: ir.unique, Columns: cols, Where: normExpr(ir.where)}
		}
		sort.Strings(tb.Uniques)
		r = rows(`SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal`, table)
		for r.Next() {
			var trigger, def string
			if err := r.Scan(&trigger, &def); err != nil {
				t.Fatal(err)
			}
			tb.Triggers[trigger] = triggerWhen(def)
		}
		r.Close()
		tables[table] = tb
	}
	return tables
}

// applyMigration runs one migration in a transaction, as Open does.
func applyMigration(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
	}
	return tx.Commit()
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	r, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer r.Close()
	var out []string
	for r.Next() {
		var s string
		if err := r.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
