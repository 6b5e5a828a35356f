package webhooks

import (
	"net/http"
	"testing"
	"time"
)

func TestBackoffNext(t *testing.T) {
	b := Backoff{Schedule: DefaultSchedule}
	tests := []struct {
		name string
		done int
		want time.Duration
		ok   bool
	}{
		{"after the first attempt it waits 5 seconds", 1, 5 * time.Second, true},
		{"after the second it waits a minute", 2, time.Minute, true},
		{"after the tenth it waits a day", 10, 24 * time.Hour, true},
		{"after the eleventh it gives up", 11, 0, false},
		{"a manual attempt before any automatic one uses the first wait", 0, 5 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := b.Next(tt.done)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("got %s, %v; want %s, %v", got, ok, tt.want, tt.ok)
			}
		})
	}

	t.Run("the default schedule spans about three days", func(t *testing.T) {
		var total time.Duration
		for _, d := range DefaultSchedule {
			total += d
		}
		if total < 72*time.Hour || total > 80*time.Hour {
			t.Fatalf("got %s", total)
		}
	})

	t.Run("jitter stays within its fraction", func(t *testing.T) {
		for _, f := range []float64{0, 0.5, 0.999} {
			jb := Backoff{Schedule: []time.Duration{time.Minute}, Jitter: 0.1, Float: func() float64 { return f }}
			got, _ := jb.Next(1)
			if got < 54*time.Second || got > 66*time.Second {
				t.Fatalf("random %.3f: got %s, want within 54s..66s", f, got)
			}
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
		ok    bool
	}{
		{"seconds are read as seconds", "120", 2 * time.Minute, true},
		{"zero becomes the one-second floor", "0", time.Second, true},
		{"a huge value is capped at a day", "99999999999999999999", 24 * time.Hour, true},
		{"more than a day is capped at a day", "90000", 24 * time.Hour, true},
		{"an HTTP date is read relative to now", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"a date in the past becomes the floor", now.Add(-time.Hour).Format(http.TimeFormat), time.Second, true},
		{"a negative number says nothing", "-5", 0, false},
		{"a fraction says nothing", "1.5", 0, false},
		{"words say nothing", "later", 0, false},
		{"empty says nothing", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.value, now)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("got %s, %v; want %s, %v", got, ok, tt.want, tt.ok)
			}
		})
	}

	t.Run("only 429 and 503 answers are read", func(t *testing.T) {
		h := http.Header{"Retry-After": {"10"}}
		for status, want := range map[int]bool{429: true, 503: true, 500: false, 200: false, 301: false} {
			if _, ok := RetryAfter(status, h, now); ok != want {
				t.Fatalf("status %d: got %v, want %v", status, ok, want)
			}
		}
	})
}

// FuzzParseRetryAfter: the header comes from the receiver, so whatever it
// holds must give a wait within bounds or none at all, never a panic.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "1e9", " 5 ", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, now)
		if ok && (d < MinRetryAfter || d > MaxRetryAfter) {
			t.Fatalf("%q gave %s, outside [%s, %s]", v, d, MinRetryAfter, MaxRetryAfter)
		}
		if !ok && d != 0 {
			t.Fatalf("%q gave %s without ok", v, d)
		}
	})
}
