package web

import (
	"bytes"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// TestBadDatabaseURLIsExplained needs no server: what stops the start names
// the setting, and never the password.
func TestBadDatabaseURLIsExplained(t *testing.T) {
	key := filepath.Join(t.TempDir(), "master.key")
	for _, c := range []struct {
		name string
		args []string
		has  []string
	}{
		{"a URL that does not parse", []string{"apikey", "list", "--secret-key-file", key, "--db", "postgres://app:hunter2@db.internal:notaport/td"},
			[]string{"--db (TOKENDESK_DB) is not a PostgreSQL URL that parses", "postgres://USER:PASSWORD@HOST"}},
		{"a server that does not answer", []string{"apikey", "list", "--secret-key-file", key, "--db", "postgres://app:hunter2@127.0.0.1:1/td?connect_timeout=2"},
			[]string{"--db (TOKENDESK_DB): cannot reach the PostgreSQL server at postgres://app:xxxxx@127.0.0.1:1/td", "connection refused"}},
		{"no master key file named", []string{"apikey", "list", "--db", "postgres://app:hunter2@127.0.0.1:1/td"},
			[]string{"--secret-key-file (TOKENDESK_SECRET_KEY_FILE) is required on PostgreSQL"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			cli := &CLI{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out}
			if code := cli.Main(t.Context(), c.args); code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, out.String())
			}
			for _, h := range c.has {
				if !strings.Contains(out.String(), h) {
					t.Errorf("output lacks %q:\n%s", h, out.String())
				}
			}
			if strings.Contains(out.String(), "hunter2") {
				t.Errorf("the password is printed:\n%s", out.String())
			}
		})
	}
}

// TestLosingTheDatabaseAnswers503AndRecovers puts a TCP proxy between the
// app and PostgreSQL, cuts it, and restores it.
func TestLosingTheDatabaseAnswers503AndRecovers(t *testing.T) {
	if !modelstest.OnPostgres() {
		t.Skip("PostgreSQL only: a SQLite file cannot go away over the network")
	}
	proxy := newCuttableProxy(t)
	ta := newTestApp(t, func(c *Config) {
		u, err := url.Parse(c.DBPath)
		if err != nil {
			t.Fatal(err)
		}
		proxy.target = u.Host
		u.Host = proxy.addr()
		q := u.Query()
		q.Set("connect_timeout", "2")
		u.RawQuery = q.Encode()
		c.DBPath = u.String()
	})
	if res := ta.call(t, "POST", "/v1/users", ta.sandbox, `{}`, nil); res.Status != 201 {
		t.Fatalf("create user before the cut: %d %s", res.Status, res.Body)
	}

	proxy.cut()
	t.Run("the API answers 503 SERVER_UNAVAILABLE saying so", func(t *testing.T) {
		res := ta.call(t, "POST", "/v1/users", ta.sandbox, `{}`, nil)
		if res.Status != 503 || res.Env.Code != models.CodeServerUnavailable || !strings.Contains(res.Env.Message, "database cannot be reached") {
			t.Fatalf("got %d %s %q, want 503 SERVER_UNAVAILABLE", res.Status, res.Env.Code, res.Env.Message)
		}
	})
	t.Run("healthz answers 503", func(t *testing.T) {
		if res := ta.call(t, "GET", "/healthz", "", "", nil); res.Status != 503 {
			t.Fatalf("got %d %s, want 503", res.Status, res.Body)
		}
	})

	proxy.restore()
	t.Run("everything resumes by itself", func(t *testing.T) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			res := ta.call(t, "POST", "/v1/users", ta.sandbox, `{}`, nil)
			if res.Status == 201 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still %d %s 10 s after the database came back", res.Status, res.Body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if res := ta.call(t, "GET", "/healthz", "", "", nil); res.Status != 200 {
			t.Fatalf("healthz %d after recovery", res.Status)
		}
	})
}

// cuttableProxy forwards TCP connections to target until cut, which closes
// every connection and refuses new ones until restore.
type cuttableProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

func newCuttableProxy(t *testing.T) *cuttableProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttableProxy{ln: ln, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *cuttableProxy) addr() string { return p.ln.Addr().String() }

func (p *cuttableProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

func (p *cuttableProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *cuttableProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}
