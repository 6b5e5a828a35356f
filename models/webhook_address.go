package models

import (
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"code.dny.dev/ssrf"
)

// Which addresses a PRODUCTION webhook may reach. The deny lists are
// code.dny.dev/ssrf's, generated from IANA's IPv4 and IPv6 Special-Purpose
// Address Registries (every range not globally reachable, plus multicast
// and 6to4 / Teredo), with IPv6 outside 2000::/3 refused whole. The
// dispatcher's dial-time guard (webhooks.Guard) applies these same rules to
// every address a name resolves to; endpoint creation and update apply them
// to IP literals, so an endpoint that could never receive is refused at once.

var (
	ipv4Broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})
	// NAT64: the well-known prefix carries an IPv4 address in its last 32
	// bits (RFC 6052) and is judged by it; the local-use prefix (RFC 8215)
	// is not globally reachable.
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")
	nat64LocalUse  = netip.MustParsePrefix("64:ff9b:1::/48")
	ipv4Compatible = netip.MustParsePrefix("::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

// SpecialAddress says why addr is not a public internet address, "" when
// it is. allowLoopback lets loopback through (SANDBOX).
func SpecialAddress(addr netip.Addr, allowLoopback bool) string {
	if !addr.IsValid() {
		return "not an IP address"
	}
	if addr.Zone() != "" {
		return "an address with a zone is link-local"
	}
	if addr.Is4In6() {
		// A mapped address reaches IPv4 hosts past IPv6-only rules; only
		// loopback, in SANDBOX, is let through.
		if in := addr.Unmap(); allowLoopback && in.IsLoopback() {
			return ""
		}
		return "IPv4-mapped IPv6 address (carries " + addr.Unmap().String() + ")"
	}
	if addr.Is4() {
		return special4(addr, allowLoopback)
	}
	switch {
	case addr.IsLoopback():
		if allowLoopback {
			return ""
		}
		return "loopback"
	case addr.IsUnspecified():
		return "unspecified address"
	case nat64WellKnown.Contains(addr):
		b := addr.As16()
		inner := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		if r := special4(inner, false); r != "" {
			return "NAT64 address carrying " + inner.String() + ", " + r
		}
		return ""
	case nat64LocalUse.Contains(addr):
		return "local-use NAT64 range (RFC 8215)"
	case ipv4Compatible.Contains(addr):
		b := addr.As16()
		return "IPv4-compatible IPv6 address (deprecated; carries " + netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}).String() + ")"
	case addr.IsLinkLocalUnicast():
		return "link-local"
	case addr.IsPrivate():
		return "unique local range"
	case addr.IsMulticast():
		return "multicast"
	case !ssrf.IPv6GlobalUnicast.Contains(addr):
		return "outside the IPv6 global unicast range (2000::/3)"
	case sixToFour.Contains(addr):
		b := addr.As16()
		return "6to4 range (carries " + netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}).String() + ")"
	}
	for _, p := range ssrf.IPv6DeniedPrefixes {
		if p.Contains(addr) {
			return "IANA special-purpose range " + p.String()
		}
	}
	return ""
}

func special4(a netip.Addr, allowLoopback bool) string {
	switch {
	case a.IsLoopback():
		if allowLoopback {
			return ""
		}
		return "loopback"
	case a.IsUnspecified():
		return "unspecified address"
	case a.IsPrivate():
		return "private network"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	case a == ipv4Broadcast:
		return "broadcast"
	}
	for _, p := range ssrf.IPv4DeniedPrefixes {
		if p.Contains(a) {
			return "IANA special-purpose range " + p.String()
		}
	}
	return ""
}

// ParseIPLiteral reads host as an IP address in any spelling resolvers
// accept: canonical IPv4 or IPv6 (brackets stripped), or the inet_aton
// forms (127.1, 2130706433, 0x7f000001, 0177.0.0.1). canonical is false
// for the inet_aton forms, which resolvers disagree on.
func ParseIPLiteral(host string) (addr netip.Addr, canonical, ok bool) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(host); err == nil {
		return a, true, true
	}
	parts := strings.Split(strings.TrimSuffix(strings.ToLower(host), "."), ".")
	if len(parts) > 4 {
		return netip.Addr{}, false, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x"):
			p, base = p[2:], 16
		case len(p) > 1 && p[0] == '0':
			p, base = p[1:], 8
		}
		n, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false, false
		}
		nums[i] = n
	}
	// The last part fills what the others leave: a.b.c.d, a.b.cd, a.bcd, abcd.
	var v uint64
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false, false
		}
		v |= n << (24 - 8*i)
	}
	last := nums[len(nums)-1]
	if last > math.MaxUint32>>(8*(len(nums)-1)) {
		return netip.Addr{}, false, false
	}
	v |= last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), false, true
}

// checkProductionHost applies PRODUCTION's address rules to a URL's host,
// user information and port.
func checkProductionHost(u *url.URL, allowPrivate []netip.Prefix) *Error {
	if u.User != nil {
		return FieldError("url", "url must not carry a user name or password (user:password@); receivers authenticate deliveries by their signature")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return FieldError("url", "url has port %s; a port must be 1 to 65535", truncate(p, 10))
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return FieldError("url", "url has an empty port; leave the colon out or give a port from 1 to 65535")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return FieldError("url", "url names %s, this machine; PRODUCTION sends only to the public internet", host)
	}
	addr, canonical, ok := ParseIPLiteral(u.Hostname())
	if !ok {
		return nil // a name: judged at every dial, after it resolves
	}
	for _, p := range allowPrivate {
		if p.Contains(addr.Unmap()) && canonical {
			return nil
		}
	}
	if reason := SpecialAddress(addr, false); reason != "" {
		return FieldError("url", "url names %s (%s), which is not on the public internet; PRODUCTION sends only there", addr, reason)
	}
	if !canonical {
		return FieldError("url", "url names the IP address %s as %q; write it as %s", addr, u.Hostname(), addr)
	}
	return nil
}
