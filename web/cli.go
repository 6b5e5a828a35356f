package web

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"tokendesk/models"
)

// CLI is the command line: the server and the admin subcommands. Every
// subcommand takes the same --db and may run while the server is running.
type CLI struct {
	Program string // how the user started us: "tokendesk", or "go run ." from a checkout
	Getenv  func(string) string
	Stdout  io.Writer
	Stderr  io.Writer
}

const usage = `tokendesk: link tokens and signed webhooks, with an operator console.

Usage:
  tokendesk [serve] [flags]                      start the server
  tokendesk apikey create --mode M --name N [--json]
  tokendesk apikey list [--json]
  tokendesk apikey revoke KEY_OR_ID
  tokendesk operator create --email E --password P --role admin|developer|support
  tokendesk operator list
  tokendesk operator disable EMAIL
  tokendesk operator enable EMAIL
  tokendesk operator password --password P EMAIL
  tokendesk secret-key rotate                   reseal secrets under a new master key
  tokendesk backup OUT.db                       consistent copy while the server runs
  tokendesk check [--quick]                     integrity check of the database
  tokendesk migrate-to POSTGRES_URL             copy this SQLite database into an empty PostgreSQL one

Every command takes --db (TOKENDESK_DB) and --secret-key-file (TOKENDESK_SECRET_KEY_FILE). Run "tokendesk serve -h" for all settings.
`

// commands are the subcommands Main knows, for finding one after global flags.
var commands = map[string]bool{"serve": true, "apikey": true, "operator": true, "secret-key": true, "backup": true, "check": true, "migrate-to": true, "help": true}

// Main runs the command in args and returns the process exit code.
func (cli *CLI) Main(ctx context.Context, args []string) int {
	cmd, args := splitCommand(args)
	var err error
	switch cmd {
	case "serve":
		err = cli.serve(ctx, args)
	case "apikey":
		err = cli.apikey(ctx, args)
	case "operator":
		err = cli.operator(ctx, args)
	case "secret-key":
		err = cli.secretKey(ctx, args)
	case "backup":
		err = cli.backup(ctx, args)
	case "check":
		err = cli.check(ctx, args)
	case "migrate-to":
		err = cli.migrateTo(ctx, args)
	case "help", "-h", "--help":
		fmt.Fprint(cli.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(cli.Stderr, "tokendesk: there is no command %q.\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(cli.Stderr, "tokendesk %s: %s\n", cmd, cliSentence(err))
		return 1
	}
	return 0
}

// splitCommand finds the subcommand, which may follow global flags
// ("tokendesk --db x.db apikey list"); those flags move after it, where
// its own flag set reads them. No command word at all means serve.
func splitCommand(args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-h" || a == "--help" {
			if i == 0 {
				return "help", nil
			}
			continue
		}
		if !strings.HasPrefix(a, "-") {
			if !commands[a] {
				return a, nil
			}
			rest := append(append([]string{}, args[i+1:]...), args[:i]...)
			return a, rest
		}
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") || isBoolOption(name) {
			continue
		}
		i++ // the flag's value
	}
	return "serve", args
}

func isBoolOption(name string) bool {
	for _, o := range options() {
		if o.name == name {
			return o.kind == "bool"
		}
	}
	return false
}

// cliSentence is an error as a person reads it: a domain error's message
// without its API code, and every message beginning with a capital, except
// one that begins with the setting it is about ("token-ttl: …"), which keeps
// the setting's name as it is typed.
func cliSentence(err error) string {
	msg := err.Error()
	if e, ok := models.AsError(err); ok && e.Message != "" {
		msg = e.Message
		if e.Field != "" && !strings.Contains(msg, e.Field) {
			msg = "--" + e.Field + ": " + msg
		}
	}
	if msg == "" || strings.HasPrefix(msg, "-") || isOptionName(strings.SplitN(msg, ":", 2)[0]) {
		return msg
	}
	// No full stop added: many messages end with a command to paste.
	return strings.ToUpper(msg[:1]) + msg[1:]
}

func isOptionName(name string) bool {
	for _, o := range options() {
		if o.name == name {
			return true
		}
	}
	return false
}

// program is the command to show in hints, so they can be pasted as printed.
func (cli *CLI) program() string {
	if cli.Program == "" {
		return "tokendesk"
	}
	return cli.Program
}

