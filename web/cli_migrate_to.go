package web

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"tokendesk/models"
)

// migrateToEnv may hold the target's URL, so its password stays out of
// the shell's history and the process list.
const migrateToEnv = "TOKENDESK_MIGRATE_TO"

const migrateToUsage = `Usage:
  tokendesk migrate-to [--db FILE] [--secret-key-file KEY] POSTGRES_URL

Copies the SQLite database FILE into the empty PostgreSQL database at
POSTGRES_URL, in one transaction: every row, with ids, tenant id, signing
keys, sealed secrets, API keys and operators unchanged.

The URL may instead come from ` + migrateToEnv + `, so that its password is
not typed on the command line (the shell's history, the process list); a URL
without a password takes it from PGPASSWORD or ~/.pgpass:
  read -rs ` + migrateToEnv + ` && export ` + migrateToEnv + `   # paste the URL; it is not shown
  tokendesk migrate-to --db tokendesk.db

Stop the server first: what it writes after the copy began is not moved.
FILE is opened read-only and left as it is (keep it as a backup). The key
file must be FILE's (by default FILE.key); the PostgreSQL database is opened
with it from then on. A database that already holds data is refused.

Flags:
`

// migrateTo moves a SQLite database to PostgreSQL.
func (cli *CLI) migrateTo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tokendesk migrate-to", flag.ContinueOnError)
	fs.SetOutput(cli.Stderr)
	def := DefaultConfig().DBPath
	if v := cli.Getenv("TOKENDESK_DB"); v != "" && !models.IsPostgresURL(v) {
		def = v
	}
	db := fs.String("db", def, "the SQLite database file to move [TOKENDESK_DB]")
	keyFile := fs.String("secret-key-file", cli.Getenv("TOKENDESK_SECRET_KEY_FILE"),
		"the SQLite database's master key file (default: the database path + .key) [TOKENDESK_SECRET_KEY_FILE]")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), migrateToUsage)
		fs.PrintDefaults()
	}
	// The URL may come before the flags too.
	var target string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		target, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if target == "" && len(rest) > 0 {
		target, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(rest, " "))
	}
	fromEnv := false
	if target == "" {
		target, fromEnv = cli.Getenv(migrateToEnv), true
	}
	switch {
	case target == "":
		return fmt.Errorf("say where to: tokendesk migrate-to POSTGRES_URL, or set %s to the URL", migrateToEnv)
	case models.IsPostgresURL(*db):
		return fmt.Errorf("--db names the SQLite file to move, and %s is a PostgreSQL URL", models.RedactURL(*db))
	case !models.IsPostgresURL(target):
		return errors.New("the target is not a PostgreSQL URL: give one that begins postgres:// or postgresql://")
	}
	key := *keyFile
	if key == "" {
		key = models.SecretKeyPath(*db)
	}
	where := models.RedactURL(target)
	fmt.Fprintf(cli.Stdout, "Moving %s to PostgreSQL at %s, in one transaction.\n", *db, where)
	report, err := models.MoveToPostgres(ctx, models.MoveOptions{From: *db, To: target, SecretKeyFile: key,
		Copied: func(m models.MovedTable) {
			fmt.Fprintf(cli.Stdout, "Copied %s.%s\n", rowsOf(m), replacedNote(m))
		}})
	if err != nil {
		return err
	}
	rows := int64(0)
	for _, m := range report.Tables {
		rows += m.Rows
	}
	took := report.Took.Round(time.Millisecond)
	fmt.Fprintf(cli.Stdout, "Committed: %d rows in %d tables in %s (tenant %s); %s is unchanged.\n",
		rows, len(report.Tables), took, report.TenantID, *db)
	fmt.Fprintf(cli.Stdout, "Next: start tokendesk on PostgreSQL with the same key file, and no longer on %s:\n  %s\n",
		*db, cli.serveCommand(target, fromEnv, report.SecretKeyFile))
	return nil
}

// rowsOf says a table's rows as a person reads them.
func rowsOf(m models.MovedTable) string {
	if m.Rows == 1 {
		return "1 row of " + m.Name
	}
	return fmt.Sprintf("%d rows of %s", m.Rows, m.Name)
}

func replacedNote(m models.MovedTable) string {
	if m.Replaced == 0 {
		return ""
	}
	return fmt.Sprintf(" %d text values held NUL or bytes that are not UTF-8, which PostgreSQL's text refuses: they are stored with U+FFFD, as the server stores such answers on PostgreSQL.", m.Replaced)
}

// serveCommand is the command that starts the server on the target, fit to
// paste: the URL's password is never printed, so a URL with one is left to
// the variable it came from, or to TOKENDESK_DB.
func (cli *CLI) serveCommand(target string, fromEnv bool, keyFile string) string {
	key := " --secret-key-file " + shellQuote(keyFile)
	if u, err := url.Parse(target); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			if fromEnv {
				return cli.program() + ` serve --db "$` + migrateToEnv + `"` + key
			}
			return "TOKENDESK_DB='" + models.RedactURL(target) + "' " + cli.program() + " serve" + key +
				"   (with the password in place of xxxxx)"
		}
	}
	return cli.program() + " serve --db " + shellQuote(target) + key
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
