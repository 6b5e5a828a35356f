package models

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseExternalMetadata(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		field string // the field the error names; empty when valid
		pairs int
	}{
		{"accepts five string pairs", `{"a":"1","b":"2","c":"3","d":"4","e":"5"}`, "", 5},
		{"accepts an empty object", `{}`, "", 0},
		{"accepts a missing value", ``, "", 0},
		{"accepts null", `null`, "", 0},
		{"accepts a value of exactly 500 characters", `{"k":"` + strings.Repeat("v", 500) + `"}`, "", 1},
		{"accepts a key of exactly 50 characters", `{"` + strings.Repeat("k", 50) + `":"v"}`, "", 1},
		{"accepts escaped ASCII", `{"k":"a\"b\\c\n"}`, "", 1},
		{"refuses six pairs", `{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6"}`, "externalMetadata", 0},
		{"refuses a key of 51 characters", `{"` + strings.Repeat("k", 51) + `":"v"}`, "externalMetadata." + strings.Repeat("k", 51), 0},
		{"refuses a value of 501 characters", `{"k":"` + strings.Repeat("v", 501) + `"}`, "externalMetadata.k", 0},
		{"refuses a non-ASCII value", `{"k":"café"}`, "externalMetadata.k", 0},
		{"refuses a non-ASCII value written as an escape", `{"k":"caf\u00e9"}`, "externalMetadata.k", 0},
		{"refuses a non-ASCII key", `{"clé":"v"}`, "externalMetadata.clé", 0},
		{"refuses an empty key", `{"":"v"}`, "externalMetadata", 0},
		{"refuses a number", `{"k":1}`, "externalMetadata.k", 0},
		{"refuses a boolean", `{"k":true}`, "externalMetadata.k", 0},
		{"refuses null as a value", `{"k":null}`, "externalMetadata.k", 0},
		{"refuses a nested object", `{"k":{"a":"b"}}`, "externalMetadata.k", 0},
		{"refuses an array", `["a"]`, "externalMetadata", 0},
		{"refuses a string", `"a"`, "externalMetadata", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := ParseExternalMetadata(json.RawMessage(tt.raw))
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if got, want := len(md), tt.pairs; got != want {
					t.Errorf("got %d pairs, want %d", got, want)
				}
				return
			}
			e, ok := AsError(err)
			if !ok {
				t.Fatalf("got %v, want a field error", err)
			}
			if got, want := e.Field, tt.field; got != want {
				t.Errorf("field: got %q, want %q", got, want)
			}
			if got, want := e.Code, CodeInvalidParameters; got != want {
				t.Errorf("code: got %s, want %s", got, want)
			}
		})
	}
}

func FuzzParseExternalMetadata(f *testing.F) {
	for _, seed := range []string{`{"crm":"42"}`, `{}`, `null`, `{"a":{"b":"c"}}`, `{"a":"\u00e9"}`, `[1]`, `{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6"}`, `{"a":`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		md, err := ParseExternalMetadata(json.RawMessage(raw))
		if err != nil {
			if _, ok := AsError(err); !ok {
				t.Fatalf("error is not a domain error: %v", err)
			}
			return
		}
		if err := md.Validate(); err != nil {
			t.Fatalf("accepted metadata fails validation: %v", err)
		}
	})
}