func (cli *CLI) logger(cfg Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	return slog.New(slog.NewTextHandler(cli.Stderr, &slog.HandlerOptions{Level: lvl}))
}

func (cli *CLI) serve(ctx context.Context, args []string) error {
	cfg, rest, err := ParseConfig("tokendesk serve", args, cli.Getenv, cli.Stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(rest, " "))
	}
	if tracingWanted(cli.Getenv) {
		tp, err := newTracerProvider(ctx)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			tp.Shutdown(sctx) // flushes the spans still batched
		}()
		cfg.TracerProvider = tp
	}
	return Run(ctx, cfg, cli.logger(cfg), func(a *App, addr string) {
		base := a.scheme() + "://" + addr
		fmt.Fprintf(cli.Stdout, "tokendesk is running on %s (database %s, tenant %s)\n", base, dbForPeople(cfg.DBPath), a.store.TenantID)
		fmt.Fprintf(cli.Stdout, "  API:     %s/v1  (document: %s/v1/openapi.yaml)\n", base, base)
		fmt.Fprintf(cli.Stdout, "  API key: %s apikey create --db %s --mode SANDBOX --name my-app\n", cli.program(), dbArgForPeople(cfg.DBPath))
		if a.store.SecretKeyCreated {
			fmt.Fprintf(cli.Stdout, "  Secrets at rest are sealed with the new master key in %s: keep a copy apart from the database backups.\n", a.store.SecretKeyFile)
		}
		a.printConsoleBanner(cli.Stdout, addr)
	})
}

// openStore opens the database named by the shared flags for a subcommand.
// The database must exist: a typo in --db would otherwise create an empty
// one and answer from it (an empty key list, "no operator").
func (cli *CLI) openStore(name string, args []string, extra func(fs *flag.FlagSet)) (*models.Store, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(cli.Stderr)
	def := DefaultConfig().DBPath
	if v := cli.Getenv("TOKENDESK_DB"); v != "" {
		def = v
	}
	db := fs.String("db", def, "SQLite database file, or a postgres:// URL [TOKENDESK_DB]")
	keyFile := fs.String("secret-key-file", cli.Getenv("TOKENDESK_SECRET_KEY_FILE"), "master key file (default on SQLite: the database path + .key; required on PostgreSQL) [TOKENDESK_SECRET_KEY_FILE]")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(*db); !models.IsPostgresURL(*db) && errors.Is(err, iofs.ErrNotExist) {
		return nil, nil, fmt.Errorf("there is no database at %s; give --db the path of the server's database (the server creates it on its first start: %s serve --db %s)", *db, cli.program(), *db)
	}
	s, err := models.Open(models.Options{Path: *db, TenantID: cli.Getenv("TOKENDESK_TENANT_ID"), SecretKeyFile: *keyFile})
	if err != nil {
		return nil, nil, err
	}
	for _, w := range s.Warnings {
		fmt.Fprintln(cli.Stderr, "warning:", w)
	}
	if s.SecretKeyCreated {
		fmt.Fprintf(cli.Stderr, "Created the master key that seals secrets at rest: %s\nKeep a copy apart from the database backups.\n", s.SecretKeyFile)
	}
	return s, fs.Args(), nil
}

// subcommandHelp answers "tokendesk apikey --help" and the like.
func (cli *CLI) subcommandHelp(sub string, lines string) bool {
	if sub != "-h" && sub != "--help" && sub != "help" {
		return false
	}
	fmt.Fprint(cli.Stdout, lines)
	return true
}

// apiKeyJSON is the --json shape of a key.
type apiKeyJSON struct {
	ID         string      `json:"id"`
	Key        string      `json:"key"`
	Secret     string      `json:"secret,omitempty"`
	Mode       models.Mode `json:"mode"`
	Name       string      `json:"name"`
	CreatedAt  string      `json:"createdAt"`
	LastUsedAt string      `json:"lastUsedAt,omitempty"`
	RevokedAt  string      `json:"revokedAt,omitempty"`
}

