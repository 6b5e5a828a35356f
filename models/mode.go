package models

import "strings"

// Mode separates test data from live data. Every row that belongs to a mode
// carries it, and every query is scoped through ScopeMode.
type Mode string

const (
	Sandbox    Mode = "SANDBOX"
	Production Mode = "PRODUCTION"
)

// Modes lists the modes in display order.
var Modes = []Mode{Sandbox, Production}

// ParseMode accepts a mode name in any letter case.
func ParseMode(s string) (Mode, error) {
	switch Mode(strings.ToUpper(strings.TrimSpace(s))) {
	case Sandbox:
		return Sandbox, nil
	case Production:
		return Production, nil
	}
	return "", FieldError("mode", "mode must be SANDBOX or PRODUCTION, got %q", s)
}

func (m Mode) Valid() bool { return m == Sandbox || m == Production }

func (m Mode) String() string { return string(m) }
