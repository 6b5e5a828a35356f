package webhooks

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// client sends webhook requests over HTTP/1.1, one request at a time per
// connection, entirely on the calling worker's goroutine, keeping idle
// connections for reuse.
//
// Why not net/http's Transport: it runs a reader and a writer goroutine per
// connection and hands every request and every response between them and
// the caller. At thousands of deliveries a second those hand-offs cost more
// CPU than the rest of a send (37 against 53 µs per request, sender and a
// loopback receiver together, on the machine the dispatcher benchmark runs
// on). A webhook sender needs none of what they buy: no proxies (the guard
// must judge the receiver's own address), no redirects (a redirect is the
// receiver's answer, recorded as a failure with its Location; following it
// would let a URL reach where the guard and the endpoint's owner never
// agreed to), no compression (the log shows the bytes the receiver sent),
// no multiplexing (a worker has one request in flight).
//
// Each mode has its own client because the guard is bound to the dialer.
type client struct {
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	tlsConfig *tls.Config // nil: system roots
	maxIdle   int         // idle connections kept per receiver
	idleFor   time.Duration

	mu     sync.Mutex
	idle   map[string][]*conn // by scheme and address
	closed bool
}

// Limits of what a receiver can make the client read or keep open.
const (
	maxResponseHeaderBytes = 64 << 10
	maxInformational       = 5 // 1xx answers skipped before the real one
	idleTimeout            = 90 * time.Second
)

func newClient(g *Guard, cfg Config) *client {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second, Control: g.control}
	var tlsConfig *tls.Config
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	}
	return &client{dial: dialer.DialContext, tlsConfig: tlsConfig, maxIdle: cfg.Workers,
		idleFor: idleTimeout, idle: map[string][]*conn{}}
}

// post sends body to u with headers h within deadline. A response is
// returned whenever the receiver answered, with at most MaxResponseBody of
// its body, even if reading the rest then failed. Cancelling ctx cuts the
// exchange short.
func (c *client) post(ctx context.Context, u *url.URL, h http.Header, body []byte, deadline time.Time) (*http.Response, []byte, error) {
	key, addr, err := connKey(u)
	if err != nil {
		return nil, nil, err
	}
	for try := 0; ; try++ {
		cn, reused, err := c.get(ctx, u, key, addr, deadline)
		if err != nil {
			return nil, nil, err
		}
		resp, kept, err := c.roundTrip(ctx, cn, u, h, body, deadline)
		// A kept connection the receiver closed while it sat idle fails
		// before a single byte comes back; that request never reached
		// anyone, so it goes again once on a new connection. (Had it been
		// received, a repeat is what retries do anyway: same webhook-id.)
		if err != nil && resp == nil && reused && try == 0 && cn.in.read == 0 && closedByPeer(err) {
			continue
		}
		return resp, kept, err
	}
}

// roundTrip writes one request on cn and reads its answer, keeping at
// most MaxResponseBody of the body; cn goes back to the pool when it can
// carry another request, and is closed otherwise.
func (c *client) roundTrip(ctx context.Context, cn *conn, u *url.URL, h http.Header, body []byte, deadline time.Time) (resp *http.Response, kept []byte, err error) {
	reusable := false
	defer func() {
		if reusable {
			c.put(cn)
		} else {
			cn.Close()
		}
	}()
	if err := cn.SetDeadline(deadline); err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { cn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	req := &http.Request{
		Method: http.MethodPost, URL: u, Host: u.Host, Header: h,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}
	cn.in.read = 0
	if err := req.Write(cn.bw); err != nil {
		return nil, nil, err
	}
	if err := cn.bw.Flush(); err != nil {
		return nil, nil, err
	}

	cn.in.limit = maxResponseHeaderBytes
	for i := 0; ; i++ {
		if resp, err = http.ReadResponse(cn.br, req); err != nil {
			return nil, nil, err
		}
		informational := resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols
		if !informational {
			break
		}
		if i == maxInformational {
			return nil, nil, fmt.Errorf("receiver sent more than %d informational (1xx) answers", maxInformational)
		}
	}
	cn.in.limit = math.MaxInt64
	respBody := resp.Body
	resp.Body = http.NoBody // what was read is returned as kept

	if resp.ContentLength != 0 { // most receivers answer with no body at all
		if kept, err = io.ReadAll(io.LimitReader(respBody, MaxResponseBody)); err != nil {
			return resp, kept, fmt.Errorf("reading response: %w", err)
		}
	}
	// The rest is read (within bounds) so the connection can carry the
	// next request; a body that does not end by then costs the connection.
	_, err = io.CopyN(io.Discard, respBody, maxDrain)
	reusable = err == io.EOF && !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols && ctx.Err() == nil
	return resp, kept, nil
}
