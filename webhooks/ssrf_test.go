package webhooks

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// countingListener counts every TCP connection that reaches it, so a test
// can prove the guard refused before connecting, not after.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

func TestGuardCheck(t *testing.T) {
	prod := &Guard{}
	sandbox := &Guard{AllowLoopback: true}
	selfHosted := &Guard{Allowed: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}
	tests := []struct {
		name  string
		guard *Guard
		addr  string
		ok    bool
	}{
		{"production refuses IPv4 loopback", prod, "127.0.0.1", false},
		{"production refuses the rest of 127/8", prod, "127.45.6.7", false},
		{"production refuses IPv6 loopback", prod, "::1", false},
		{"production refuses IPv4-mapped loopback", prod, "::ffff:127.0.0.1", false},
		{"production refuses IPv4-mapped public addresses too", prod, "::ffff:8.8.8.8", false},
		{"production refuses 10/8", prod, "10.1.2.3", false},
		{"production refuses 172.16/12", prod, "172.20.0.1", false},
		{"production refuses 192.168/16", prod, "192.168.1.1", false},
		{"production refuses link-local (cloud metadata)", prod, "169.254.169.254", false},
		{"production refuses IPv6 link-local", prod, "fe80::1", false},
		{"production refuses CGNAT", prod, "100.64.0.1", false},
		{"production refuses unique local IPv6", prod, "fd00::1", false},
		{"production refuses the unspecified address", prod, "0.0.0.0", false},
		{"production refuses the IPv6 unspecified address", prod, "::", false},
		{"production refuses multicast", prod, "224.0.0.1", false},
		{"production refuses broadcast", prod, "255.255.255.255", false},
		{"production refuses NAT64 of a private address", prod, "64:ff9b::a00:1", false},
		{"production refuses 6to4 of loopback", prod, "2002:7f00:1::", false},
		{"production allows a public IPv4 address", prod, "93.184.216.34", true},
		{"production allows a public IPv6 address", prod, "2606:2800:220:1:248:1893:25c8:1946", true},
		{"production allows NAT64 of a public address", prod, "64:ff9b::5db8:d822", true},
		{"sandbox allows loopback", sandbox, "127.0.0.1", true},
		{"sandbox allows IPv6 loopback", sandbox, "::1", true},
		{"sandbox allows IPv4-mapped loopback", sandbox, "::ffff:127.0.0.1", true},
		{"sandbox still refuses private networks", sandbox, "10.0.0.1", false},
		{"sandbox still refuses link-local", sandbox, "169.254.169.254", false},
		{"sandbox still refuses the unspecified address", sandbox, "0.0.0.0", false},
		{"an allowed range is reachable", selfHosted, "10.20.3.4", true},
		{"a neighbouring range is not", selfHosted, "10.21.3.4", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.guard.Check(netip.MustParseAddr(tt.addr))
			if tt.ok && err != nil {
				t.Fatalf("got %v, want allowed", err)
			}
			var blocked *BlockedError
			if !tt.ok && !errors.As(err, &blocked) {
				t.Fatalf("got %v, want a *BlockedError", err)
			}
		})
	}
}

func TestGuardAtDialTime(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: l}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Listener.Close()
	srv.Listener = cl
	srv.Start()
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]

	d, err := New(modelstest.MustOpenStore(t), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name string
		url  string
	}{
		{"the loopback address", "http://127.0.0.1" + port},
		{"localhost", "http://localhost" + port},
		{"a private address", "http://10.0.0.1" + port},
		{"the metadata address", "http://169.254.169.254" + port},
		{"a CGNAT address", "http://100.64.0.1" + port},
		{"IPv6 loopback", "http://[::1]" + port},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]" + port},
		{"the unspecified address", "http://0.0.0.0" + port},
		{"loopback written in decimal", "http://2130706433" + port},
		{"loopback written in hex", "http://0x7f000001" + port},
		{"loopback written short", "http://127.1" + port},
		{"loopback written in octal", "http://0177.0.0.1" + port},
	}
	for _, tt := range refused {
		t.Run("production refuses "+tt.name, func(t *testing.T) {
			before := cl.accepted.Load()
			resp, _, err := d.post(d.sendCtx, models.Production, tt.url, http.Header{}, []byte("{}"))
			var blocked *BlockedError
			if resp != nil || !errors.As(err, &blocked) {
				t.Fatalf("got response %v, error %v; want a refusal by the guard", resp, err)
			}
			if !strings.HasPrefix(describe(err, 0), "blocked: ") {
				t.Fatalf("described as %q", describe(err, 0))
			}
			if got := cl.accepted.Load() - before; got != 0 {
				t.Fatalf("%d connections reached the receiver", got)
			}
		})
	}

	t.Run("sandbox reaches a loopback receiver", func(t *testing.T) {
		resp, _, err := d.post(d.sendCtx, models.Sandbox, "http://127.0.0.1"+port, http.Header{}, []byte("{}"))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v, %v", resp, err)
		}
	})

	t.Run("sandbox still refuses loopback written in decimal", func(t *testing.T) {
		if _, _, err := d.post(d.sendCtx, models.Sandbox, "http://2130706433"+port, http.Header{}, []byte("{}")); err == nil {
			t.Fatal("reached a receiver through a decimal IP literal")
		}
	})
}

