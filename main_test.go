package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tokendesk/models/modelstest"
)

// binary is the real tokendesk, built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tokendesk-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tokendesk")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is the real binary, serving on a free loopback port.
type server struct {
	cmd  *exec.Cmd
	base string
	out  *strings.Builder
}

func startBinary(t *testing.T, db string, extra ...string) *server {
	t.Helper()
	s, err := launchBinary(t, db, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// launchBinary is startBinary for callers that start several servers at
// once from their own goroutines: it reports failure instead of ending the
// test, and the process is killed when the test ends.
func launchBinary(t *testing.T, db string, extra ...string) (*server, error) {
	args := append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--rate-limit", "0"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "TOKENDESK_ADMIN_PASSWORD=", "TOKENDESK_ADMIN_EMAIL=")
	stdout, _ := cmd.StdoutPipe()
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, out: &strings.Builder{}}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	addr := regexp.MustCompile(`running on (http://\S+)`)
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		s.out.WriteString(sc.Text() + "\n")
		if m := addr.FindStringSubmatch(sc.Text()); m != nil {
			s.base = m[1]
			break
		}
	}
	if s.base == "" {
		cmd.Wait() // the process has ended or been killed: its output is complete
		return nil, fmt.Errorf("the server printed no address:\n%s%s", s.out, stderr)
	}
	go io.Copy(io.Discard, stdout)
	return s, nil
}

// syncBuffer keeps what a process writes to stderr while it runs: the
// logs say why a server did not start.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil // enough to explain a failed start; the rest is dropped
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("tokendesk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestReadmeWalkthrough(t *testing.T) {
	modelstest.SkipOnPostgres(t, "the README's walkthrough runs on its default SQLite file")
	db := filepath.Join(t.TempDir(), "tokendesk.db")
	srv := startBinary(t, db)

	// The key is created while the server runs, as the README shows.
	var key struct{ Key, Secret, Mode, Name string }
	if err := json.Unmarshal([]byte(runCLI(t, "apikey", "create", "--db", db, "--mode", "SANDBOX", "--name", "my-app", "--json")), &key); err != nil {
		t.Fatal(err)
	}
	if key.Key == "" || key.Secret == "" || key.Mode != "SANDBOX" || key.Name != "my-app" {
		t.Fatalf("apikey create --json: %+v", key)
	}
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.base+path, strings.NewReader(body))
		req.SetBasicAuth(key.Key, key.Secret)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env map[string]any
		json.NewDecoder(resp.Body).Decode(&env)
		return resp.StatusCode, env
	}

	status, env := call("POST", "/v1/users", `{"externalMetadata":{"crm":"42"}}`)
	if status != 201 {
		t.Fatalf("create user: %d %v", status, env)
	}
	userID := env["data"].(map[string]any)["user"].(map[string]any)["id"].(string)
	if status, env = call("POST", "/v1/tokens?userId="+userID, ""); status != 201 {
		t.Fatalf("refresh token: %d %v", status, env)
	}
	if status, env = call("GET", "/v1/users?size=10", ""); status != 200 {
		t.Fatalf("list users: %d %v", status, env)
	}
	if got := len(env["data"].(map[string]any)["items"].([]any)); got != 1 {
		t.Errorf("listed %d users, want 1", got)
	}

	t.Run("a key revoked from the command line is refused at once", func(t *testing.T) {
		if !strings.Contains(runCLI(t, "apikey", "list", "--db", db), key.Key) {
			t.Error("apikey list does not show the key")
		}
		runCLI(t, "apikey", "revoke", "--db", db, key.Key)
		if status, _ := call("GET", "/v1/users", ""); status != 400 {
			t.Errorf("revoked key: got %d, want 400", status)
		}
	})

	t.Run("SIGTERM stops the server cleanly", func(t *testing.T) {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- srv.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("exit: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the server did not stop within 20 s of SIGTERM")
		}
	})
}

func TestBadConfigurationIsExplained(t *testing.T) {
	out, err := exec.Command(binary, "serve", "--token-ttl", "forever").CombinedOutput()
	if err == nil {
		t.Fatal("the server started with a bad token lifetime")
	}
	if !strings.Contains(string(out), "token-ttl") {
		t.Errorf("the message does not name the setting:\n%s", out)
	}
}
