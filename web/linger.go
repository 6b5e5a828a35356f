package web

import (
	"io"
	"net"
	"sync"
	"time"
)

// Python's and Node's HTTP clients send a request body whole, without
// "Expect: 100-continue", and read the answer only once it is sent. When
// the server refuses a body as too large it answers from the headers and
// closes; closing with the body still arriving makes the kernel reset the
// connection, the client's write fails, and the client reports a reset
// instead of our 413. Go's net/http avoids this the same way (closeWrite,
// then a short wait): the listener's connections, when the server closes
// them, first send their FIN, then read and discard what still comes for a
// while, and only then close.
const (
	lingerFor   = 5 * time.Second
	lingerBytes = 64 << 20
	// maxLingering bounds the connections lingering at once; past it they
	// close at once, as before.
	maxLingering = 256
)

type lingerListener struct {
	net.Listener
	slots chan struct{}
}

func newLingerListener(ln net.Listener) net.Listener {
	return &lingerListener{Listener: ln, slots: make(chan struct{}, maxLingering)}
}

func (l *lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	return &lingerConn{TCPConn: tc, slots: l.slots}, nil
}

type lingerConn struct {
	*net.TCPConn
	slots chan struct{}
	once  sync.Once
}

func (c *lingerConn) Close() error {
	var err error
	c.once.Do(func() {
		select {
		case c.slots <- struct{}{}:
		default:
			err = c.TCPConn.Close()
			return
		}
		if err = c.CloseWrite(); err != nil {
			<-c.slots
			c.TCPConn.Close()
			return
		}
		go func() {
			defer func() { <-c.slots }()
			c.SetReadDeadline(time.Now().Add(lingerFor))
			io.CopyN(io.Discard, c.TCPConn, lingerBytes)
			c.TCPConn.Close()
		}()
	})
	return err
}
