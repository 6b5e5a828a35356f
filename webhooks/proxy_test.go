package webhooks

import (
	"bufio"

	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// connectProxy is an HTTP CONNECT proxy on loopback, written here: it
// resolves names itself through names (as a real egress proxy resolves
// them), refuses targets in deny, and pipes the tunnel both ways.
type connectProxy struct {
	ln       net.Listener
	connects atomic.Int64
	mu       sync.Mutex
	targets  []string
	auth     string
}

func newConnectProxy(t *testing.T, names map[string]string, deny string) *connectProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil || req.Method != http.MethodConnect {
					io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n")
					return
				}
				p.connects.Add(1)
				p.mu.Lock()
				p.targets = append(p.targets, req.Host)
				p.auth = req.Header.Get("Proxy-Authorization")
				p.mu.Unlock()
				host, port, _ := net.SplitHostPort(req.Host)
				if host == deny {
					io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
					return
				}
				if ip, ok := names[host]; ok {
					host = ip
				}
				up, err := net.Dial("tcp", net.JoinHostPort(host, port))
				if err != nil {
					io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
					return
				}
				defer up.Close()
				io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
				go func() { io.Copy(up, br); up.(*net.TCPConn).CloseWrite() }()
				io.Copy(c, up)
			}()
		}
	}()
	return p
}

func (p *connectProxy) url(user string) *url.URL {
	u := &url.URL{Scheme: "http", Host: p.ln.Addr().String()}
	if user != "" {
		u.User = url.UserPassword(user, "pw")
	}
	return u
}

func TestDeliveriesThroughAProxy(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.Write([]byte("ok"))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	names := map[string]string{"receiver.test": "127.0.0.1", "example.com": "127.0.0.1"}
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs

	t.Run("a name goes to the proxy, which resolves it; TLS runs through the tunnel", func(t *testing.T) {
		p := newConnectProxy(t, names, "")
		c := mustClient(&Guard{}, Config{Timeout: 2 * time.Second, PerEndpoint: 2, Proxy: p.url("ops"),
			TLSConfig: &tls.Config{RootCAs: roots, ServerName: "example.com"}})
		defer c.closeIdle()
		u, _ := url.Parse("https://receiver.test:" + port + "/hook")
		for range 3 {
			resp, body, err := postOnce(t, c, u)
			if err != nil || resp.StatusCode != 200 || string(body) != "ok" {
				t.Fatalf("through the proxy: %v, %q", err, body)
			}
		}
		if p.connects.Load() != 1 || got.Load() != 3 {
			t.Errorf("%d tunnels for 3 requests (%d arrived); want one kept tunnel", p.connects.Load(), got.Load())
		}
		if p.targets[0] != "receiver.test:"+port || !strings.HasPrefix(p.auth, "Basic ") {
			t.Errorf("proxy asked for %q with %q", p.targets[0], p.auth)
		}
	})
	t.Run("an internal IP literal is refused before the proxy is asked", func(t *testing.T) {
		p := newConnectProxy(t, names, "")
		c := mustClient(&Guard{}, Config{Timeout: 2 * time.Second, PerEndpoint: 2, Proxy: p.url("")})
		defer c.closeIdle()
		u, _ := url.Parse("https://127.0.0.1:" + port + "/hook")
		_, _, err := postOnce(t, c, u)
		var blocked *BlockedError
		if !errors.As(err, &blocked) || p.connects.Load() != 0 {
			t.Fatalf("got %v with %d tunnels; want the guard's refusal and none", err, p.connects.Load())
		}
	})
	t.Run("what the proxy refuses is recorded as its refusal", func(t *testing.T) {
		p := newConnectProxy(t, names, "internal.test")
		s := modelstest.MustOpenStore(t)
		createEndpoint(t, s, models.Sandbox, "http://internal.test:"+port+"/hook", "secret")
		cfg := testConfig()
		cfg.Schedule, cfg.Proxy = []time.Duration{}, p.url("")
		startDispatcher(t, s, cfg)
		u := createUser(t, s, models.Sandbox)
		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliveryFailed, 1)
		if e := d.Attempts[0].Error; !strings.HasPrefix(e, "proxy: ") || !strings.Contains(e, "403") {
			t.Fatalf("attempt error %q, want the proxy's 403", e)
		}
	})
	t.Run("a plain http receiver is tunnelled too", func(t *testing.T) {
		plain := newReceiver(t, status(204))
		_, pport, _ := net.SplitHostPort(strings.TrimPrefix(plain.URL, "http://"))
		p := newConnectProxy(t, names, "")
		c := mustClient(&Guard{}, Config{Timeout: 2 * time.Second, PerEndpoint: 2, Proxy: p.url("")})
		defer c.closeIdle()
		u, _ := url.Parse("http://receiver.test:" + pport + "/hook")
		if resp, _, err := postOnce(t, c, u); err != nil || resp.StatusCode != 204 || p.connects.Load() != 1 {
			t.Fatalf("got %v, %v with %d tunnels", resp, err, p.connects.Load())
		}
	})
}
