package webhooks

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// A hostile receiver is a raw TCP server on loopback with two endpoints
// on one host:port, so connections are shared between them: /a misbehaves
// as a case says, /b answers honestly 500 with a body naming the delivery
// it answers. The stray answer a misbehaving /a slips in is "INJECTED";
// every logged attempt must hold its own answer (or an error), never that.

// injected is the answer a receiver hopes the next request reads.
const injected = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nINJECTED"

// hostileConn is what a case may do on one connection; writes are locked
// because a case may write later, on its own goroutine.
type hostileConn struct {
	net.Conn
	mu   sync.Mutex
	n    int          // requests read on this connection, from 1
	read atomic.Int64 // bytes read
}

func (c *hostileConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// writeIfIdle writes s unless a request has begun to arrive since the
// receiver had read mark bytes: bytes sent after a request arrived are,
// to HTTP/1.1, that request's answer, so they would not be unsolicited.
func (c *hostileConn) write(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := io.WriteString(c.Conn, s)
	return err
}

func (c *hostileConn) writeIfIdle(s string, mark int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	raw, err := c.Conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return
	}
	pending := false
	// Control, not Read: the reading goroutine holds the socket's read
	// lock while it waits for the next request.
	raw.Control(func(fd uintptr) {
		n, _ := peekSocket(fd, make([]byte, 1))
		pending = n > 0
	})
	if !pending && c.read.Load() == mark {
		io.WriteString(c.Conn, s)
	}
}

// hostileCase answers a request to /a for webhook-id id; keep false closes
// the connection after it.
type hostileCase struct {
	name       string
	wantStatus int // what /a's attempts record when they record an answer
	answer     func(c *hostileConn, id string) (keep bool)
}

type hostileReceiver struct {
	ln       net.Listener
	requests atomic.Int64
}

func newHostileReceiver(t *testing.T, tc hostileCase) *hostileReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hr := &hostileReceiver{ln: ln}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				c := &hostileConn{Conn: nc}
				defer c.Close()
				stop := context.AfterFunc(t.Context(), func() { c.Close() })
				defer stop()
				br := bufio.NewReader(c) // reads through c, which counts
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					hr.requests.Add(1)
					c.n++
					id := req.Header.Get("webhook-id")
					keep := true
					if req.URL.Path == "/a" {
						keep = tc.answer(c, id)
					} else {
						body := "B:" + id
						keep = c.write(fmt.Sprintf("HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\n\r\n%s", len(body), body)) == nil
					}
					if !keep {
						return
					}
				}
			}()
		}
	}()
	return hr
}

func sized(status, body string) string {
	return fmt.Sprintf("HTTP/1.1 %s\r\nContent-Length: %d\r\n\r\n%s", status, len(body), body)
}

func chunk(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }

var hostileCases = []hostileCase{
	{"a body longer than its Content-Length, followed by a second answer", 200, func(c *hostileConn, id string) bool {
		return c.write(sized("200 OK", "A:"+id)+injected) == nil
	}},
	{"a 204 with a body", 204, func(c *hostileConn, id string) bool {
		return c.write("HTTP/1.1 204 No Content\r\n\r\n"+injected) == nil
	}},
	{"a 304 with a body", 304, func(c *hostileConn, id string) bool {
		return c.write("HTTP/1.1 304 Not Modified\r\n\r\n"+injected) == nil
	}},
	{"a chunked body whose 0 chunk is followed by more bytes", 200, func(c *hostileConn, id string) bool {
		return c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"+chunk("A:"+id)+"0\r\n\r\n"+injected) == nil
	}},
	{"an unsolicited answer while the connection sits idle", 200, func(c *hostileConn, id string) bool {
		if c.write(sized("200 OK", "A:"+id)) != nil {
			return false
		}
		mark := c.read.Load()
		time.AfterFunc(20*time.Millisecond, func() { c.writeIfIdle(injected, mark) })
		return true
	}},
	{"a kept connection closed without an answer", 200, func(c *hostileConn, id string) bool {
		if c.n > 1 {
			return false // read the request, answer nothing
		}
		return c.write(sized("200 OK", "A:"+id)) == nil
	}},
	{"Content-Length together with Transfer-Encoding", 200, func(c *hostileConn, id string) bool {
		return c.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"+chunk("A:"+id)+"0\r\n\r\n"+injected) == nil
	}},
	{"slowloris: headers a byte at a time, never ending", 0, func(c *hostileConn, id string) bool {
		if c.write("HTTP/1.1 200 OK\r\n") != nil {
			return false
		}
		for c.write("X") == nil {
			time.Sleep(50 * time.Millisecond)
		}
		return false
	}},
	{"an endless body", 200, func(c *hostileConn, id string) bool {
		if c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"+chunk("A:"+id)) != nil {
			return false
		}
		more := chunk(strings.Repeat("x", 4096))
		for c.write(more) == nil {
		}
		return false
	}},
	{"a flood of 1xx answers", 0, func(c *hostileConn, id string) bool {
		return c.write(strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 1000)+sized("200 OK", "A:"+id)) == nil
	}},
}

