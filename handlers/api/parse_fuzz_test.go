package api

import (
	"encoding/base64"
	"testing"

	"tokendesk/models"
)

// The request parsers take raw client input: whatever arrives, they return
// a value or a domain error, and never panic.

func FuzzParseCreateUser(f *testing.F) {
	f.Add("application/json", `{"externalMetadata":{"crm":"42"}}`)
	f.Add("application/json", `{"externalMetadata":{"a":{"b":1}}}`)
	f.Add("application/json; charset=utf-8", `{"externalMetadata":null} `)
	f.Add("text/plain", `crm=42`)
	f.Add("", `[1,2,3]`)
	f.Add("application/json", `{"externalMetadata":{"k":"\u00e9"}}{}`)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		md, err := parseCreateUser(contentType, []byte(body))
		if err != nil {
			if _, ok := models.AsError(err); !ok {
				t.Fatalf("not a domain error: %v", err)
			}
			return
		}
		if err := md.Validate(); err != nil {
			t.Fatalf("accepted invalid metadata: %v", err)
		}
	})
}

func FuzzParseBasicAuth(f *testing.F) {
	f.Add("Basic " + base64.StdEncoding.EncodeToString([]byte("sk_test_1:secret")))
	f.Add("Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")))
	f.Add("Bearer abc")
	f.Add("basic !!!")
	f.Fuzz(func(t *testing.T, header string) {
		key, secret, ok := ParseBasicAuth(header)
		if ok && (key == "" || secret == "") {
			t.Fatalf("accepted empty credentials from %q", header)
		}
	})
}

func FuzzParseUserListQuery(f *testing.F) {
	f.Add("10", "", "2026-01-01", "2026-01-31")
	f.Add("0", "OjEyMw", "x", "")
	f.Add("150", "MTcwMDAwMDAwMDAwMDphY21lLTAw", "", "2026-13-01")
	f.Fuzz(func(t *testing.T, size, cursor, start, end string) {
		q, err := parseUserListQuery(size, cursor, start, end)
		if err != nil {
			if _, ok := models.AsError(err); !ok {
				t.Fatalf("not a domain error: %v", err)
			}
			return
		}
		if q.Size < 1 || q.Size > models.MaxPageSize {
			t.Fatalf("accepted size %d", q.Size)
		}
	})
}