func TestAllowList(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	t.Run("production reaches a private receiver in an allowed range", func(t *testing.T) {
		cfg := testConfig()
		cfg.AllowedPrivate = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		cfg.TLSConfig = &tls.Config{RootCAs: roots}
		d, err := New(modelstest.MustOpenStore(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		resp, _, err := d.post(d.sendCtx, models.Production, srv.URL, http.Header{}, []byte("{}"))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("got %v, %v", resp, err)
		}
	})

	t.Run("production refuses it without the allow-list", func(t *testing.T) {
		cfg := testConfig()
		cfg.TLSConfig = &tls.Config{RootCAs: roots}
		d, err := New(modelstest.MustOpenStore(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		var blocked *BlockedError
		if _, _, err := d.post(d.sendCtx, models.Production, srv.URL, http.Header{}, []byte("{}")); !errors.As(err, &blocked) {
			t.Fatalf("got %v, want a refusal", err)
		}
	})
}

func TestProductionDeliveryToLoopbackIsRecordedAsBlocked(t *testing.T) {
	// Creation refuses a loopback literal now; the URL is set behind its
	// back, as an endpoint saved before that rule, or a name that resolves
	// here after a DNS change, would have it. The dial still refuses.
	s := modelstest.MustOpenStore(t)
	rc := newReceiver(t, status(200))
	ep := createEndpoint(t, s, models.Production, "https://93.184.216.34/hook", "secret")
	if err := s.W.Exec("UPDATE webhook_endpoints SET url = ? WHERE id = ?", "https://"+strings.TrimPrefix(rc.URL, "http://"), ep.ID).Error; err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Schedule = []time.Duration{}
	startDispatcher(t, s, cfg)
	u := createUser(t, s, models.Production)
	d := settled(t, s, models.Production, u.Event.ID, models.DeliveryFailed, 1)
	if got := d.Attempts[0].Error; !strings.HasPrefix(got, "blocked: ") || rc.count() != 0 {
		t.Fatalf("attempt error %q, receiver got %d requests", got, rc.count())
	}
}

func TestGuardCompleteLists(t *testing.T) {
	prod := &Guard{}
	for _, addr := range []string{
		"::127.0.0.1", "::8.8.8.8", // IPv4-compatible, whatever they carry
		"::ffff:10.0.0.1",                          // IPv4-mapped
		"64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", // NAT64 of loopback and the metadata address
		"64:ff9b:1::8.8.8.8",      // local-use NAT64
		"192.88.99.1",             // 6to4 relay anycast
		"2001:10::1", "2001:2::1", // ORCHID, benchmarking
		"2001:db8::1", "3fff::1", // documentation
		"2002:808:808::1",              // 6to4
		"2001::1",                      // Teredo
		"192.31.196.1", "192.175.48.1", // AS112
		"198.18.0.1", "100.64.0.1", "192.0.0.8",
		"fc00::1", "fe80::1", "ff02::1", "100::1", "::",
	} {
		var blocked *BlockedError
		if err := prod.Check(netip.MustParseAddr(addr)); !errors.As(err, &blocked) {
			t.Errorf("%s: got %v, want refused", addr, err)
		}
	}
	for _, addr := range []string{"8.8.8.8", "64:ff9b::808:808", "2606:4700::1111"} {
		if err := prod.Check(netip.MustParseAddr(addr)); err != nil {
			t.Errorf("%s: got %v, want allowed", addr, err)
		}
	}
}
