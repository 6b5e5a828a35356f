package web

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tokendesk/models"
)

func TestDamagedDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "td.db")
	s, err := models.Open(models.Options{Path: db, TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	fillUsers(t, s, models.Sandbox, 20_000)
	s.Close()
	run := func(args ...string) (int, string) {
		var out bytes.Buffer
		cli := &CLI{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out}
		code := cli.Main(t.Context(), args)
		return code, out.String()
	}
	if code, out := run("check", "--db", db); code != 0 || !strings.Contains(out, "no problems found") {
		t.Fatalf("check of a sound database: exit %d\n%s", code, out)
	}

	// Damage pages in the middle of the file, as a bad disk would.
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	junk := bytes.Repeat([]byte{0xA5}, 4096*4)
	if _, err := f.WriteAt(junk, fi.Size()/2/4096*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()

	t.Run("start refuses it and names the command to investigate", func(t *testing.T) {
		code, out := run("apikey", "list", "--db", db)
		if code == 0 || !strings.Contains(out, "damaged") || !strings.Contains(out, "tokendesk check --db "+db) {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if _, err := New(Config{DBPath: db}, nil); err == nil {
			t.Fatal("the server started on a damaged database")
		}
	})
	t.Run("check says what it found", func(t *testing.T) {
		code, out := run("check", "--db", db)
		if code != 1 || !strings.Contains(out, "is damaged") || !strings.Contains(out, "restore the latest backup") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}
