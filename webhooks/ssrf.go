package webhooks

import (
	"fmt"
	"net/netip"
	"strings"
	"syscall"
)

// Guard decides, at dial time, which addresses a delivery may connect to.
// Checking the address the socket is about to use (after DNS, for every
// address tried) is what makes it hold against DNS rebinding, IP literals
// in any spelling and names that resolve to internal hosts.
type Guard struct {
	// AllowLoopback lets deliveries reach this machine (SANDBOX, so
	// developers can test against a local receiver).
	AllowLoopback bool
	// Allowed are ranges a self-hoster opened on purpose (an internal
	// network); they win over every rule below.
	Allowed []netip.Prefix
}

// BlockedError is a connection the guard refused.
type BlockedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("address %s is not allowed (%s)", e.Addr, e.Reason)
}

// Ranges that are not the public internet, beyond what netip.Addr's
// predicates cover.
var blockedPrefixes = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network range"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT range"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol range"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation range"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking range"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation range"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation range"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved range"},
	{netip.MustParsePrefix("100::/64"), "discard range"},
	{netip.MustParsePrefix("2001::/32"), "Teredo tunnel range"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation range"},
	{netip.MustParsePrefix("fec0::/10"), "site-local range"},
}

// Prefixes that carry an IPv4 address inside an IPv6 one; the embedded
// address is judged too.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// Check returns a *BlockedError when the guard refuses addr.
func (g *Guard) Check(addr netip.Addr) error {
	if !addr.IsValid() {
		return &BlockedError{Addr: addr, Reason: "not an IP address"}
	}
	plain := addr.Unmap()
	for _, p := range g.Allowed {
		if p.Contains(plain) {
			return nil
		}
	}
	if addr.Is4In6() && !(g.AllowLoopback && plain.IsLoopback()) {
		// A mapped address reaches IPv4 hosts past IPv6-only rules.
		return &BlockedError{Addr: addr, Reason: "IPv4-mapped IPv6 address"}
	}
	if reason := g.blocked(plain); reason != "" {
		return &BlockedError{Addr: addr, Reason: reason}
	}
	if plain.Is6() {
		var inner netip.Addr
		switch b := plain.As16(); {
		case nat64Prefix.Contains(plain):
			inner = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		case sixToFour.Contains(plain):
			inner = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		}
		if inner.IsValid() {
			if reason := g.blocked(inner); reason != "" {
				return &BlockedError{Addr: addr, Reason: "embeds " + inner.String() + ", " + reason}
			}
		}
	}
	return nil
}

func (g *Guard) blocked(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		if g.AllowLoopback {
			return ""
		}
		return "loopback"
	case a.IsUnspecified():
		return "unspecified address"
	case a.IsPrivate():
		return "private network"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, b := range blockedPrefixes {
		if b.prefix.Contains(a) {
			return b.reason
		}
	}
	return ""
}

// control is a net.Dialer Control function: it runs after name resolution,
// just before connect, with the exact address.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Reason: fmt.Sprintf("cannot read dial address %q", address)}
	}
	return g.Check(ap.Addr())
}

// checkHost refuses IP literals written in forms other than the canonical
// dotted quad or IPv6 brackets (2130706433, 0x7f000001, 0177.0.0.1, 127.1):
// resolvers disagree on what they mean, which is how filters get bypassed.
// The dial-time check would catch wherever they lead; this makes the
// refusal clear instead of a confusing DNS error.
func checkHost(host string) error {
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	parts := strings.Split(strings.TrimSuffix(strings.ToLower(host), "."), ".")
	for _, p := range parts {
		if !isNumberPart(p) {
			return nil
		}
	}
	return &BlockedError{Reason: fmt.Sprintf("host %q looks like an IP address in a non-standard form", host)}
}

// isNumberPart reports whether p is a decimal, octal or 0x-hex number, the
// forms inet_aton accepts for each part of an address.
func isNumberPart(p string) bool {
	digits := "0123456789"
	if rest, ok := strings.CutPrefix(p, "0x"); ok {
		p, digits = rest, "0123456789abcdef"
	}
	return p != "" && strings.Trim(p, digits) == ""
}
