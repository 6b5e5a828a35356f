package models

import (
	"bytes"
	"encoding/json"
	"sort"
)

// Metadata is a user's externalMetadata: the customer's own string pairs.
type Metadata map[string]string

// The contract's limits on externalMetadata.
const (
	MaxMetadataPairs    = 5
	MaxMetadataKeyLen   = 50
	MaxMetadataValueLen = 500
)

// ParseExternalMetadata reads the externalMetadata JSON value of a request
// and applies the contract's rules. A missing or null value is an empty map.
func ParseExternalMetadata(raw json.RawMessage) (Metadata, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return Metadata{}, nil
	}
	if raw[0] != '{' {
		return nil, FieldError("externalMetadata", "externalMetadata must be an object of string values")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, FieldError("externalMetadata", "externalMetadata must be an object of string values")
	}
	md := make(Metadata, len(fields))
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := bytes.TrimSpace(fields[k])
		if len(v) == 0 || v[0] != '"' {
			return nil, FieldError("externalMetadata."+k, "externalMetadata.%s must be a string (nested objects, numbers and booleans are not allowed)", k)
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, FieldError("externalMetadata."+k, "externalMetadata.%s must be a string", k)
		}
		md[k] = s
	}
	return md, md.Validate()
}

// Validate applies the contract's rules: at most 5 pairs, ASCII only, keys of
// 1 to 50 characters, values of at most 500.
func (md Metadata) Validate() error {
	if len(md) > MaxMetadataPairs {
		return FieldError("externalMetadata", "externalMetadata has %d pairs; at most %d are allowed", len(md), MaxMetadataPairs)
	}
	for _, k := range md.Keys() {
		v := md[k]
		switch {
		case k == "":
			return FieldError("externalMetadata", "externalMetadata keys must not be empty")
		case len(k) > MaxMetadataKeyLen:
			return FieldError("externalMetadata."+k, "externalMetadata key %q is %d characters; at most %d are allowed", truncate(k, 20), len(k), MaxMetadataKeyLen)
		case !isASCII(k):
			return FieldError("externalMetadata."+k, "externalMetadata key %q must use ASCII characters only", k)
		case len(v) > MaxMetadataValueLen:
			return FieldError("externalMetadata."+k, "externalMetadata.%s is %d characters; at most %d are allowed", k, len(v), MaxMetadataValueLen)
		case !isASCII(v):
			return FieldError("externalMetadata."+k, "externalMetadata.%s must use ASCII characters only", k)
		}
	}
	return nil
}

// Keys returns the keys in sorted order, for stable display and output.
func (md Metadata) Keys() []string {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > 0x7f {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
