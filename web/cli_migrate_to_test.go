package web

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tokendesk/models/modelstest"
)

type cliCase struct {
	name string
	env  map[string]string
	args []string
	code int
	has  []string
	not  []string
}

func runCLICases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			cli := &CLI{Getenv: func(k string) string { return c.env[k] }, Stdout: &out, Stderr: &out}
			code := cli.Main(t.Context(), c.args)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s", code, c.code, out.String())
			}
			for _, h := range c.has {
				if !strings.Contains(out.String(), h) {
					t.Errorf("output lacks %q:\n%s", h, out.String())
				}
			}
			for _, n := range c.not {
				if strings.Contains(out.String(), n) {
					t.Errorf("output has %q:\n%s", n, out.String())
				}
			}
		})
	}
}

// TestMigrateToRefusesWhatItCannotDo needs no PostgreSQL: each refusal
// comes before one is reached.
func TestMigrateToRefusesWhatItCannotDo(t *testing.T) {
	db := existingDB(t)
	missing := filepath.Join(t.TempDir(), "typo.db")
	runCLICases(t, []cliCase{
		{name: "--help says where the URL may come from", args: []string{"migrate-to", "--help"},
			has: []string{"tokendesk migrate-to [--db FILE] [--secret-key-file KEY] POSTGRES_URL", "TOKENDESK_MIGRATE_TO", "PGPASSWORD", "-secret-key-file"}},
		{name: "the overview lists it", args: []string{"--help"}, has: []string{"tokendesk migrate-to POSTGRES_URL"}},
		{name: "no URL is refused with where to give one", args: []string{"migrate-to", "--db", db}, code: 1,
			has: []string{"tokendesk migrate-to: Say where to: tokendesk migrate-to POSTGRES_URL, or set TOKENDESK_MIGRATE_TO"}},
		{name: "a URL that is not PostgreSQL's is refused", args: []string{"migrate-to", "--db", db, "mysql://x/y"}, code: 1,
			has: []string{"The target is not a PostgreSQL URL"}, not: []string{"mysql://x/y"}},
		{name: "a source that does not exist is refused, not created", args: []string{"migrate-to", "--db", missing, "postgres://127.0.0.1:1/x"}, code: 1,
			has: []string{"There is no SQLite database at " + missing}},
		{name: "a source key file that does not exist is refused", args: []string{"migrate-to", "--db", db, "--secret-key-file", missing + ".key", "postgres://127.0.0.1:1/x"},
			code: 1, has: []string{"The master key file " + missing + ".key does not exist"}},
	})
	if _, err := os.Stat(missing); err == nil {
		t.Error("migrate-to created the database it was pointed at by mistake")
	}
}

// TestMigrateToCommand runs the command as a person types it.
func TestMigrateToCommand(t *testing.T) {
	if !modelstest.OnPostgres() {
		t.Skipf("moving to PostgreSQL needs a server: set %s to a postgres:// URL", modelstest.PostgresEnv)
	}
	f := modelstest.FilledSQLite(t, 5)
	target := modelstest.Database(t)
	// The test server trusts its clients, so any password is let in.
	u, err := url.Parse(modelstest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "hunter2")
	withPassword := u.String()
	wrongKey := filepath.Join(t.TempDir(), "wrong.key")
	if err := os.WriteFile(wrongKey, []byte(strings.Repeat("cd", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runCLICases(t, []cliCase{
		{name: "a key that is not the source's is refused", args: []string{"migrate-to", "--db", f.Path, "--secret-key-file", wrongKey, target}, code: 1,
			has: []string{"tokendesk migrate-to: The master key in " + wrongKey, "does not open the secrets of " + f.Path}},
		{name: "the move says each table and what to do next", args: []string{"migrate-to", "--db", f.Path, "--secret-key-file", f.KeyFile, target},
			has: []string{"Copied 5 rows of users.", "Copied 2 rows of operators.", "Copied 2 rows of api_requests.", "Copied 2 rows of api_request_users.", "Copied 2 rows of webhook_endpoints.",
				"Committed: ", "(tenant acme); " + f.Path + " is unchanged.",
				"Next: start tokendesk on PostgreSQL with the same key file", "serve --db '" + target + "' --secret-key-file " + f.KeyFile}},
		{name: "a target that holds data is refused in a sentence", args: []string{"migrate-to", "--db", f.Path, "--secret-key-file", f.KeyFile, target}, code: 1,
			has: []string{"tokendesk migrate-to: PostgreSQL at ", "already holds data (in "}, not: []string{"Copied", "CONFLICT", "SQLSTATE"}},
		{name: "the URL may come from the environment, its password never printed",
			env:  map[string]string{"TOKENDESK_MIGRATE_TO": withPassword, "TOKENDESK_SECRET_KEY_FILE": f.KeyFile, "TOKENDESK_DB": f.Path},
			args: []string{"migrate-to"}, has: []string{"Copied 5 rows of users.", `serve --db "$TOKENDESK_MIGRATE_TO" --secret-key-file ` + f.KeyFile, "xxxxx"},
			not: []string{"hunter2"}},
		{name: "the moved database opens with the same key", args: []string{"apikey", "list", "--db", target, "--secret-key-file", f.KeyFile},
			has: []string{f.APIKey}},
	})
}
