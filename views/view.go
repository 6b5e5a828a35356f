// Package views renders the console's pages with templ. Views take plain
// structs built by the handlers and never touch the database.
package views

import (
	"fmt"
	"strconv"
	"time"
)

// Page is what every signed-in page's layout needs.
type Page struct {
	Title    string
	Section  string // which tab is current: dashboard, users, inspect, webhooks, deliveries, events, keys, audit, sessions, operators; account has no tab
	Mode     string // SANDBOX or PRODUCTION
	Operator string // email
	Role     string
	CSRF     string
	CSS, JS  string // content-hashed asset URLs
	Now      time.Time
	Search   string // the search box's value
	Can      Perms
	Flash    *Flash
	// Refresh, when above zero, reloads the page after that many seconds
	// with a meta refresh: live without script while work is pending.
	Refresh int
}

// Perms says which actions the operator's role allows, so pages hide the rest.
type Perms struct {
	CreateUsers  bool
	RefreshToken bool
	RevokeTokens bool
	Keys         bool
	Operators    bool
	Endpoints    bool // create, edit, delete endpoints; see and rotate secrets; test; recover
	Resend       bool // resend one delivery
}

// Flash is a one-line outcome shown above the page's content.
type Flash struct {
	Kind string // ok, warn, bad, info
	Text string
}

// Sandbox reports whether the page shows SANDBOX data.
func (p Page) Sandbox() bool { return p.Mode != "PRODUCTION" }

// HasMode reports whether the page shows one mode's data: the team, the
// sessions, the audit log (every mode's entries) and one's account do not,
// so they carry no SANDBOX banner.
func (p Page) HasMode() bool {
	switch p.Section {
	case "operators", "sessions", "audit", "account":
		return false
	}
	return true
}

// ModeSection is where the mode switch returns to: the current section's list,
// since a detail page of one mode does not exist in the other.
func (p Page) ModeSection() string {
	switch p.Section {
	case "users":
		return "/users"
	case "inspect":
		return "/tokens/inspect"
	case "widget":
		return "/widget"
	case "keys":
		return "/keys"
	case "audit":
		return "/audit"
	case "sessions":
		return "/sessions"
	case "operators":
		return "/operators"
	case "webhooks":
		return "/webhooks"
	case "deliveries":
		return "/deliveries"
	case "events":
		return "/events"
	case "requests":
		return "/requests"
	case "account":
		return "/account"
	}
	return "/"
}

// Assets are the stylesheet and script URLs, for pages without a session.
type Assets struct{ CSS, JS string }

// ExactTime is the full time in the zone of now (the operator's), for the
// tooltip.
func ExactTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// exactIn is ExactTime in the zone of now: the operator's (UTC unless they
// chose one on their account page).
func exactIn(t, now time.Time) string {
	return t.In(now.Location()).Format("2006-01-02 15:04:05 MST")
}

// ShortTime is the absolute time shown beside a relative one, in the zone
// of now: "1 Dec 23:41", with the year when it is not this year's.
func ShortTime(t, now time.Time) string {
	t = t.In(now.Location())
	if t.Year() != now.Year() {
		return t.Format("2 Jan 2006 15:04")
	}
	return t.Format("2 Jan 15:04")
}

// ISOTime is the machine-readable form for <time datetime>.
func ISOTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Relative says how long before or after now t is, in the largest unit.
func Relative(t, now time.Time) string {
	d := now.Sub(t)
	if d > -5*time.Second && d < 5*time.Second {
		return "just now"
	}
	if d < 0 {
		return "in " + Span(-d)
	}
	return Span(d) + " ago"
}

// Span writes a duration the one way the console does: "12 s", "3 min",
// "4 h 59 min", "2 d 3 h", "30 d". The console's script writes the same
// (static/console.js, span), so a live time never changes its style.
func Span(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 60 {
		return strconv.FormatInt(s, 10) + " s"
	}
	m := s / 60
	if m < 60 {
		return strconv.FormatInt(m, 10) + " min"
	}
	h := m / 60
	if h < 48 {
		out := strconv.FormatInt(h, 10) + " h"
		if m%60 != 0 && h < 6 {
			out += " " + strconv.FormatInt(m%60, 10) + " min"
		}
		return out
	}
	days := h / 24
	out := strconv.FormatInt(days, 10) + " d"
	if h%24 != 0 && days < 7 {
		out += " " + strconv.FormatInt(h%24, 10) + " h"
	}
	return out
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// Count writes a count with thousands separators.
// CountAtLeast is Count with a "+" when counting stopped at n (a capped
// count): there are more.
func CountAtLeast(n int64, capped bool) string {
	if capped {
		return Count(n) + "+"
	}
	return Count(n)
}

func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func itoa(n int) string { return strconv.Itoa(n) }

// Plural is a count with its noun in the right number: "1 endpoint",
// "3 endpoints".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func ftoa(f float64) string { return fmt.Sprintf("%.1f", f) }

// StatusBadge maps a status word to a badge colour.
func StatusBadge(status string) string {
	switch status {
	case "active", "SUCCEEDED", "valid", "enabled", "live":
		return "ok"
	case "expired", "PENDING", "retired":
		return "warn"
	case "revoked", "FAILED", "RETRYING", "disabled", "invalid":
		return "bad"
	}
	return "muted"
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// auditTargetURL links an audit entry's target to its page, when it has one.
func auditTargetURL(targetType, id string) string {
	if id == "" {
		return ""
	}
	switch targetType {
	case "user":
		return "/users/" + id
	case "webhook":
		return "/webhooks/" + id
	case "delivery":
		return "/deliveries/" + id
	case "event":
		return "/events/" + id
	case "operator":
		return "/operators/" + id
	}
	return ""
}

// Latency is how long a request took, to a useful precision: "0.4 ms",
// "12 ms", "1.25 s".
func Latency(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

// CountNoun is Count with its noun in the right number: "1 endpoint",
// "12,000 endpoints".
func CountNoun(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Count(n) + " " + many
}
