package models

import (
	"crypto/rand"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"testing"
	"time"
)

func TestHeadersJSON(t *testing.T) {
	tests := []struct {
		name string
		h    map[string]string
	}{
		{"no headers encode as an empty object", nil},
		{"plain headers encode in key order", map[string]string{"Webhook-Id": "abc", "Content-Type": "application/json"}},
		{"quotes, backslashes and control characters are escaped", map[string]string{"X": "a\"b\\c\n\x01\t"}},
		{"invalid UTF-8 becomes the replacement character", map[string]string{"X": "a\xffb", "Y": "naïve ✓"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := headersJSON(tt.h)
			var back map[string]string
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatalf("%s is not JSON: %v", got, err)
			}
			// encoding/json is the reference: what it would store must read back the same.
			ref, _ := json.Marshal(tt.h)
			var want map[string]string
			json.Unmarshal(ref, &want)
			if len(tt.h) > 0 && !maps.Equal(back, want) {
				t.Fatalf("%s decodes to %v, want %v", got, back, want)
			}
		})
	}
}

func TestOrderedID(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	a, b := orderedID(rand.Reader, t0), orderedID(rand.Reader, t0.Add(time.Millisecond))
	if !LooksLikeObjectID(a) || !LooksLikeObjectID(b) {
		t.Fatalf("not 32 hex: %s %s", a, b)
	}
	if a >= b {
		t.Fatalf("ids made later sort earlier: %s then %s", a, b)
	}
	if a[:12] != "018bcfe56800" {
		t.Fatalf("time prefix: got %s", a[:12])
	}
}

func TestClaimsSortByDue(t *testing.T) {
	claims := []Claim{{Number: 1}, {Number: 2}, {Number: 3}, {Number: 4}}
	due := []int64{30, 10, 30, 20}
	sort.Stable(byDue{claims, due})
	var got []int
	for _, c := range claims {
		got = append(got, c.Number)
	}
	if want := []int{2, 4, 1, 3}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v: earliest due first, ties in the order returned", got, want)
	}
}

// FuzzAppendJSONString checks the hand-written encoder against
// encoding/json: whatever the string, the output is JSON that decodes to
// it (invalid UTF-8 read as U+FFFD, as encoding/json does).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c\n\x01\t", "a\xffb", "naïve ✓", "\x7f<>&\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q encodes to %s, which is not JSON: %v", s, got, err)
		}
		ref, _ := json.Marshal(s)
		var want string
		json.Unmarshal(ref, &want)
		if back != want {
			t.Fatalf("%q encodes to %s, which decodes to %q, want %q", s, got, back, want)
		}
	})
}
