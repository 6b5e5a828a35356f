package web

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

func TestOperatorCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	run := func(args ...string) (int, string) {
		var out bytes.Buffer
		cli := &CLI{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out}
		code := cli.Main(t.Context(), append([]string{args[0], args[1], "--db", db}, args[2:]...))
		return code, out.String()
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		has  string
	}{
		{"create adds an operator", []string{"operator", "create", "--email", "dev@example.com", "--password", "long-enough-pw", "--role", "developer"}, 0, "Created developer dev@example.com"},
		{"create refuses a second operator with the email", []string{"operator", "create", "--email", "dev@example.com", "--password", "long-enough-pw", "--role", "admin"}, 1, "already exists"},
		{"create refuses an unknown role", []string{"operator", "create", "--email", "x@example.com", "--password", "long-enough-pw", "--role", "root"}, 1, "--role must be admin, developer or support"},
		{"create refuses a short password", []string{"operator", "create", "--email", "x@example.com", "--password", "short", "--role", "support"}, 1, "--password: password must be at least 10 characters"},
		{"disable stops the operator", []string{"operator", "disable", "dev@example.com"}, 0, "Disabled dev@example.com"},
		{"list shows the operator as disabled", []string{"operator", "list"}, 0, "disabled"},
		{"disable says when there is no such operator", []string{"operator", "disable", "nobody@example.com"}, 1, "no operator"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out := run(c.args...)
			if code != c.code || !strings.Contains(out, c.has) {
				t.Fatalf("exit %d, output %q; want exit %d and %q", code, out, c.code, c.has)
			}
		})
	}
}

func TestFirstStartCreatesAnAdminAndPrintsItOnce(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DBPath = filepath.Join(t.TempDir(), "first.db")
	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.store.Close()
	var first, second bytes.Buffer
	a.printConsoleBanner(&first, "127.0.0.1:8080")
	a.printConsoleBanner(&second, "127.0.0.1:8080")
	if !strings.Contains(first.String(), "admin@localhost") || !strings.Contains(first.String(), "password: ") {
		t.Fatalf("first banner: %q", first.String())
	}
	if strings.Contains(second.String(), "password") {
		t.Fatalf("the password was printed twice: %q", second.String())
	}
	pw := strings.TrimSpace(strings.SplitN(strings.SplitN(first.String(), "password: ", 2)[1], "\n", 2)[0])
	if _, _, err := a.store.CheckOperatorPassword(t.Context(), "admin@localhost", pw); err != nil {
		t.Fatalf("the printed password does not sign in: %v", err)
	}
}
