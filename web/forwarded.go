package web

import (
	"bytes"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Behind a reverse proxy every connection comes from the proxy, so the
// client's address, scheme and host arrive in X-Forwarded-* headers. They
// are believed only from the addresses in --trusted-proxies: Fiber's
// trusted-proxy check (always on, with an empty list when the flag is not
// given) makes c.IP(), c.Protocol() and c.Hostname() ignore them from
// anyone else.
//
// Fiber takes the leftmost address of X-Forwarded-For, which is whatever
// the client wrote there: a proxy appends the address it saw to what it
// was sent. normalizeForwardedFor rewrites the header, before anything
// reads it, to the one address that a trusted proxy vouches for: the
// rightmost that is not itself a trusted proxy.

// fiberProxyConfig sets the Fiber options that make it believe forwarded
// headers from trusted proxies only.
func fiberProxyConfig(cfg *fiber.Config, trusted []netip.Prefix) {
	cfg.EnableTrustedProxyCheck = true
	cfg.TrustedProxies = make([]string, 0, len(trusted))
	for _, p := range trusted {
		cfg.TrustedProxies = append(cfg.TrustedProxies, p.String())
	}
	cfg.ProxyHeader = fiber.HeaderXForwardedFor
	cfg.EnableIPValidation = true
}

// normalizeForwardedFor is the first middleware: from a trusted proxy, the
// X-Forwarded-For header becomes the real client's address alone; from
// anyone else it is dropped, so nothing later can read a forged one.
func normalizeForwardedFor(trusted []netip.Prefix) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := &c.Request().Header
		if !c.IsProxyTrusted() {
			h.Del(fiber.HeaderXForwardedFor)
			return c.Next()
		}
		var hops []string
		h.VisitAll(func(k, v []byte) {
			if bytes.EqualFold(k, []byte(fiber.HeaderXForwardedFor)) {
				hops = append(hops, strings.Split(string(v), ",")...)
			}
		})
		if client, ok := forwardedClient(hops, trusted); ok {
			h.Set(fiber.HeaderXForwardedFor, client)
		} else {
			h.Del(fiber.HeaderXForwardedFor)
		}
		return c.Next()
	}
}

// forwardedClient returns the rightmost hop that is not a trusted proxy,
// or the leftmost when every hop is one. A hop that is not an address ends
// the walk: what stands left of it cannot be vouched for.
func forwardedClient(hops []string, trusted []netip.Prefix) (string, bool) {
	var last string
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(hops[i]), "[]"))
		if err != nil {
			break
		}
		ip = ip.Unmap()
		last = ip.String()
		if !prefixesContain(trusted, ip) {
			return last, true
		}
	}
	return last, last != ""
}

func prefixesContain(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
