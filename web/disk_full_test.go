package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// smallDisk mounts a tmpfs of size at a fresh directory and unmounts it
// when the test ends. It needs root; without it the test is skipped (CI
// runs as root, so there it fails instead).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("CI") == "true" {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("the disk-full test mounts a small tmpfs and needs root (CI runs it as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		skip("cannot mount a tmpfs for the disk-full test: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file until the filesystem has no room left.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	// Appends: called again, it takes whatever room SQLite freed since
	// (a checkpoint, a rolled-back append), so the disk stays full.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill disk: %v", err)
			}
			break
		}
	}
	// Blocks partly written are left; whatever bytes remain go one by one.
	for {
		if _, err := f.Write(chunk[:512]); err != nil {
			return
		}
	}
}

// hookLog counts the distinct events one receiver got.
type hookLog struct {
	mu   sync.Mutex
	seen map[string]string // webhook-id -> body
}

func newHookLog(t *testing.T) (*hookLog, string) {
	h := &hookLog{seen: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.seen[r.Header.Get("webhook-id")] = string(b)
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return h, srv.URL
}

func (h *hookLog) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}

func TestDiskFull(t *testing.T) {
	dir := smallDisk(t, "6m")
	ta := newTestApp(t, func(c *Config) {
		c.DBPath = filepath.Join(dir, "tokendesk.db")
		c.AdminEmail, c.AdminPassword = testAdminEmail, testAdminPassword
	})
	recvA, urlA := newHookLog(t)
	recvB, urlB := newHookLog(t)
	createWebhook(t, ta, ta.sandbox, urlA+"/a")
	createWebhook(t, ta, ta.sandbox, urlB+"/b")
	console := ta.App.signedIn(t, "admin")

	created := 0
	createUser := func() *apiResponse {
		t.Helper()
		res := ta.call(t, "POST", "/v1/users", ta.sandbox, `{"externalMetadata":{"crm":"42"}}`, nil)
		if res.Status == 201 {
			created++
		}
		return res
	}
	waitDelivered := func(what string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for recvA.count() < created || recvB.count() < created {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d users created, endpoints got %d and %d events", what, created, recvA.count(), recvB.count())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for range 5 {
		if res := createUser(); res.Status != 201 {
			t.Fatalf("create user before the disk fills: %d %s", res.Status, res.Body)
		}
	}
	waitDelivered("before the disk fills")

	filler := filepath.Join(dir, "filler")
	fillDisk(t, filler)
	var full *apiResponse
	for range 500 {
		res := createUser()
		if res.Status == 201 {
			continue
		}
		full = res
		break
	}
	t.Run("the API answers 503 SERVER_UNAVAILABLE saying the disk is full", func(t *testing.T) {
		if full == nil {
			t.Fatalf("500 users created on a full disk without an error")
		}
		if got, want := full.Status, 503; got != want {
			t.Fatalf("status: got %d, want %d: %s", got, want, full.Body)
		}
		if got, want := string(full.Env.Code), "SERVER_UNAVAILABLE"; got != want {
			t.Errorf("code: got %s, want %s", got, want)
		}
		if !strings.Contains(full.Env.Message, "disk is full") {
			t.Errorf("message %q does not say the disk is full", full.Env.Message)
		}
		fillDisk(t, filler)
		again := createUser()
		for i := 0; again.Status == 201 && i < 200; i++ {
			fillDisk(t, filler)
			again = createUser()
		}
		if again.Status != 503 {
			t.Errorf("trying again on a full disk: got %d, want 503", again.Status)
		}
	})
	t.Run("healthz answers 503 naming the cause", func(t *testing.T) {
		fillDisk(t, filler)
		res := ta.call(t, "GET", "/healthz", "", "", nil)
		if res.Status != 503 || !strings.Contains(string(res.Body), "disk is full") {
			t.Fatalf("healthz: got %d %q, want 503 saying the disk is full", res.Status, res.Body)
		}
	})
	t.Run("the console shows it and keeps the session", func(t *testing.T) {
		// A write that still fits in the WAL file's blocks succeeds (and
		// is kept): try until one does not.
		var resp *http.Response
		var body string
		for range 200 {
			fillDisk(t, filler)
			resp, _, body = console.post("/users", url.Values{"key0": {"crm"}, "value0": {"7"}})
			if resp.StatusCode >= 400 {
				break
			}
			created++ // counted, so the check below stays exact
		}
		if resp.StatusCode != 503 || !strings.Contains(body, "disk is full") {
			t.Fatalf("console create user: got %d, want 503 saying the disk is full:\n%s", resp.StatusCode, body)
		}
		if resp, _, _ := console.page("GET", "/users", nil); resp.StatusCode != 200 {
			t.Fatalf("console list users on a full disk: got %d, want 200 (reads still work, still signed in)", resp.StatusCode)
		}
	})

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	t.Run("once space is freed everything resumes without a restart", func(t *testing.T) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			res := ta.call(t, "GET", "/healthz", "", "", nil)
			if res.Status == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("healthz after space was freed: %d %s", res.Status, res.Body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for range 5 {
			if res := createUser(); res.Status != 201 {
				t.Fatalf("create user after space was freed: %d %s", res.Status, res.Body)
			}
		}
		waitDelivered("after space was freed")
	})
	t.Run("nothing lost, nothing half written", func(t *testing.T) {
		listed := 0
		cursor := ""
		for {
			res := ta.call(t, "GET", "/v1/users?size=150&cursor="+cursor, ta.sandbox, "", nil)
			var page struct {
				NextCursor *string `json:"nextCursor"`
				Items      []struct{ ID string }
			}
			json.Unmarshal(res.Env.Data, &page)
			listed += len(page.Items)
			if page.NextCursor == nil {
				break
			}
			cursor = *page.NextCursor
		}
		if listed != created {
			t.Errorf("users listed: got %d, want the %d the API said it created", listed, created)
		}
		if recvA.count() != created || recvB.count() != created {
			t.Errorf("events delivered: got %d and %d, want %d each", recvA.count(), recvB.count(), created)
		}
	})
}
