package web

import (
	"crypto/tls"
	"errors"
	"fmt"
)

// loadTLS reads the certificate and key named by --tls-cert and --tls-key,
// or returns nil when neither is set. Fiber serves HTTP/1.1 only (fasthttp
// has no HTTP/2), so the listener offers http/1.1 alone.
func loadTLS(cfg Config) (*tls.Config, error) {
	switch {
	case cfg.TLSCert == "" && cfg.TLSKey == "":
		return nil, nil
	case cfg.TLSCert == "":
		return nil, errors.New("tls-cert: --tls-key is set but --tls-cert is not; give both or neither")
	case cfg.TLSKey == "":
		return nil, errors.New("tls-key: --tls-cert is set but --tls-key is not; give both or neither")
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("tls-cert, tls-key: cannot use %s with %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}, nil
}

// scheme is how clients reach this app: https when it serves TLS itself.
func (a *App) scheme() string {
	if a.tls != nil {
		return "https"
	}
	return "http"
}
