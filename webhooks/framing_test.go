package webhooks

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestFramingFindsWhereEachAnswerEnds(t *testing.T) {
	answers := []struct{ name, answer string }{
		{"Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
		{"no body", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
		{"204 ignores a body", "HTTP/1.1 204 No Content\r\n\r\n"},
		{"304 ignores Content-Length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n"},
		{"chunked with trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n"},
		{"Transfer-Encoding wins over Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
		{"informational answers first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX: y\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{"bare LF header lines", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"},
	}
	for _, tt := range answers {
		for _, step := range []int{1, 3, 7, 1 << 20} {
			in := tt.answer + injected
			var f framing
			f.reset()
			used, done := 0, false
			for used < len(in) && !done {
				end := min(used+step, len(in))
				n, d := f.feed([]byte(in[used:end]))
				used, done = used+n, d
				if !d && n != end-(used-n) {
					t.Fatalf("%s, step %d: took %d of %d bytes without ending", tt.name, step, n, end-(used-n))
				}
			}
			if !done || used != len(tt.answer) {
				t.Errorf("%s, step %d: ended %v after %d bytes, want after %d", tt.name, step, done, used, len(tt.answer))
			}
		}
	}
	for _, unframed := range []string{
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
	} {
		var f framing
		f.reset()
		if n, done := f.feed([]byte(unframed + injected)); done || n != len(unframed+injected) || !f.unframed {
			t.Errorf("%q: took %d, done %v, unframed %v; want all, never done, unframed", unframed, n, done, f.unframed)
		}
	}
}

func TestGuardedConnHandsOnlyTheAnswer(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	g := newGuardedConn(client, nil)
	defer g.Close()
	go func() {
		buf := make([]byte, 100)
		server.Read(buf) // the request
		server.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n" + injected))
	}()
	if _, err := g.Write([]byte("POST / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	buf := make([]byte, 512)
	g.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, err := g.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			if err != errStrayBytes {
				t.Fatalf("read: %v", err)
			}
			break
		}
	}
	if got.String() != "HTTP/1.1 204 No Content\r\n\r\n" {
		t.Errorf("the Transport would have read %q, want only the 204", got.String())
	}
	if _, err := g.Write([]byte("POST / HTTP/1.1\r\n\r\n")); err != errStrayBytes {
		t.Errorf("next request on the spoiled connection: %v, want it refused", err)
	}
}
