package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Python's and Node's HTTP clients send a body whole, without asking
// "Expect: 100-continue" first, and read the answer only after. The 413
// must still reach them, not a connection reset.
func TestOversizedBodySentWholeGetsItsAnswer(t *testing.T) {
	ta, base := startServer(t, nil)
	k, s, _ := strings.Cut(ta.sandbox, ":")
	for _, size := range []int{(1 << 20) + 1, 3 << 20, 24 << 20} {
		t.Run(fmt.Sprintf("%d bytes", size), func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			body := `{"externalMetadata":{"k":"` + strings.Repeat("a", size) + `"}}`
			var req bytes.Buffer
			fmt.Fprintf(&req, "POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nAuthorization: Basic %s\r\n\r\n%s",
				len(body), basic(k, s), body)
			// Like those clients: the whole request is written before the
			// answer is read.
			if _, err := conn.Write(req.Bytes()); err != nil {
				t.Errorf("the request could not be written whole: %v", err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			defer resp.Body.Close()
			var env struct{ Code, Message, RequestID string }
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
				t.Fatalf("answer is not an envelope: %v", err)
			}
			if got, want := resp.StatusCode, http.StatusRequestEntityTooLarge; got != want {
				t.Fatalf("status: got %d, want %d", got, want)
			}
			if env.RequestID == "" || resp.Header.Get("X-Request-Id") != env.RequestID {
				t.Errorf("request id %q in the envelope, %q in X-Request-Id: want the same, not empty", env.RequestID, resp.Header.Get("X-Request-Id"))
			}
			if !strings.Contains(env.Message, "1 MiB") {
				t.Errorf("message %q does not name the limit", env.Message)
			}
		})
	}
}
