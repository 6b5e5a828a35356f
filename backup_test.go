package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"tokendesk/models/modelstest"
)

// TestBackupWhileWriting copies the database with the command line while
// the real server creates users as fast as it can, then serves the copy.
func TestBackupWhileWriting(t *testing.T) {
	modelstest.SkipOnPostgres(t, "tokendesk backup copies a SQLite file")
	dir := t.TempDir()
	db := filepath.Join(dir, "tokendesk.db")
	srv := startBinary(t, db) // creates the database and its master key
	var key struct{ Key, Secret string }
	js, err := exec.Command(binary, "apikey", "create", "--db", db, "--mode", "SANDBOX", "--name", "load", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &key); err != nil {
		t.Fatal(err)
	}
	var created atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", srv.base+"/v1/users", strings.NewReader(`{}`))
				req.SetBasicAuth(key.Key, key.Secret)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode == 201 {
					created.Add(1)
				}
			}
		}()
	}
	for created.Load() < 100 {
		if t.Failed() {
			t.FailNow()
		}
	}
	out := filepath.Join(dir, "copy.db")
	before := created.Load()
	msg := runCLI(t, "backup", out, "--db", db)
	after := created.Load()
	close(stop)
	wg.Wait()
	if !strings.Contains(msg, "master key") {
		t.Errorf("backup says nothing about the master key:\n%s", msg)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("copy: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if got := runCLI(t, "check", "--db", out); !strings.Contains(got, "no problems found") {
		t.Errorf("check of the copy: %s", got)
	}

	// The copy serves, with the original's master key, and holds every
	// user committed before the backup began.
	cp := startBinary(t, out, "--secret-key-file", db+".key")
	listed := 0
	cursor := ""
	for {
		req, _ := http.NewRequest("GET", cp.base+"/v1/users?size=150&cursor="+cursor, nil)
		req.SetBasicAuth(key.Key, key.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Data struct {
				Items      []json.RawMessage
				NextCursor *string
			}
		}
		json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		listed += len(env.Data.Items)
		if env.Data.NextCursor == nil {
			break
		}
		cursor = *env.Data.NextCursor
	}
	if int64(listed) < before || int64(listed) > after {
		t.Errorf("the copy holds %d users; %d were created before the backup began and %d when it ended", listed, before, after)
	}
}
