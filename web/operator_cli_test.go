package web

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"tokendesk/models"
)

// existingDB makes a database as the server's first start would, for the
// commands, which refuse a path where there is none.
func existingDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "cli.db")
	s, err := models.Open(models.Options{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return db
}

func TestOperatorCommands(t *testing.T) {
	db := existingDB(t)
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
		{"disable again says it already was", []string{"operator", "disable", "dev@example.com"}, 0, "dev@example.com was already disabled, since "},
		{"list shows the operator as disabled", []string{"operator", "list"}, 0, "disabled"},
		{"disable says when there is no such operator", []string{"operator", "disable", "nobody@example.com"}, 1, "No operator"},
		{"password refuses a short password", []string{"operator", "password", "--password", "short", "dev@example.com"}, 1, "--password: password must be at least 10 characters"},
		{"password asks whose password to set", []string{"operator", "password", "--password", "a-new-long-password"}, 1, "Say whose password to set"},
		{"password takes its flags before the email", []string{"operator", "password", "dev@example.com", "--password", "a-new-long-password"}, 1, "Say whose password to set"},
		{"password says when there is no such operator", []string{"operator", "password", "--password", "a-new-long-password", "nobody@example.com"}, 1, "No operator"},
		{"password sets it and says a disabled operator stays disabled", []string{"operator", "password", "--password", "a-new-long-password", "DEV@example.com"}, 0,
			"Set a new password for dev@example.com and signed them out everywhere. They stay disabled"},
		{"enable lets a disabled operator sign in again", []string{"operator", "enable", "dev@example.com"}, 0, "Enabled dev@example.com"},
		{"list shows the operator enabled again", []string{"operator", "list"}, 0, "enabled"},
		{"enable says when there is no such operator", []string{"operator", "enable", "nobody@example.com"}, 1, "No operator"},
		{"create adds the only admin", []string{"operator", "create", "--email", "boss@example.com", "--password", "long-enough-pw", "--role", "admin"}, 0, "Created admin"},
		{"disable refuses the last enabled admin in a sentence", []string{"operator", "disable", "boss@example.com"}, 1, "boss@example.com is the last enabled admin and cannot be disabled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out := run(c.args...)
			if code != c.code || !strings.Contains(out, c.has) {
				t.Fatalf("exit %d, output %q; want exit %d and %q", code, out, c.code, c.has)
			}
			if strings.Contains(out, "CONFLICT") || strings.Contains(out, "MISSING_RESOURCE") {
				t.Fatalf("output %q shows an API code", out)
			}
		})
	}
}

func TestOperatorPasswordCommandSignsInWithTheNewPassword(t *testing.T) {
	db := existingDB(t)
	var out bytes.Buffer
	cli := &CLI{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out}
	for _, args := range [][]string{
		{"operator", "create", "--db", db, "--email", "ana@example.com", "--password", "the-first-password", "--role", "admin"},
		{"operator", "password", "--db", db, "--password", "the-second-password", "ana@example.com"},
	} {
		if code := cli.Main(t.Context(), args); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, out.String())
		}
	}
	s, err := models.Open(models.Options{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		name, password string
		ok             bool
	}{{"the new password signs in", "the-second-password", true}, {"the old one does not", "the-first-password", false}} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := s.CheckOperatorPassword(t.Context(), "ana@example.com", c.password)
			if got := err == nil; got != c.ok {
				t.Fatalf("signed in: %v, want %v (%v)", got, c.ok, err)
			}
		})
	}
	t.Run("the audit log records the reset", func(t *testing.T) {
		page, err := s.ListAudit(t.Context(), models.AuditFilter{Action: models.AuditPasswordReset})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || !strings.Contains(page.Items[0].Detail, "ana@example.com") {
			t.Fatalf("audit entries %+v, want one reset of ana@example.com", page.Items)
		}
	})
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
