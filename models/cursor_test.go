package models

import (
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{At: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC), ID: "acme-0123456789abcdef0123456789abcdef"}
	got, err := DecodeCursor(c.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !got.At.Equal(c.At) || got.ID != c.ID {
		t.Errorf("got %+v, want %+v", got, c)
	}
}

func TestDecodeCursorRefusesForgeries(t *testing.T) {
	for _, s := range []string{"bogus!", "MTIz", "LTE6eA", "eDp5", "OjEyMw"} {
		t.Run("refuses "+s, func(t *testing.T) {
			if _, err := DecodeCursor(s); err == nil {
				t.Errorf("accepted %q", s)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{{"", 10, true}, {"1", 1, true}, {"150", 150, true}, {"0", 0, false}, {"151", 0, false}, {"-1", 0, false}, {"1e2", 0, false}, {"ten", 0, false}}
	for _, tt := range tests {
		t.Run("reads "+tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseSize(%q) = %d, %v", tt.in, got, err)
			}
		})
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(Cursor{At: time.Unix(1700000000, 0), ID: "acme-00"}.Encode())
	f.Add("")
	f.Add("OjEyMw")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor(s)
		if err != nil || c == nil {
			return
		}
		again, err := DecodeCursor(c.Encode())
		if err != nil || !again.At.Equal(c.At) || again.ID != c.ID {
			t.Fatalf("a decoded cursor does not survive a round trip: %q", s)
		}
	})
}
