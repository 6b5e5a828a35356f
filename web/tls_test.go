package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert makes a self-signed certificate for 127.0.0.1 and returns the
// paths of its PEM certificate and key, and the certificate.
func writeCert(t *testing.T, dir, name string) (certPath, keyPath string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	certPath, keyPath = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certPath, keyPath, cert
}

func TestServesHTTPSWithSecureCookiesAndHSTS(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, cert := writeCert(t, dir, "a")
	ta := newTestApp(t, func(c *Config) { c.TLSCert, c.TLSKey = certPath, keyPath })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ta.Serve(ln)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/login")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("status %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(got, "max-age=") {
		t.Errorf("no HSTS over HTTPS (got %q)", got)
	}
	var secure bool
	for _, c := range resp.Cookies() {
		secure = secure || (c.Name == "td_login" && c.Secure)
	}
	if !secure {
		t.Error("the sign-in cookie is not Secure over HTTPS")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("plain HTTP was answered on the HTTPS port")
	}
}

func TestTLSSettingsAreCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	certA, keyA, _ := writeCert(t, dir, "a")
	_, keyB, _ := writeCert(t, dir, "b")
	for _, tc := range []struct {
		name, cert, key, want string
	}{
		{"a certificate without a key", certA, "", "tls-key"},
		{"a key without a certificate", "", keyA, "tls-cert"},
		{"a key that is not the certificate's", certA, keyB, "tls-cert, tls-key"},
		{"a certificate file that is missing", filepath.Join(dir, "none.crt"), keyA, "tls-cert, tls-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.DBPath = filepath.Join(t.TempDir(), "tokendesk.db")
			cfg.TLSCert, cfg.TLSKey = tc.cert, tc.key
			a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil {
				a.store.Close()
				t.Fatal("started")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %q does not start with the setting %q", err, tc.want)
			}
			if _, serr := os.Stat(cfg.DBPath); serr == nil {
				t.Error("a database was created before the settings were checked")
			}
		})
	}
}
