package webhooks

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// newClient builds the client for one mode. Each mode gets its own
// transport because the guard is bound to the dialer, and each keeps enough
// idle connections that every worker can reuse one to a busy receiver
// instead of paying a new handshake per delivery.
func newClient(g *Guard, cfg Config) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second, Control: g.control}
	var tlsConfig *tls.Config
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	}
	tr := &http.Transport{
		// Never through a proxy: the guard would then judge the proxy's
		// address, not the receiver's.
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		ForceAttemptHTTP2:   true,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: cfg.Timeout,
		MaxIdleConns:        4 * cfg.Workers,
		MaxIdleConnsPerHost: cfg.Workers,
		IdleConnTimeout:     90 * time.Second,
		// The attempt log shows the bytes the receiver sent, not a
		// decompressed version of them.
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		// A redirect is the receiver's answer, recorded as a failure with
		// its Location; following it would let a URL reach where the
		// guard and the endpoint's owner never agreed to.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
