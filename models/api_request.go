package models

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// APIRequest is one request to the API as the request log keeps it: who
// sent it (the key, never its secret), what it asked, which user it was
// about, and how it was answered. ID is the request id the envelope and
// X-Request-Id carry, so a customer's error report leads straight to it.
type APIRequest struct {
	ID           string `gorm:"primaryKey"`
	Mode         Mode
	APIKeyID     string `gorm:"column:api_key_id"`
	APIKey       string `gorm:"column:api_key"`
	Method       string
	Path         string
	Query        string
	UserID       string
	Status       int
	ErrorCode    string
	ErrorMessage string
	DurationUS   int64 `gorm:"column:duration_us"`
	// RequestBody is kept for writes, with secrets redacted (RedactBody).
	RequestBody string
	IP          string    `gorm:"column:ip"`
	CreatedAt   time.Time `gorm:"serializer:ms"`
}

// TableName is the request log's table.
func (APIRequest) TableName() string { return "api_requests" }

// DefaultRequestRetention is how long the request log keeps a request.
const DefaultRequestRetention = 14 * 24 * time.Hour

// maxLoggedBody bounds a stored request body; the API takes up to 1 MiB,
// and support needs the start of it, not all of it.
const maxLoggedBody = 8 << 10

// redactedKeys are the JSON keys whose values never reach the log, in
// lower case: what the API takes as secrets now, and what a client might
// send by mistake.
var redactedKeys = []string{"secret", "password", "token", "accesstoken", "refreshtoken", "authorization", "apikey", "privatekey"}

// Redacted is what a secret's value becomes in the log.
const Redacted = "[redacted]"

// RedactBody is a request body as the log keeps it: JSON with every value
// under a secret-like key (at any depth) replaced by Redacted, indented
// compactly; anything else is described, not stored, since a body that is
// not JSON cannot be searched for secrets.
func RedactBody(body []byte) string {
	if len(strings.TrimSpace(string(body))) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Sprintf("(%d bytes that are not JSON; not kept)", len(body))
	}
	out, err := json.Marshal(redact(v))
	if err != nil {
		return fmt.Sprintf("(%d bytes; not kept)", len(body))
	}
	if len(out) > maxLoggedBody {
		return string(out[:maxLoggedBody]) + "… (" + strconv.Itoa(len(out)) + " bytes, cut)"
	}
	return string(out)
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if secretKey(k) {
				t[k] = Redacted
			} else {
				t[k] = redact(val)
			}
		}
	case []any:
		for i := range t {
			t[i] = redact(t[i])
		}
	}
	return v
}

func secretKey(k string) bool {
	l := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(k))
	if strings.HasSuffix(l, "secret") || strings.HasSuffix(l, "password") {
		return true
	}
	for _, s := range redactedKeys {
		if l == s {
			return true
		}
	}
	return false
}

// APIRequestFilter narrows the request log. Nil fields do not filter.
type APIRequestFilter struct {
	Status        *StatusClass
	PathPrefix    *string
	APIKeyID      *string
	UserID        *string
	CreatedFrom   *time.Time // inclusive
	CreatedBefore *time.Time // exclusive
	Size          int
	Cursor        *Cursor
}

// StatusClass filters requests by how they were answered: "errors" (400 and
// above), a class ("2xx", "4xx", "5xx") or one status ("404").
type StatusClass struct{ Lo, Hi int }

// ParseStatusClass reads the status filter of the request log.
func ParseStatusClass(s string) (*StatusClass, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return nil, nil
	case s == "errors":
		return &StatusClass{400, 599}, nil
	case len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '5':
		lo := int(s[0]-'0') * 100
		return &StatusClass{lo, lo + 99}, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 100 && n <= 599 {
		return &StatusClass{n, n}, nil
	}
	return nil, FieldError("status", "status must be errors, a class such as 4xx, or a status such as 404, got %q", truncate(s, 20))
}

// Errors reports whether the class holds only error statuses, which the
// errors index serves.
func (c StatusClass) Errors() bool { return c.Lo >= 400 }

// APIRequestPage is one page of the request log, newest first.
type APIRequestPage struct {
	Items      []APIRequest
	NextCursor string
}
