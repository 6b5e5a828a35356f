package webhooks

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

// guardedConn carries HTTP/1.1 for the Transport and makes sure every
// answer a delivery records was sent after its request, to it. net/http's
// Transport notices bytes that arrive while a connection sits idle, but
// only if its reader gets to them before the next request is queued on
// that connection; bytes that came in with the previous answer (a body
// longer than its Content-Length, a 204 with a body, data after the last
// chunk) sit in its buffer and are read as the next request's answer. A
// receiver could then make another endpoint's delivery on the same
// host:port record a success it never sent (issue 14's reproduction).
//
// So this connection follows the framing of each answer (framing) and
// hands the Transport no byte past its end. Between an answer and the next
// request it reads nothing; when the next request starts it looks, without
// reading, whether the receiver sent anything meanwhile or closed. Either
// way the request is refused before a byte of it is written, and the
// Transport sends it on another connection (a request that never left is
// the only kind it re-sends, see client.post). Bytes past an answer's end
// mark the connection the same way; it is then closed.
type guardedConn struct {
	net.Conn              // HTTP bytes: the TCP connection, or TLS over it
	sock     syscall.Conn // the TCP socket, for looking without reading; nil if unknown

	mu     sync.Mutex
	idle   bool          // the last answer ended and no request was written since
	wake   chan struct{} // closed when idle ends
	stray  error         // set once the receiver sent what nobody asked for
	closed bool
	fr     framing
}

var (
	errStrayBytes = errors.New("the receiver sent bytes nobody asked for on a kept connection")
	errIdleClosed = errors.New("the receiver closed the kept connection")
)

func newGuardedConn(c net.Conn, sock net.Conn) *guardedConn {
	g := &guardedConn{Conn: c, idle: true, wake: make(chan struct{})}
	g.fr.reset()
	if sc, ok := sock.(syscall.Conn); ok {
		g.sock = sc
	}
	return g
}

// leaveIdle ends the idle state; mu is held.
func (g *guardedConn) leaveIdle() {
	if g.idle {
		g.idle = false
		close(g.wake)
	}
}

func (g *guardedConn) Read(p []byte) (int, error) {
	g.mu.Lock()
	for g.idle && !g.closed {
		// The Transport reads ahead on an idle connection; it waits here
		// until a request starts, so nothing is read between answers.
		w := g.wake
		g.mu.Unlock()
		<-w
		g.mu.Lock()
	}
	stray, closed := g.stray, g.closed
	g.mu.Unlock()
	if stray != nil {
		return 0, stray
	}
	if closed {
		return 0, net.ErrClosed
	}
	n, err := g.Conn.Read(p)
	if n == 0 {
		return n, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	used, done := g.fr.feed(p[:n])
	if used < n {
		g.stray = errStrayBytes // what follows the answer is dropped, and the connection with it
	}
	if done {
		g.fr.reset()
		if g.stray == nil && !g.closed {
			g.idle, g.wake = true, make(chan struct{})
		}
	}
	if used > 0 {
		return used, err
	}
	return 0, g.stray
}

func (g *guardedConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	if g.stray == nil && g.idle {
		// A request starts: the connection must be quiet and open.
		g.stray = g.peek()
		g.leaveIdle()
	}
	stray := g.stray
	g.mu.Unlock()
	if stray != nil {
		return 0, stray
	}
	return g.Conn.Write(p)
}

func (g *guardedConn) Close() error {
	g.mu.Lock()
	g.closed = true
	g.leaveIdle()
	g.mu.Unlock()
	return g.Conn.Close()
}

// peek reports whether the socket holds unread bytes or was closed by the
// receiver, without reading.
func (g *guardedConn) peek() error {
	if g.sock == nil {
		return nil
	}
	raw, err := g.sock.SyscallConn()
	if err != nil {
		return err
	}
	var n int
	var perr error
	buf := make([]byte, 1)
	if err := raw.Read(func(fd uintptr) bool {
		n, perr = peekSocket(fd, buf)
		return true // never wait: the answer is about now
	}); err != nil {
		return err
	}
	switch {
	case perr == syscall.EAGAIN || perr == syscall.EWOULDBLOCK:
		return nil
	case perr != nil:
		return perr
	case n > 0:
		return errStrayBytes
	}
	return errIdleClosed
}
