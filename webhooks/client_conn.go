package webhooks

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/idna"
)

// The client's connections: dialled through the guard, kept idle per
// receiver, and the address each URL's requests go to.

// conn is one connection to a receiver with its buffers.
type conn struct {
	net.Conn
	key       string
	br        *bufio.Reader
	bw        *bufio.Writer
	in        *countingReader
	idleSince time.Time
}

// countingReader sits under the connection's buffer: it bounds what the
// response headers may take and tells whether the receiver sent anything.
type countingReader struct {
	r     io.Reader
	limit int64 // bytes still allowed
	read  int64 // bytes since the request was written
}

var errHeadersTooLarge = fmt.Errorf("response headers exceed %d KiB", maxResponseHeaderBytes>>10)

func (c *countingReader) Read(p []byte) (int, error) {
	if c.limit <= 0 {
		return 0, errHeadersTooLarge
	}
	if int64(len(p)) > c.limit {
		p = p[:c.limit]
	}
	n, err := c.r.Read(p)
	c.limit -= int64(n)
	c.read += int64(n)
	return n, err
}

// get takes an idle connection to the receiver, or dials a new one.
func (c *client) get(ctx context.Context, u *url.URL, key, addr string, deadline time.Time) (*conn, bool, error) {
	if cn := c.takeIdle(key); cn != nil {
		return cn, true, nil
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	raw, err := c.dial(dctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	nc := raw
	if u.Scheme == "https" {
		cfg := c.tlsConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, false, err
		}
		nc = tc
	}
	in := &countingReader{r: nc, limit: math.MaxInt64}
	return &conn{Conn: nc, key: key, in: in, br: bufio.NewReaderSize(in, 4<<10), bw: bufio.NewWriterSize(nc, 4<<10)}, false, nil
}

func (c *client) takeIdle(key string) *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.idle[key]
	for len(list) > 0 {
		cn := list[len(list)-1]
		list = list[:len(list)-1]
		if time.Since(cn.idleSince) < c.idleFor {
			c.idle[key] = list
			return cn
		}
		cn.Close() // the rest are older still
		for _, old := range list {
			old.Close()
		}
		list = nil
	}
	delete(c.idle, key)
	return nil
}

func (c *client) put(cn *conn) {
	cn.idleSince = time.Now()
	cn.SetDeadline(time.Time{})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || len(c.idle[cn.key]) >= c.maxIdle {
		cn.Close()
		return
	}
	c.idle[cn.key] = append(c.idle[cn.key], cn)
}

// closeIdle closes every idle connection; after it, connections coming
// back from requests in flight are closed too.
func (c *client) closeIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for key, list := range c.idle {
		for _, cn := range list {
			cn.Close()
		}
		delete(c.idle, key)
	}
}

// connKey returns where u's requests go: the pool key and the address to
// dial, with the scheme's port when none is given and an internationalised
// name in its ASCII form.
func connKey(u *url.URL) (key, addr string, err error) {
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
	default:
		return "", "", fmt.Errorf("endpoint url: scheme %q is not http or https", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return "", "", errors.New("endpoint url: no host")
	}
	if !isASCII(host) {
		if host, err = idna.Lookup.ToASCII(host); err != nil {
			return "", "", fmt.Errorf("endpoint url: host: %w", err)
		}
	}
	addr = net.JoinHostPort(strings.ToLower(host), port)
	return u.Scheme + "://" + addr, addr, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// closedByPeer reports whether err says the other side closed or reset the
// connection.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
