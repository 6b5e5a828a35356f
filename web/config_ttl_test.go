package web_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"tokendesk/web"
)

// Short lifetimes let tests and the emulator watch tokens expire, so
// --token-ttl must accept any Go duration down to one second.
func TestTokenTTLConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    time.Duration
		wantErr string
	}{
		{name: "the default is the contract's five hours", want: 5 * time.Hour},
		{name: "four seconds is accepted from the flag", args: []string{"--token-ttl", "4s"}, want: 4 * time.Second},
		{name: "one second is the shortest lifetime", args: []string{"--token-ttl=1s"}, want: time.Second},
		{name: "the environment variable sets it too", env: map[string]string{"TOKENDESK_TOKEN_TTL": "90s"}, want: 90 * time.Second},
		{name: "the flag wins over the environment", args: []string{"--token-ttl", "3s"}, env: map[string]string{"TOKENDESK_TOKEN_TTL": "90s"}, want: 3 * time.Second},
		{name: "less than a second is refused with the range", args: []string{"--token-ttl", "999ms"}, wantErr: "use 1s to 720h0m0s"},
		{name: "zero is refused", args: []string{"--token-ttl", "0s"}, wantErr: "out of range"},
		{name: "a bare number is refused with examples", args: []string{"--token-ttl", "4"}, wantErr: "is not a duration (examples: 90s, 5h, 4s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			cfg, _, err := web.ParseConfig("tokendesk", tt.args, getenv, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := cfg.TokenTTL, tt.want; got != want {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}
