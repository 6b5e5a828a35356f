package webhooks

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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
)

// rawReceiver is a loopback TCP server that reads each request and writes
// whatever answer says, byte for byte, so tests can misbehave the ways
// net/http's own server never does. After the answer, keepOpen decides
// whether the connection stays for another request.
type rawReceiver struct {
	ln       net.Listener
	conns    atomic.Int64 // connections accepted
	requests atomic.Int64
}

func newRawReceiver(t *testing.T, answer func(n int64) string, keepOpen bool) *rawReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rr := &rawReceiver{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rr.conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, answer(rr.requests.Add(1))); err != nil || !keepOpen {
						return
					}
				}
			}()
		}
	}()
	return rr
}

func (rr *rawReceiver) url() *url.URL {
	return &url.URL{Scheme: "http", Host: rr.ln.Addr().String(), Path: "/hook"}
}

func testClient() *client {
	return mustClient(&Guard{AllowLoopback: true}, Config{Timeout: 2 * time.Second, PerEndpoint: 4})
}

func mustClient(g *Guard, cfg Config) *client {
	c, err := newClient(g, cfg)
	if err != nil {
		panic(err)
	}
	return c
}

func postOnce(t *testing.T, c *client, u *url.URL) (*http.Response, []byte, error) {
	t.Helper()
	h := http.Header{"Content-Type": {"application/json"}}
	return c.post(context.Background(), u, h, []byte(`{"ok":true}`), time.Now().Add(2*time.Second))
}

const okAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

func TestClientReusesAndReplacesConnections(t *testing.T) {
	tests := []struct {
		name      string
		answer    string
		keepOpen  bool
		wantConns int64 // after three requests
		wantBody  string
	}{
		{"a receiver that keeps the connection open gets every request on one connection",
			okAnswer, true, 1, "ok"},
		{"a connection the receiver closed while idle is replaced, and the request still arrives once",
			okAnswer, false, 3, "ok"},
		{"a chunked answer is read to its end and the connection reused",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", true, 1, "ok"},
		{"an answer asking to close the connection is honoured",
			"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", true, 3, "ok"},
		{"an answer that runs until the connection closes is read whole",
			"HTTP/1.0 200 OK\r\n\r\nok", false, 3, "ok"},
		{"informational answers before the real one are skipped",
			"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" + okAnswer, true, 1, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := newRawReceiver(t, func(int64) string { return tt.answer }, tt.keepOpen)
			c := testClient()
			defer c.closeIdle()
			for i := range 3 {
				resp, body, err := postOnce(t, c, rr.url())
				if err != nil {
					t.Fatalf("request %d: %v", i+1, err)
				}
				if resp.StatusCode != 200 || string(body) != tt.wantBody {
					t.Fatalf("request %d: got %d %q, want 200 %q", i+1, resp.StatusCode, body, tt.wantBody)
				}
				time.Sleep(10 * time.Millisecond) // lets a closing receiver close first
			}
			if got := rr.requests.Load(); got != 3 {
				t.Errorf("receiver got %d requests, want 3", got)
			}
			if got := rr.conns.Load(); got != tt.wantConns {
				t.Errorf("receiver saw %d connections, want %d", got, tt.wantConns)
			}
		})
	}
}

func TestClientBoundsWhatAReceiverSends(t *testing.T) {
	long := strings.Repeat("x", MaxResponseBody+maxDrain+1)
	tests := []struct {
		name      string
		answer    string
		wantErr   string // "" for an answer
		wantBody  int    // bytes kept
		wantConns int64  // after two requests
	}{
		{"a body past 16 KiB is cut in the log and read on so the connection is reused",
			fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", MaxResponseBody+10, long[:MaxResponseBody+10]), "", MaxResponseBody, 1},
		// Whether the connection is then reused is the Transport's choice
		// (Go 1.27's reads on a little when the body is closed): 0 takes either.
		{"a body too long to read on costs at most the connection, not the worker",
			fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(long), long), "", MaxResponseBody, 0},
		{"response headers over 64 KiB are refused",
			"HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("y", maxResponseHeaderBytes) + "\r\nContent-Length: 2\r\n\r\nok", "exceeded 65536 bytes", 0, 2},
		{"endless informational answers are refused",
			strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", maxInformational+1) + okAnswer, "informational", 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := newRawReceiver(t, func(int64) string { return tt.answer }, true)
			c := testClient()
			defer c.closeIdle()
			for i := range 2 {
				resp, body, err := postOnce(t, c, rr.url())
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("request %d: got %v, want an error about %q", i+1, err, tt.wantErr)
					}
					continue
				}
				if err != nil || resp.StatusCode != 200 || len(body) != tt.wantBody {
					t.Fatalf("request %d: got %v, %d bytes kept; want 200 and %d bytes", i+1, err, len(body), tt.wantBody)
				}
			}
			if got := rr.conns.Load(); tt.wantConns != 0 && got != tt.wantConns {
				t.Errorf("receiver saw %d connections, want %d", got, tt.wantConns)
			}
		})
	}
}

func TestClientGivesUpAtTheDeadlineAndOnCancel(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	u, _ := url.Parse(srv.URL)
	c := testClient()
	defer c.closeIdle()

	t.Run("a receiver that never answers is cut off at the deadline", func(t *testing.T) {
		start := time.Now()
		_, _, err := c.post(context.Background(), u, http.Header{}, []byte("{}"), time.Now().Add(200*time.Millisecond))
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Fatalf("got %v, want a timeout", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("gave up after %s, want about 200ms", took)
		}
	})
	t.Run("cancelling the context cuts a request short", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		if _, _, err := c.post(ctx, u, http.Header{}, []byte("{}"), time.Now().Add(time.Minute)); err == nil {
			t.Fatal("got an answer, want an error")
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("gave up after %s, want about 100ms", took)
		}
	})
}

