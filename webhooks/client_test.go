package webhooks

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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
	return newClient(&Guard{AllowLoopback: true}, Config{Timeout: 2 * time.Second, Workers: 4})
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
		{"a body too long to read on costs the connection, not the worker",
			fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(long), long), "", MaxResponseBody, 2},
		{"response headers over 64 KiB are refused",
			"HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("y", maxResponseHeaderBytes) + "\r\nContent-Length: 2\r\n\r\nok", "64 KiB", 0, 2},
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
			if got := rr.conns.Load(); got != tt.wantConns {
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

func TestConnKeyNamesWhereRequestsGo(t *testing.T) {
	tests := []struct {
		name, raw, wantAddr, wantErr string
	}{
		{"an http url without a port goes to port 80", "http://Example.COM/hook", "example.com:80", ""},
		{"an https url without a port goes to port 443", "https://example.com/hook", "example.com:443", ""},
		{"an explicit port is kept", "http://127.0.0.1:8080/x", "127.0.0.1:8080", ""},
		{"an IPv6 literal keeps its brackets", "https://[2001:db8::1]/x", "[2001:db8::1]:443", ""},
		{"an internationalised name is dialled in its ASCII form", "https://bücher.example/x", "xn--bcher-kva.example:443", ""},
		{"another scheme is refused", "ftp://example.com/x", "", "scheme"},
		{"a url without a host is refused", "http:///x", "", "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			_, addr, err := connKey(u)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want an error about %q", addr, err, tt.wantErr)
				}
				return
			}
			if err != nil || addr != tt.wantAddr {
				t.Fatalf("got %q, %v; want %q", addr, err, tt.wantAddr)
			}
		})
	}
}
