package webhooks

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"
)

// proxyDialer opens connections to receivers through an HTTP CONNECT
// proxy (--webhook-proxy), such as smokescreen: the tunnel then carries
// what a direct connection would, so TLS, HTTP/2 and the guarded HTTP/1.1
// connection work the same. Plain http:// receivers are tunnelled too,
// rather than sent to the proxy as absolute-URI requests.
//
// The proxy resolves names, so the guard cannot judge the address a name
// leads to: it judges IP literals here, before the proxy is asked, and
// leaves names to the proxy, which must refuse internal addresses itself.
type proxyDialer struct {
	proxy  *url.URL
	addr   string // the proxy's host:port
	dialer *net.Dialer
	guard  *Guard
}

// ProxyError is a CONNECT the proxy refused.
type ProxyError struct {
	Target string
	Status string
}

func (e *ProxyError) Error() string {
	return fmt.Sprintf("the proxy refused to connect to %s: %s", e.Target, e.Status)
}

func newProxyDialer(proxy *url.URL, timeout time.Duration, g *Guard) (*proxyDialer, error) {
	if proxy.Scheme != "http" || proxy.Hostname() == "" {
		return nil, fmt.Errorf("webhook proxy %q: want http://host:port", proxy.Redacted())
	}
	port := proxy.Port()
	if port == "" {
		port = "80"
	}
	return &proxyDialer{proxy: proxy, addr: net.JoinHostPort(proxy.Hostname(), port),
		dialer: &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}, guard: g}, nil
}

// dial opens a tunnel to addr (host:port of the receiver).
func (p *proxyDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := p.guard.Check(ip); err != nil {
			return nil, err
		}
	}
	c, err := p.dialer.DialContext(ctx, network, p.addr)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", p.addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if u := p.proxy.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("proxy %s: %w", p.addr, err)
	}
	br := bufio.NewReaderSize(c, 1024)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("proxy %s: reading its answer to CONNECT: %w", p.addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, &ProxyError{Target: addr, Status: resp.Status}
	}
	if br.Buffered() > 0 {
		// The receiver spoke before being asked; nothing may be lost or
		// taken for an answer, so the tunnel is not used.
		c.Close()
		return nil, errStrayBytes
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