func TestClientRefusesURLsItCannotSend(t *testing.T) {
	c := testClient()
	defer c.closeIdle()
	for _, raw := range []string{"ftp://example.com/x", "http:///x"} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := postOnce(t, c, u); err == nil || !strings.Contains(err.Error(), "endpoint url") {
			t.Errorf("%s: got %v, want an endpoint url error", raw, err)
		}
	}
}

func TestClientNeverSendsAPostTwiceInOneAttempt(t *testing.T) {
	// The receiver answers the first request on each connection and closes
	// the connection after reading the second, without a word: a kept
	// connection dying under a request, the case the Transport re-sends
	// replayable requests in. An Idempotency-Key header, even a nil one,
	// would make a POST replayable to it.
	var conns, requests atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 1; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					requests.Add(1)
					if n > 1 {
						return
					}
					io.WriteString(c, okAnswer)
				}
			}()
		}
	}()
	u := &url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/hook"}
	c := testClient()
	defer c.closeIdle()
	for i, h := range []http.Header{{}, {"Idempotency-Key": nil}, {"X-Idempotency-Key": {"k"}}} {
		requests.Store(0)
		if _, _, err := c.post(context.Background(), u, h, []byte("{}"), time.Now().Add(2*time.Second)); err != nil {
			t.Fatalf("case %d: first request: %v", i, err)
		}
		_, _, err := c.post(context.Background(), u, h, []byte("{}"), time.Now().Add(2*time.Second))
		if err == nil {
			t.Fatalf("case %d: the second request got an answer; the receiver sent none", i)
		}
		if got := requests.Load(); got != 2 {
			t.Fatalf("case %d: the receiver got %d requests for 2 posts", i, got)
		}
	}
}

func TestClientRecordsRedirectsAndRawBodies(t *testing.T) {
	var hits atomic.Int64
	var acceptEncoding atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		acceptEncoding.Store(r.Header.Get("Accept-Encoding"))
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Write([]byte("not really gzip"))
	}))
	defer srv.Close()
	c := testClient()
	defer c.closeIdle()
	u, _ := url.Parse(srv.URL + "/moved")
	resp, _, err := postOnce(t, c, u)
	if err != nil || resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" || hits.Load() != 1 {
		t.Fatalf("redirect: got %v, %v, %d requests; want the 302 itself and one request", resp, err, hits.Load())
	}
	u, _ = url.Parse(srv.URL + "/raw")
	resp, body, err := postOnce(t, c, u)
	if err != nil || string(body) != "not really gzip" || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("compression: got %q, %v; want the bytes sent, undecoded", body, err)
	}
	if ae := acceptEncoding.Load(); ae != "" {
		t.Errorf("request asked for Accept-Encoding %q, want none", ae)
	}
}

func TestClientSpeaksHTTP2WhereOfferedOverTLS(t *testing.T) {
	for _, h2 := range []bool{true, false} {
		var protos sync.Map
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			protos.Store(r.Proto, true)
			w.Write([]byte("ok"))
		}))
		srv.EnableHTTP2 = h2
		srv.StartTLS()
		cfg := Config{Timeout: 2 * time.Second, PerEndpoint: 4, TLSConfig: &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}}
		c := mustClient(&Guard{AllowLoopback: true}, cfg)
		u, _ := url.Parse(srv.URL + "/hook")
		for i := range 3 {
			resp, body, err := postOnce(t, c, u)
			if err != nil || resp.StatusCode != 200 || string(body) != "ok" {
				t.Fatalf("h2=%v request %d: %v %q", h2, i, err, body)
			}
		}
		want := "HTTP/1.1"
		if h2 {
			want = "HTTP/2.0"
		}
		if _, ok := protos.Load(want); !ok {
			t.Errorf("h2=%v: receiver saw no %s request", h2, want)
		}
		c.closeIdle()
		srv.Close()
	}
}

func TestClientGuardsTheDial(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	c := mustClient(&Guard{}, Config{Timeout: time.Second, PerEndpoint: 2})
	defer c.closeIdle()
	u, _ := url.Parse(srv.URL)
	_, _, err := postOnce(t, c, u)
	var blocked *BlockedError
	if !errors.As(err, &blocked) {
		t.Fatalf("got %v, want the guard's refusal", err)
	}
}

func TestClientNeverReadsStrayBytesAsTheNextAnswer(t *testing.T) {
	// A 204 followed by a second answer nobody asked for. With one
	// connection allowed, the second request waits for the first's
	// connection and is handed it the moment the 204 is read, the stray
	// answer still in the Transport's buffer: without the guarded
	// connection it would read that answer as its own.
	for _, answer := range []string{
		"HTTP/1.1 204 No Content\r\n\r\n" + injected,
		"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n" + injected,
		"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nINJECTED\r\n0\r\n\r\n",
	} {
		rr := newRawReceiver(t, func(int64) string { return answer }, true)
		c := testClient()
		c.tr.MaxConnsPerHost = 1
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, body, err := postOnce(t, c, rr.url())
				if err != nil || resp.StatusCode != http.StatusNoContent || len(body) != 0 {
					code := 0
					if resp != nil {
						code = resp.StatusCode
					}
					t.Errorf("got %d %q, %v; want the receiver's own 204", code, body, err)
				}
			}()
		}
		wg.Wait()
		if got := rr.requests.Load(); got != 4 {
			t.Errorf("receiver got %d requests for 4 posts", got)
		}
		c.closeIdle()
	}
}
