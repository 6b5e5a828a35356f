package webhooks

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// newTransport builds the transport for one mode. Each mode gets its own
// transport because the guard is bound to the dialer, and each keeps enough
// idle connections that every worker can reuse one to a busy receiver
// instead of paying a new handshake per delivery.
//
// Requests go straight to RoundTrip, which never follows a redirect: a
// redirect is the receiver's answer, recorded as a failure with its
// Location. Following it would let a URL reach where the guard and the
// endpoint's owner never agreed to.
func newTransport(g *Guard, cfg Config) *http.Transport {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second, Control: g.control}
	var tlsConfig *tls.Config
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	}
	return &http.Transport{
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
}
