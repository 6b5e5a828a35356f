package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The copy of tokendesk migrate-to: every table, in foreign-key order, in one
// transaction on the target.

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
		if t == "api_request_users" {
			n, err := copyUnindexedRequestUsers(ctx, src, tx)
			if err != nil {
				return fmt.Errorf("copy %s: %w", t, err)
			}
			moved.Rows += n
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

// copyUnindexedRequestUsers adds the entries of the requests the source had
// not put in api_request_users yet (SQLite fills it a few seconds behind
// the log: dialect_sqlite_request_users.go). On PostgreSQL the log's own
// insert writes them, so nothing else would. An entry already there (a
// pass that stopped between its chunks) is left as it is.
func copyUnindexedRequestUsers(ctx context.Context, src *source, tx pgx.Tx) (int64, error) {
	rows, err := src.conn.QueryContext(ctx, `SELECT user_id, created_at, id FROM api_requests NOT INDEXED
		WHERE `+sqliteUnindexedRequests+` AND user_id <> ''`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var users, ids []string
	var at []int64
	for rows.Next() {
		var u, id string
		var t int64
		if err := rows.Scan(&u, &t, &id); err != nil {
			return 0, err
		}
		users, at, ids = append(users, u), append(at, t), append(ids, id)
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO api_request_users(user_id, created_at, request_id)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) ON CONFLICT DO NOTHING`, users, at, ids)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
