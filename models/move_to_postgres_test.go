package models_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func skipUnlessPostgres(t *testing.T) {
	t.Helper()
	if !modelstest.OnPostgres() {
		t.Skipf("moving to PostgreSQL needs a server: set %s to a postgres:// URL", modelstest.PostgresEnv)
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestMoveToPostgres moves a SQLite file made through the store to
// PostgreSQL and finds every row, secret, token and key there unchanged.
func TestMoveToPostgres(t *testing.T) {
	skipUnlessPostgres(t)
	ctx := context.Background()
	f := modelstest.FilledSQLite(t, 20)
	// A response body from before bodies were made storable: a NUL and a
	// byte that is not UTF-8, which PostgreSQL's text refuses.
	legacy := "a\x00b\xffc"
	src, err := sql.Open("sqlite3", f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Exec("UPDATE attempts SET response_body = CAST(? AS TEXT) WHERE id = (SELECT MIN(id) FROM attempts)", []byte(legacy)); err != nil {
		t.Fatal(err)
	}
	// The last request as a server stopped a moment after logging it left
	// it: its user not yet indexed (on SQLite the index runs behind the log).
	if _, err := src.Exec(`DELETE FROM api_request_users WHERE request_id = 'req-2';
		UPDATE settings SET value = (SELECT rowid FROM api_requests WHERE id = 'req-1') WHERE key = 'api_request_users_through'`); err != nil {
		t.Fatal(err)
	}
	src.Close()
	before := fileHash(t, f.Path)
	for _, side := range []string{"-wal", "-shm"} {
		if fi, err := os.Stat(f.Path + side); err == nil {
			t.Logf("before: %s%s %d bytes", f.Path, side, fi.Size())
		}
	}

	url := modelstest.Database(t)
	var told []string
	report, err := models.MoveToPostgres(ctx, models.MoveOptions{From: f.Path, To: url, SecretKeyFile: f.KeyFile,
		Copied: func(m models.MovedTable) { told = append(told, m.Name) }})
	if err != nil {
		t.Fatalf("move: %v", err)
	}

	t.Run("the source file is unchanged", func(t *testing.T) {
		for _, side := range []string{"-wal", "-shm"} {
			if fi, err := os.Stat(f.Path + side); err == nil {
				t.Logf("after: %s%s %d bytes", f.Path, side, fi.Size())
			}
		}
		if fileHash(t, f.Path) != before {
			t.Fatal("the SQLite file changed")
		}
	})
	t.Run("every row of every table is equal", func(t *testing.T) {
		tables := compareTables(t, f.Path, url)
		var reported []string
		for _, m := range report.Tables {
			reported = append(reported, m.Name)
		}
		slices.Sort(reported)
		if !slices.Equal(reported, tables) {
			t.Fatalf("moved %v, the schema has %v", reported, tables)
		}
		if !slices.Equal(told, reportNames(report)) {
			t.Errorf("told %v, reported %v", told, reportNames(report))
		}
	})
	t.Run("parents are copied before children, counters last", func(t *testing.T) {
		names := reportNames(report)
		at := func(n string) int { return slices.Index(names, n) }
		for _, pair := range [][2]string{{"users", "link_tokens"}, {"webhook_endpoints", "deliveries"}, {"events", "deliveries"},
			{"deliveries", "attempts"}, {"operators", "operator_totp"}, {"operators", "sessions"}} {
			if at(pair[0]) > at(pair[1]) {
				t.Errorf("%s copied after %s: %v", pair[0], pair[1], names)
			}
		}
		if last := names[len(names)-2:]; !slices.Contains(last, "counters") || !slices.Contains(last, "delivery_hourly") {
			t.Errorf("the trigger-kept tables are not last: %v", names)
		}
	})
	t.Run("the triggers, disabled for the copy, are enabled again", func(t *testing.T) {
		if !report.TriggersDisabled {
			t.Error("the owner of the tables did not disable their triggers")
		}
		if n := disabledTriggers(t, url); n != 0 {
			t.Errorf("%d triggers are disabled after the move", n)
		}
	})
	t.Run("the indexes, built after the copy, are those Open makes", func(t *testing.T) {
		fresh := modelstest.Database(t)
		s, err := models.Open(models.Options{Path: fresh, SecretKeyFile: filepath.Join(t.TempDir(), "fresh.key")})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		got, want := indexDefs(t, url), indexDefs(t, fresh)
		if len(want) < 30 || !slices.Equal(got, want) {
			t.Errorf("indexes after the move:\n%s\nOpen makes:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("text PostgreSQL refuses is stored as the server stores it", func(t *testing.T) {
		for _, m := range report.Tables {
			if want := int64(map[string]int{"attempts": 1}[m.Name]); m.Replaced != want {
				t.Errorf("%s: %d values replaced, want %d", m.Name, m.Replaced, want)
			}
		}
	})
	t.Run("secrets, tokens and keys work through the store", func(t *testing.T) {
		s, err := models.Open(models.Options{Path: url, SecretKeyFile: f.KeyFile})
		if err != nil {
			t.Fatalf("open the target: %v", err)
		}
		defer s.Close()
		if got, want := s.TenantID, f.TenantID; got != want {
			t.Errorf("tenant %q, want the source's %q", got, want)
		}
		ep, err := s.GetWebhookEndpoint(ctx, models.Sandbox, f.EndpointID)
		if err != nil {
			t.Fatal(err)
		}
		if ep.Secret != f.Secret || ep.PreviousSecret != f.PreviousSecret {
			t.Errorf("endpoint secrets %q/%q, want %q/%q", ep.Secret, ep.PreviousSecret, f.Secret, f.PreviousSecret)
		}
		if p := s.ParseToken(f.Token); !p.SignatureOK {
			t.Errorf("a token issued before the move does not verify: %s", p.Problem)
		}
		if _, err := s.FindTokenByRaw(ctx, f.Token); err != nil {
			t.Errorf("find the token: %v", err)
		}
		if _, err := s.Authenticate(ctx, f.APIKey, f.APISecret); err != nil {
			t.Errorf("the API key does not authenticate: %v", err)
		}
		op, _, err := s.CheckOperatorPassword(ctx, f.OperatorEmail, f.Password)
		if err != nil {
			t.Fatalf("the operator's password: %v", err)
		}
		if tf, err := s.TwoFactorOf(ctx, op.ID); err != nil || !tf.Enabled {
			t.Errorf("two-factor sign-in: %+v, %v", tf, err)
		}
	})
	t.Run("a target that holds data is refused", func(t *testing.T) {
		_, err := models.MoveToPostgres(ctx, models.MoveOptions{From: f.Path, To: url, SecretKeyFile: f.KeyFile})
		if err == nil || !strings.Contains(err.Error(), "already holds data") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a key that does not open the source is refused before the target is touched", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other.key")
		if err := os.WriteFile(other, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		empty := modelstest.Database(t)
		_, err := models.MoveToPostgres(ctx, models.MoveOptions{From: f.Path, To: empty, SecretKeyFile: other})
		if err == nil || !strings.Contains(err.Error(), "does not open the secrets of "+f.Path) {
			t.Fatalf("got %v", err)
		}
		if n := countTables(t, empty); n != 0 {
			t.Errorf("the target has %d tables after a refusal", n)
		}
	})
	t.Run("a target a tokendesk started on with another key is refused", func(t *testing.T) {
		used := modelstest.Database(t)
		s, err := models.Open(models.Options{Path: used, SecretKeyFile: filepath.Join(t.TempDir(), "own.key")})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, err = models.MoveToPostgres(ctx, models.MoveOptions{From: f.Path, To: used, SecretKeyFile: f.KeyFile})
		if err == nil || !strings.Contains(err.Error(), "another master key") {
			t.Fatalf("got %v", err)
		}
	})
	if fileHash(t, f.Path) != before {
		t.Fatal("the SQLite file changed")
	}
}

// TestMoveToPostgresReplacesWhatOpenMade moves into a database a tokendesk
// was started on (with the same key) but never used: its own tenant id and
// signing keys give way to the source's.
func TestMoveToPostgresReplacesWhatOpenMade(t *testing.T) {
	skipUnlessPostgres(t)
	ctx := context.Background()
	f := modelstest.FilledSQLite(t, 3)
	url := modelstest.Database(t)
	s, err := models.Open(models.Options{Path: url, TenantID: "other", SecretKeyFile: f.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := models.MoveToPostgres(ctx, models.MoveOptions{From: f.Path, To: url, SecretKeyFile: f.KeyFile}); err != nil {
		t.Fatalf("move: %v", err)
	}
	compareTables(t, f.Path, url)
}

func reportNames(r *models.MoveReport) []string {
	var out []string
	for _, m := range r.Tables {
		out = append(out, m.Name)
	}
	return out
}

func countTables(t *testing.T, url string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(),
		"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// compareTables compares every table but schema_migrations, row by row and
// column by column, and returns the tables' names. Values are compared as
// text: booleans as 0 and 1, bytes and strings alike, and text as
// PostgreSQL can hold it.
func compareTables(t *testing.T, path, url string) []string {
	t.Helper()
	ctx := context.Background()
	src, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name, string_agg(column_name, ',' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'
		GROUP BY table_name ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	type table struct{ name, cols string }
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var tb table
		return tb, r.Scan(&tb.name, &tb.cols)
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tables {
		names = append(names, tb.name)
		q := "SELECT " + tb.cols + " FROM " + tb.name
		want := sqliteRows(t, src, q)
		if tb.name == "api_request_users" {
			// Those the source had not indexed yet are added.
			want = sqliteRows(t, src, "SELECT user_id, created_at, id FROM api_requests WHERE user_id <> ''")
		}
		got := postgresRows(t, conn, q)
		if len(want) == 0 && tb.name != "api_requests" && tb.name != "delivery_hourly" {
			// Every table holds rows in the filled source, or the test proves little.
			t.Errorf("%s is empty in the source", tb.name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s differs (%d rows on PostgreSQL, %d in SQLite)\n first PostgreSQL rows: %q\n first SQLite rows:     %q",
				tb.name, len(got), len(want), first(got), first(want))
		}
	}
	var n int
	if err := src.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(names) {
		t.Errorf("SQLite has %d tables, PostgreSQL %d", n, len(names))
	}
	return names
}

func first(rows []string) []string { return rows[:min(3, len(rows))] }

func sqliteRows(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, rowText(vals))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func postgresRows(t *testing.T, conn *pgx.Conn, q string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rowText(vals))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func rowText(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case nil:
			parts[i] = "NULL"
		case bool:
			parts[i] = map[bool]string{false: "0", true: "1"}[x]
		case []byte: // BLOB and BYTEA, byte for byte
			parts[i] = fmt.Sprintf("%q", x)
		case string:
			parts[i] = fmt.Sprintf("%q", storable(x))
		default:
			parts[i] = fmt.Sprint(x)
		}
	}
	return strings.Join(parts, " | ")
}

// storable is text as PostgreSQL holds it (what the store does to a
// receiver's answer).
func storable(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// TestMoveToPostgresAsAUserThatDoesNotOwnTheTables moves into tables
// another role made (a migration run by the owner, the move by the app's
// role): the triggers cannot be disabled, so they fire, and the tables they
// keep still end as the source's.
func TestMoveToPostgresAsAUserThatDoesNotOwnTheTables(t *testing.T) {
	skipUnlessPostgres(t)
	ctx := context.Background()
	f := modelstest.FilledSQLite(t, 6)
	url := modelstest.Database(t)
	s, err := models.Open(models.Options{Path: url, SecretKeyFile: f.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	var schema string
	if err := owner.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	role := "mover_" + schema
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + role,
	} {
		if _, err := owner.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		owner, err := pgx.Connect(context.Background(), url)
		if err != nil {
			return
		}
		defer owner.Close(context.Background())
		owner.Exec(context.Background(), "DROP OWNED BY "+role)
		owner.Exec(context.Background(), "DROP ROLE "+role)
	})
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	asMover := strings.Replace(url, "://"+cfg.User+"@", "://"+role+"@", 1)
	r, err := models.MoveToPostgres(ctx, models.MoveOptions{From: f.Path, To: asMover, SecretKeyFile: f.KeyFile})
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	if r.TriggersDisabled {
		t.Error("the triggers were disabled by a role that does not own the tables")
	}
	compareTables(t, f.Path, url)
	if n := disabledTriggers(t, url); n != 0 {
		t.Errorf("%d triggers are disabled after the move", n)
	}
}

// indexDefs are the definitions of the indexes of the URL's schema,
// without the schema's name.
func indexDefs(t *testing.T, url string) []string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT replace(indexdef, current_schema() || '.', '')
		FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return defs
}

// disabledTriggers counts the target's own triggers that are not enabled.
func disabledTriggers(t *testing.T, url string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT COUNT(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND NOT t.tgisinternal AND t.tgenabled <> 'O'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
