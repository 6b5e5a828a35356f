package webhooks

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"sync/atomic"
	"time"
)

// client sends webhook requests with net/http's Transport: HTTP/2 where a
// receiver offers it over TLS, HTTP/1.1 otherwise. The Transport, unlike a
// hand-written loop, notices a receiver that sends bytes nobody asked for
// (a body longer than declared, a 204 with a body, an answer while the
// connection sits idle) and closes that connection, so the next delivery
// on it cannot record a stray answer as its own. It costs about 15 µs more
// CPU a request on loopback, which any real receiver's latency hides.
//
// What it is told not to do: no proxy but --webhook-proxy, through which it
// tunnels itself (proxyDialer), never the environment's HTTP_PROXY (the
// guard must judge the receiver's own address), no redirects (RoundTrip is called
// directly, so a 3xx is the receiver's answer, recorded with its
// Location), no compression (the log shows the bytes the receiver sent),
// and never a second POST inside one attempt (see post).
//
// Each mode has its own client because the guard is bound to the dialer.
type client struct {
	tr *http.Transport
}

// Limits of what a receiver can make the client read or keep open.
const (
	maxResponseHeaderBytes = 64 << 10
	maxInformational       = 5 // 1xx answers skipped before the real one
	idleTimeout            = 90 * time.Second
)

func newClient(g *Guard, cfg Config) (*client, error) {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second, Control: g.control}
	dialRaw := dialer.DialContext
	if cfg.Proxy != nil {
		pd, err := newProxyDialer(cfg.Proxy, cfg.Timeout, g)
		if err != nil {
			return nil, err
		}
		dialRaw = pd.dial
	}
	tlsConfig := cfg.TLSConfig.Clone()
	if tlsConfig == nil {
		tlsConfig = &tls.Config{} // system roots
	}
	tlsConfig.NextProtos = []string{"h2", "http/1.1"}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialRaw(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newGuardedConn(c, c), nil
	}
	// TLS is set up here rather than by the Transport so that HTTP/1.1
	// over TLS gets the same guarded connection as plain HTTP; HTTP/2 needs
	// none, its frames say which stream every byte belongs to.
	dialTLS := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialRaw(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cfg := tlsConfig.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			return tc, nil
		}
		return newGuardedConn(tc, c), nil
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dial,
		DialTLSContext:         dialTLS,
		TLSClientConfig:        tlsConfig,
		TLSHandshakeTimeout:    cfg.Timeout,
		ForceAttemptHTTP2:      true, // a custom dialer and TLS config turn HTTP/2 off otherwise
		DisableCompression:     true,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		MaxIdleConns:           0, // no cap in all: MaxIdleConnsPerHost bounds each receiver
		MaxIdleConnsPerHost:    max(cfg.PerEndpoint, 2),
		IdleConnTimeout:        idleTimeout,
	}
	return &client{tr: tr}, nil
}

// errTooManyInformational ends an exchange with a receiver that keeps
// sending 1xx answers.
var errSentOnce = errors.New("the request reached the receiver, which refused it; it is not sent again within one attempt")

var errTooManyInformational = fmt.Errorf("receiver sent more than %d informational (1xx) answers", maxInformational)

// post sends body to u with headers h within deadline. A response is
// returned whenever the receiver answered, with at most MaxResponseBody of
// its body, even if reading the rest then failed. Cancelling ctx cuts the
// exchange short.
//
// The request leaves the process at most once. The Transport sends a
// request again on another connection in two cases: when not one byte of
// it was written (which is how a guardedConn refuses a kept connection the
// receiver spoiled) if it can rewind the body (GetBody), and when a kept
// connection dies under a request that is replayable: a GET, or a request
// carrying an Idempotency-Key or X-Idempotency-Key header, even a nil one.
// Those headers are removed here, so only a request that never left is
// sent again. HTTP/2 would also re-send, through GetBody, a stream the
// receiver refused after reading it; GetBody refuses on HTTP/2.
func (c *client) post(ctx context.Context, u *url.URL, h http.Header, body []byte, deadline time.Time) (*http.Response, []byte, error) {
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, nil, fmt.Errorf("endpoint url: scheme %q is not http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, nil, errors.New("endpoint url: no host")
	}
	delete(h, "Idempotency-Key")
	delete(h, "X-Idempotency-Key")
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	informational := 0
	var onH2 atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if tc, ok := info.Conn.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol == "h2" {
				onH2.Store(true)
			}
		},
		Got1xxResponse: func(int, textproto.MIMEHeader) error {
			if informational++; informational > maxInformational {
				return errTooManyInformational
			}
			return nil
		},
	})
	req := (&http.Request{
		Method: http.MethodPost, URL: u, Host: u.Host, Header: h,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		GetBody: func() (io.ReadCloser, error) {
			if onH2.Load() {
				return nil, errSentOnce
			}
			return io.NopCloser(bytes.NewReader(body)), nil
		},
	}).WithContext(ctx)
	resp, err := c.tr.RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close() // a body not read to its end costs the connection
	var kept []byte
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, nil, nil // what follows is not HTTP; closing the body drops the connection
	}
	if resp.ContentLength != 0 { // most receivers answer with no body at all
		if kept, err = io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody)); err != nil {
			return resp, kept, fmt.Errorf("reading response: %w", err)
		}
	}
	// The rest is read, within bounds and the attempt's deadline, so the
	// connection can carry the next request; a body that does not end by
	// then costs the connection, not the attempt.
	io.CopyN(io.Discard, resp.Body, maxDrain)
	return resp, kept, nil
}

// closeIdle closes every idle connection.
func (c *client) closeIdle() { c.tr.CloseIdleConnections() }
