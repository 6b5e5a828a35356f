package web

import (
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"tokendesk/models"
)

// Behind a proxy the app sees every request come from the proxy's address;
// the tests' own loopback client plays the proxy.
func TestForwardedHeadersAreBelievedFromTrustedProxiesOnly(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted string
		// The addresses the app should see for client A, client B and a
		// client that forged a hop in front of A's address.
		wantA, wantB, wantForged string
		wantHSTS                 bool
	}{
		{name: "without --trusted-proxies nothing forwarded is believed", trusted: "",
			wantA: "127.0.0.1", wantB: "127.0.0.1", wantForged: "127.0.0.1"},
		{name: "from a trusted proxy the real client is used", trusted: "127.0.0.1",
			wantA: "203.0.113.7", wantB: "198.51.100.9", wantForged: "203.0.113.7", wantHSTS: true},
		{name: "a trusted range works like an address", trusted: "127.0.0.0/8, 10.0.0.0/8",
			wantA: "203.0.113.7", wantB: "198.51.100.9", wantForged: "203.0.113.7", wantHSTS: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta, base := startServer(t, func(c *Config) {
				ps, err := parsePrefixes("trusted-proxies", tc.trusted, true)
				if err != nil {
					t.Fatal(err)
				}
				c.TrustedProxies = ps
				c.RateLimit = 1 // a burst of one: the second request of an address is refused
				c.AdminEmail, c.AdminPassword = testAdminEmail, testAdminPassword
			})
			k, s, _ := strings.Cut(ta.sandbox, ":")
			get := func(xff string, extra map[string]string) *http.Response {
				t.Helper()
				req, _ := http.NewRequest(http.MethodGet, base+"/v1/users", nil)
				req.SetBasicAuth(k, s)
				if xff != "" {
					req.Header.Set("X-Forwarded-For", xff)
				}
				for h, v := range extra {
					req.Header.Set(h, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			// The proxy appends the address it saw; what a client wrote
			// itself stands to the left of it.
			first := get("203.0.113.7", map[string]string{"X-Forwarded-Proto": "https"})
			if first.StatusCode != 200 {
				t.Fatalf("first request: status %d", first.StatusCode)
			}
			if got := first.Header.Get("Strict-Transport-Security") != ""; got != tc.wantHSTS {
				t.Errorf("HSTS sent: %v, want %v (X-Forwarded-Proto: https)", got, tc.wantHSTS)
			}
			b := get("198.51.100.9", nil)
			forged := get("192.0.2.66, 203.0.113.7", nil)
			sameBucket := tc.wantA == tc.wantB
			if got, want := b.StatusCode == 429, sameBucket; got != want {
				t.Errorf("client B refused by the rate limit: %v, want %v", got, want)
			}
			if forged.StatusCode != 429 {
				t.Errorf("a client that forged a hop got its own bucket (status %d)", forged.StatusCode)
			}
			logs := ta.logs.String()
			for _, ip := range []string{tc.wantA, tc.wantB, tc.wantForged} {
				if !strings.Contains(logs, "path=/v1/users status=") || !strings.Contains(logs, "ip="+ip) {
					t.Errorf("request log has no line from ip=%s", ip)
				}
			}
			if strings.Contains(logs, "192.0.2.66") {
				t.Error("the forged hop reached the log")
			}

			// A failed sign-in is audited with the client's address.
			resp, err := http.Get(base + "/login")
			if err != nil {
				t.Fatal(err)
			}
			doc, _ := goquery.NewDocumentFromReader(resp.Body)
			resp.Body.Close()
			tok, _ := doc.Find(`input[name=_csrf]`).Attr("value")
			form := url.Values{"_csrf": {tok}, "email": {testAdminEmail}, "password": {"wrong-password"}}
			req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", "203.0.113.7")
			for _, c := range resp.Cookies() {
				req.AddCookie(c)
			}
			if resp, err = http.DefaultClient.Do(req); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			page, err := ta.Store().ListAudit(t.Context(), models.AuditFilter{Action: string(models.AuditSignInFailed), Size: 5})
			if err != nil || len(page.Items) != 1 {
				t.Fatalf("audit: %v, %d entries (sign-in answered %d)", err, len(page.Items), resp.StatusCode)
			}
			if got := page.Items[0].IP; got != tc.wantA {
				t.Errorf("failed sign-in audited from %s, want %s", got, tc.wantA)
			}
		})
	}
}

func TestForwardedClientIsTheRightmostUntrustedHop(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	for _, tc := range []struct {
		hops []string
		want string
		ok   bool
	}{
		{[]string{"203.0.113.7"}, "203.0.113.7", true},
		{[]string{"192.0.2.66", " 203.0.113.7"}, "203.0.113.7", true},
		{[]string{"203.0.113.7", "10.1.2.3"}, "203.0.113.7", true}, // through a second trusted proxy
		{[]string{"10.1.2.3", "10.4.5.6"}, "10.1.2.3", true},       // every hop trusted: the first
		{[]string{"junk", "203.0.113.7"}, "203.0.113.7", true},     // junk left of a real hop
		{[]string{"203.0.113.7", "junk"}, "", false},               // nothing vouched for
		{[]string{"[2001:db8::1]"}, "2001:db8::1", true},           // bracketed IPv6
		{[]string{"::ffff:203.0.113.7"}, "203.0.113.7", true},      // IPv4-mapped
		{nil, "", false},
	} {
		got, ok := forwardedClient(tc.hops, trusted)
		if got != tc.want || ok != tc.ok {
			t.Errorf("forwardedClient(%q) = %q, %v; want %q, %v", tc.hops, got, ok, tc.want, tc.ok)
		}
	}
}
