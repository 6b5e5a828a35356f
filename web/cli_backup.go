package web

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"tokendesk/models"
)

// backup writes a consistent copy of the database while the server runs.
func (cli *CLI) backup(ctx context.Context, args []string) error {
	// The file may come before or after the flags.
	var out string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		out, args = args[0], args[1:]
	}
	store, rest, err := cli.openStore("tokendesk backup", args, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	if store.Dialect() == "postgres" {
		return errors.New("this database is on PostgreSQL: back it up with pg_dump (see the README, Several instances on PostgreSQL), " +
			"and keep the master key file with it")
	}
	if out == "" && len(rest) == 1 {
		out, rest = rest[0], nil
	}
	if out == "" || len(rest) > 0 {
		return errors.New("say where to write the copy: tokendesk backup OUT.db")
	}
	if err := store.Backup(ctx, out); err != nil {
		return err
	}
	size := int64(0)
	if fi, err := os.Stat(out); err == nil {
		size = fi.Size()
	}
	fmt.Fprintf(cli.Stdout, "Backed up %s to %s (%d bytes; its quick check found no problem).\n"+
		"Its secrets are sealed: restoring it needs the master key %s. Keep a copy of that file apart from the backups.\n",
		storePath(args), out, size, store.SecretKeyFile)
	return nil
}

// check runs SQLite's integrity check on the database, which need not be
// one the server would open.
func (cli *CLI) check(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tokendesk check", flag.ContinueOnError)
	fs.SetOutput(cli.Stderr)
	def := DefaultConfig().DBPath
	if v := cli.Getenv("TOKENDESK_DB"); v != "" {
		def = v
	}
	db := fs.String("db", def, "SQLite database file [TOKENDESK_DB]")
	quick := fs.Bool("quick", false, "run the quick check (skips matching indices to tables)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if models.IsPostgresURL(*db) {
		return errors.New("check looks at SQLite files; on PostgreSQL use its own tools: data checksums (initdb --data-checksums) and pg_amcheck")
	}
	problems, err := models.CheckFile(ctx, *db, *quick)
	if err != nil {
		return err
	}
	if len(problems) == 0 {
		fmt.Fprintf(cli.Stdout, "%s: no problems found.\n", *db)
		return nil
	}
	fmt.Fprintf(cli.Stdout, "%s is damaged; SQLite found:\n", *db)
	for _, p := range problems {
		fmt.Fprintln(cli.Stdout, "  "+p)
	}
	return fmt.Errorf("%d problems found; restore the latest backup (see the README, Backups)", len(problems))
}

// storePath is the --db value among args, for messages.
func storePath(args []string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--db="); ok {
			return v
		}
		if (a == "--db" || a == "-db") && i+1 < len(args) {
			return args[i+1]
		}
	}
	return "the database"
}