func toAPIKeyJSON(k *models.APIKey) apiKeyJSON {
	j := apiKeyJSON{ID: k.ID, Key: k.Key, Mode: k.Mode, Name: k.Name, CreatedAt: models.FormatTime(k.CreatedAt)}
	if k.LastUsedAt != nil {
		j.LastUsedAt = models.FormatTime(*k.LastUsedAt)
	}
	if k.RevokedAt != nil {
		j.RevokedAt = models.FormatTime(*k.RevokedAt)
	}
	return j
}

const apikeyUsage = `Usage:
  tokendesk apikey create --mode SANDBOX|PRODUCTION --name NAME [--json]   make a key; prints its secret once
  tokendesk apikey list [--json]                                           keys of both modes
  tokendesk apikey revoke KEY_OR_ID                                        takes effect at once
Each takes --db (TOKENDESK_DB); "tokendesk apikey create --help" shows a command's flags.
`

func (cli *CLI) apikey(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("say create, list or revoke (tokendesk apikey --help)")
	}
	sub, args := args[0], args[1:]
	if cli.subcommandHelp(sub, apikeyUsage) {
		return nil
	}
	if sub != "create" && sub != "list" && sub != "revoke" {
		return fmt.Errorf("there is no apikey command %q: say create, list or revoke", sub)
	}
	var modeName, name string
	var asJSON bool
	store, rest, err := cli.openStore("tokendesk apikey "+sub, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		if sub == "create" {
			fs.StringVar(&modeName, "mode", "SANDBOX", "SANDBOX or PRODUCTION")
			fs.StringVar(&name, "name", "", "what the key is for")
		}
	})
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "create":
		m, err := models.ParseMode(modeName)
		if err != nil {
			return errors.New("--mode must be SANDBOX or PRODUCTION")
		}
		k, err := store.CreateAPIKey(ctx, m, name, "cli")
		if err != nil {
			if e, ok := models.AsError(err); ok && e.Field == "name" {
				return errors.New("--name: " + e.Message)
			}
			return err
		}
		if asJSON {
			j := toAPIKeyJSON(&k.APIKey)
			j.Secret = k.Secret
			return json.NewEncoder(cli.Stdout).Encode(j)
		}
		fmt.Fprintf(cli.Stdout, "Created %s API key %q.\n  key:    %s\n  secret: %s\nThe secret is shown only now; store it safely.\n", k.Mode, k.Name, k.Key, k.Secret)
		return nil
	case "list":
		keys, err := store.ListAPIKeys(ctx, "")
		if err != nil {
			return err
		}
		if asJSON {
			out := make([]apiKeyJSON, len(keys))
			for i := range keys {
				out[i] = toAPIKeyJSON(&keys[i])
			}
			return json.NewEncoder(cli.Stdout).Encode(out)
		}
		tw := tabwriter.NewWriter(cli.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tMODE\tNAME\tCREATED\tLAST USED\tSTATUS")
		for _, k := range keys {
			j := toAPIKeyJSON(&k)
			status := "active"
			if k.RevokedAt != nil {
				status = "revoked " + j.RevokedAt
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Key, k.Mode, k.Name, j.CreatedAt, orDash(j.LastUsedAt), status)
		}
		return tw.Flush()
	case "revoke":
		if len(rest) != 1 {
			return errors.New("say which key to revoke: tokendesk apikey revoke KEY_OR_ID")
		}
		before := store.Now()
		k, err := store.RevokeAPIKey(ctx, "", rest[0])
		if err != nil {
			return err
		}
		if k.RevokedAt != nil && k.RevokedAt.Before(before.Truncate(time.Millisecond)) {
			fmt.Fprintf(cli.Stdout, "%s API key %s (%s) was already revoked, on %s.\n", k.Mode, k.Key, k.Name, models.FormatTime(*k.RevokedAt))
			return nil
		}
		fmt.Fprintf(cli.Stdout, "Revoked %s API key %s (%s).\n", k.Mode, k.Key, k.Name)
		return nil
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// dbForPeople names the database in what tokendesk prints: a file's path,
// or a PostgreSQL URL without its password.
func dbForPeople(db string) string {
	if models.IsPostgresURL(db) {
		return models.RedactURL(db)
	}
	return db
}

// dbArgForPeople is what to type after --db in a command shown to the
// operator: the URL holds a password, so it is left to the variable.
func dbArgForPeople(db string) string {
	if models.IsPostgresURL(db) {
		return `"$TOKENDESK_DB"`
	}
	return db
}