func TestHostileReceiversNeverMakeTheLogLie(t *testing.T) {
	for _, tc := range hostileCases {
		t.Run(tc.name, func(t *testing.T) {
			hr := newHostileReceiver(t, tc)
			s := modelstest.MustOpenStore(t)
			base := "http://" + hr.ln.Addr().String()
			epA := createEndpoint(t, s, models.Sandbox, base+"/a", "secret a")
			epB := createEndpoint(t, s, models.Sandbox, base+"/b", "secret b")
			cfg := testConfig()
			cfg.Timeout, cfg.Lease = 400*time.Millisecond, 6*time.Second
			startDispatcher(t, s, cfg)

			var events []string
			for range 8 {
				events = append(events, createUser(t, s, models.Sandbox).Event.ID)
			}
			var all []*models.DeliveryDetail
			eventually(t, 30*time.Second, "deliveries did not settle", func() bool {
				all = all[:0]
				for _, id := range events {
					ev, err := s.GetEvent(context.Background(), models.Sandbox, id)
					if err != nil {
						t.Fatal(err)
					}
					for _, dl := range ev.Deliveries {
						d, err := s.GetDelivery(context.Background(), models.Sandbox, dl.ID)
						if err != nil {
							t.Fatal(err)
						}
						if d.Delivery.Status == models.DeliveryPending || d.Delivery.LeaseOwner != "" {
							return false
						}
						all = append(all, d)
					}
				}
				return true
			})

			attempts, answeredA, answeredB := 0, 0, 0
			for _, d := range all {
				id := d.Delivery.EventID
				for _, a := range d.Attempts {
					attempts++
					if a.ResponseStatus == 0 && testing.Verbose() {
						t.Logf("attempt %d a=%v: %s", a.Number, d.Delivery.EndpointID == epA.ID, a.Error)
					}
					if a.ResponseStatus == 0 {
						if a.Error == "" {
							t.Errorf("attempt %d of %s has neither an answer nor an error", a.Number, d.Delivery.ID)
						}
						continue
					}
					switch d.Delivery.EndpointID {
					case epA.ID:
						answeredA++
						if a.ResponseStatus != tc.wantStatus || strings.Contains(a.ResponseBody, "INJECTED") ||
							(a.ResponseBody != "" && !strings.HasPrefix(a.ResponseBody, "A:"+id)) {
							t.Errorf("attempt %d to /a for %s recorded %d %.40q, not its own answer", a.Number, id, a.ResponseStatus, a.ResponseBody)
						}
					case epB.ID:
						answeredB++
						if a.ResponseStatus != 500 || a.ResponseBody != "B:"+id {
							t.Errorf("attempt %d to /b for %s recorded %d %.40q, want 500 %q", a.Number, id, a.ResponseStatus, a.ResponseBody, "B:"+id)
						}
					}
				}
				if d.Delivery.EndpointID == epB.ID && d.Delivery.Status == models.DeliverySucceeded {
					t.Errorf("delivery %s to /b, which always answers 500, SUCCEEDED", d.Delivery.ID)
				}
			}
			if got := hr.requests.Load(); got != int64(attempts) {
				t.Errorf("receiver got %d requests, the log holds %d attempts", got, attempts)
			}
			if answeredB == 0 {
				t.Error("no attempt to /b recorded its answer")
			}
			if tc.wantStatus != 0 && answeredA == 0 {
				t.Errorf("no attempt to /a recorded its %d", tc.wantStatus)
			}
		})
	}
}
