package web

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommandsReadAsAPersonTypesThem(t *testing.T) {
	db := existingDB(t)
	missing := filepath.Join(t.TempDir(), "typo.db")
	run := func(env map[string]string, args ...string) (int, string) {
		var out bytes.Buffer
		cli := &CLI{Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &out}
		return cli.Main(t.Context(), args), out.String()
	}
	// A key to revoke twice.
	if code, out := run(nil, "apikey", "create", "--db", db, "--mode", "SANDBOX", "--name", "twice"); code != 0 {
		t.Fatalf("create: %s", out)
	}
	_, list := run(nil, "apikey", "list", "--db", db)
	key := strings.Fields(strings.Split(list, "\n")[1])[0]

	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		has  []string
		not  []string
	}{
		{name: "global flags go before the command", args: []string{"--db", db, "apikey", "list"}, has: []string{key}},
		{name: "global flags go after the command", args: []string{"apikey", "list", "--db", db}, has: []string{key}},
		{name: "a flag written with = goes before the command", args: []string{"--db=" + db, "operator", "list"}, has: []string{"EMAIL"}},
		{name: "the command group has --help", args: []string{"apikey", "--help"}, has: []string{"tokendesk apikey create --mode"}},
		{name: "the operator group has --help", args: []string{"operator", "-h"}, has: []string{"tokendesk operator disable EMAIL"}},
		{name: "a subcommand has --help", args: []string{"apikey", "create", "--help", "--db", db}, has: []string{"-mode", "-name"}},
		{name: "tokendesk --help is the overview", args: []string{"--help"}, has: []string{"Usage:", "tokendesk apikey list"}},
		{name: "a database that does not exist is refused, not created", args: []string{"--db", missing, "apikey", "list"}, code: 1,
			has: []string{"There is no database at " + missing, "serve --db"}},
		{name: "TOKENDESK_DB naming nothing is refused too", env: map[string]string{"TOKENDESK_DB": missing}, args: []string{"operator", "list"}, code: 1,
			has: []string{"There is no database at"}},
		{name: "revoking says so", args: []string{"apikey", "revoke", "--db", db, key}, has: []string{"Revoked SANDBOX API key " + key}},
		{name: "revoking again says it already was", args: []string{"apikey", "revoke", "--db", db, key}, has: []string{"was already revoked, on "}},
		{name: "errors are sentences without API codes", args: []string{"operator", "disable", "--db", db, "nobody@example.com"}, code: 1,
			has: []string{"tokendesk operator: No operator with id \"nobody@example.com\""}, not: []string{"MISSING_RESOURCE"}},
		{name: "an unknown subcommand is named", args: []string{"apikey", "rotate", "--db", db}, code: 1, has: []string{`There is no apikey command "rotate"`}},
		{name: "an unknown command is named", args: []string{"frobnicate"}, code: 2, has: []string{`there is no command "frobnicate"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out := run(c.env, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s", code, c.code, out)
			}
			for _, h := range c.has {
				if !strings.Contains(out, h) {
					t.Errorf("output lacks %q:\n%s", h, out)
				}
			}
			for _, n := range c.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q:\n%s", n, out)
				}
			}
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a command created the database it was pointed at by mistake")
	}
}
