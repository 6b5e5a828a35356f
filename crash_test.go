package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tokendesk/models/modelstest"
)

// receiver counts the deliveries it gets, by endpoint path and webhook-id.
type receiver struct {
	mu   sync.Mutex
	seen map[string]int // "path webhook-id" -> times received
	*httptest.Server
}

func newReceiver(t *testing.T, delay time.Duration) *receiver {
	r := &receiver{seen: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		time.Sleep(delay) // keep attempts in flight long enough to be cut by a crash
		r.mu.Lock()
		r.seen[req.URL.Path+" "+req.Header.Get("webhook-id")]++
		r.mu.Unlock()
		w.WriteHeader(200)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) distinct() (n, dup int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, times := range r.seen {
		n++
		dup += times - 1
	}
	return n, dup
}

// apiClient calls a running binary with one key.
type apiClient struct {
	base, key, secret string
}

func (c apiClient) do(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	req.SetBasicAuth(c.key, c.secret)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var env map[string]any
	json.NewDecoder(resp.Body).Decode(&env)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, env)
	}
	return env
}

// TestNoDeliveryIsLostWhenTheProcessIsKilled queues thousands of deliveries,
// kills the server with SIGKILL while they are being sent, starts it again
// on the same database and waits until every delivery has reached the
// receiver (a delivery cut mid-flight may arrive twice, with the same
// webhook-id) and none is left pending.
func TestNoDeliveryIsLostWhenTheProcessIsKilled(t *testing.T) {
	modelstest.SkipOnPostgres(t, "the binary runs on a SQLite file here; instances_test.go kills one of two on PostgreSQL")
	if testing.Short() {
		t.Skip("starts the binary twice and sends thousands of webhooks")
	}
	const users, endpoints = 1500, 2
	db := filepath.Join(t.TempDir(), "tokendesk.db")
	flags := []string{"--webhook-timeout", "1s", "--webhook-retries", "1s,1s,2s,2s,5s"}
	srv := startBinary(t, db, flags...)
	var key struct{ Key, Secret string }
	json.Unmarshal([]byte(runCLI(t, "apikey", "create", "--db", db, "--mode", "SANDBOX", "--name", "crash", "--json")), &key)
	c := apiClient{srv.base, key.Key, key.Secret}

	rec := newReceiver(t, 50*time.Millisecond)
	var hooks []string
	for i := range endpoints {
		env := c.do(t, "POST", "/v1/webhooks", fmt.Sprintf(`{"name":"e%d","url":"%s/e%d","eventTypes":["USER_CREATED"],"active":true,"secret":"s%d"}`, i, rec.URL, i, i))
		hooks = append(hooks, env["data"].(map[string]any)["id"].(string))
	}

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < users; i += 8 {
				c.do(t, "POST", "/v1/users", `{}`)
			}
		}()
	}
	wg.Wait()
	want := users * endpoints
	if n, _ := rec.distinct(); n >= want {
		t.Fatalf("every delivery arrived before the crash (%d); the test proves nothing", n)
	}
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	before, _ := rec.distinct()
	t.Logf("killed with %d of %d deliveries received", before, want)

	srv = startBinary(t, db, flags...)
	c.base = srv.base
	deadline := time.Now().Add(90 * time.Second)
	for {
		n, dup := rec.distinct()
		left := 0
		if n == want {
			left = unfinished(t, c, hooks)
			if left == 0 {
				t.Logf("all %d deliveries arrived after the restart (%d duplicates), none left pending", n, dup)
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries arrived; %d still pending or failed", n, want, left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// unfinished counts the deliveries of the endpoints that are pending or failed.
func unfinished(t *testing.T, c apiClient, hooks []string) int {
	n := 0
	for _, id := range hooks {
		for _, status := range []string{"PENDING", "FAILED"} {
			env := c.do(t, "GET", "/v1/webhooks/"+id+"/deliveries?size=150&status="+status, "")
			n += len(env["data"].(map[string]any)["items"].([]any))
		}
	}
	return n
}
