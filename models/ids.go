package models

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"regexp"
)

// randomHex returns n random bytes as lowercase hex, read from r.
func randomHex(r io.Reader, n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		// crypto/rand does not fail on supported platforms; a test reader
		// that runs dry is a bug in the test.
		panic("read random bytes: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// NewID returns 32 random hex characters, the contract's object id shape.
func NewID() string { return randomHex(rand.Reader, 16) }

var (
	hex32      = `[0-9a-f]{32}`
	userIDRe   = regexp.MustCompile(`^[A-Za-z0-9]{1,40}-` + hex32 + `$`)
	tokenIDRe  = regexp.MustCompile(`^tk-` + hex32 + `$`)
	objectIDRe = regexp.MustCompile(`^` + hex32 + `$`)
	tenantIDRe = regexp.MustCompile(`^[A-Za-z0-9]{1,40}$`)
)

// LooksLikeUserID reports whether s has the shape <tenantId>-<32 hex>.
func LooksLikeUserID(s string) bool { return userIDRe.MatchString(s) }

// LooksLikeTokenID reports whether s has the shape tk-<32 hex>.
func LooksLikeTokenID(s string) bool { return tokenIDRe.MatchString(s) }

// LooksLikeObjectID reports whether s is 32 hex characters (events, endpoints, deliveries).
func LooksLikeObjectID(s string) bool { return objectIDRe.MatchString(s) }

// ValidTenantID reports whether s can be used as the tenant part of user ids.
func ValidTenantID(s string) bool { return tenantIDRe.MatchString(s) }
