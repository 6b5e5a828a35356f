package webhooks

import (
	"fmt"
	"net/netip"
	"syscall"

	"tokendesk/models"
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

// Check returns a *BlockedError when the guard refuses addr. The ranges
// are models.SpecialAddress's: every IANA special-purpose range that is not
// globally reachable (code.dny.dev/ssrf's lists), IPv6 outside 2000::/3,
// IPv4-mapped and IPv4-compatible addresses, and NAT64 and 6to4 addresses
// by the IPv4 address they carry.
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
	if reason := models.SpecialAddress(addr, g.AllowLoopback); reason != "" {
		return &BlockedError{Addr: addr, Reason: reason}
	}
	return nil
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
	if addr, canonical, ok := models.ParseIPLiteral(host); ok && !canonical {
		return &BlockedError{Addr: addr, Reason: fmt.Sprintf("host %q is an IP address in a non-standard form", host)}
	}
	return nil
}
