package web

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(Config) bool
		err   string
	}{
		{name: "uses the defaults with nothing set", check: func(c Config) bool {
			return c.Addr == "127.0.0.1:8080" && c.DBPath == "./tokendesk.db" && c.TokenTTL == 5*time.Hour && c.RateLimit == 20
		}},
		{name: "reads the environment", env: map[string]string{"TOKENDESK_ADDR": ":9000", "TOKENDESK_TOKEN_TTL": "4s", "TOKENDESK_RATE_LIMIT": "0"},
			check: func(c Config) bool { return c.Addr == ":9000" && c.TokenTTL == 4*time.Second && c.RateLimit == 0 }},
		{name: "lets flags win over the environment", args: []string{"--db", "/tmp/x.db"}, env: map[string]string{"TOKENDESK_DB": "/tmp/y.db"},
			check: func(c Config) bool { return c.DBPath == "/tmp/x.db" }},
		{name: "accepts a one-second token lifetime", args: []string{"--token-ttl", "1s"}, check: func(c Config) bool { return c.TokenTTL == time.Second }},
		{name: "reads private ranges", args: []string{"--allow-private", "10.20.0.0/16, 192.168.1.0/24"}, check: func(c Config) bool { return len(c.AllowPrivate) == 2 }},
		{name: "caps attempts per webhook endpoint at 64 by default", check: func(c Config) bool { return c.WebhookPerEndpoint == 64 }},
		{name: "keeps 1000 webhook attempts in flight by default", check: func(c Config) bool { return c.WebhookInFlight == 1000 }},
		{name: "reads the in-flight budget from a flag", args: []string{"--webhook-inflight", "5000"}, check: func(c Config) bool { return c.WebhookInFlight == 5000 }},
		{name: "reads the webhook proxy from the environment", env: map[string]string{"TOKENDESK_WEBHOOK_PROXY": "http://egress:4750"},
			check: func(c Config) bool { return c.WebhookProxy != nil && c.WebhookProxy.Host == "egress:4750" }},
		{name: "refuses a proxy that is not http://host:port, hiding its password", args: []string{"--webhook-proxy", "socks5://u:secretpw@h:1"}, err: "webhook-proxy"},
		{name: "says what replaced --webhook-workers", args: []string{"--webhook-workers", "32"}, err: "webhook-inflight"},
		{name: "refuses an in-flight budget of zero", args: []string{"--webhook-inflight", "0"}, err: "webhook-inflight"},
		{name: "reads the per-endpoint cap from the environment", env: map[string]string{"TOKENDESK_WEBHOOK_PER_ENDPOINT": "3"},
			check: func(c Config) bool { return c.WebhookPerEndpoint == 3 }},
		{name: "refuses a per-endpoint cap of zero", args: []string{"--webhook-per-endpoint", "0"}, err: "webhook-per-endpoint"},
		{name: "refuses a token lifetime under a second", args: []string{"--token-ttl", "500ms"}, err: "token-ttl"},
		{name: "refuses a lifetime that is not a duration", args: []string{"--token-ttl", "5 hours"}, err: "not a duration"},
		{name: "refuses an address without a port", args: []string{"--addr", "localhost"}, err: "host:port"},
		{name: "refuses a negative rate limit", env: map[string]string{"TOKENDESK_RATE_LIMIT": "-1"}, err: "rate-limit"},
		{name: "refuses a tenant id with a dash", args: []string{"--tenant-id", "a-b"}, err: "tenant-id"},
		{name: "refuses a range that is not CIDR", args: []string{"--allow-private", "10.0.0.0"}, err: "CIDR"},
		{name: "refuses an unknown flag", args: []string{"--nope"}, err: "nope"},
		{name: "takes a boolean flag alone", args: []string{"--demo"}, check: func(c Config) bool { return c.Demo && !c.Metrics }},
		{name: "takes two boolean flags in a row", args: []string{"--demo", "--metrics"}, check: func(c Config) bool { return c.Demo && c.Metrics }},
		{name: "takes a boolean flag set to false", args: []string{"--demo=false"}, env: map[string]string{"TOKENDESK_DEMO": "true"},
			check: func(c Config) bool { return !c.Demo }},
		{name: "reads a boolean from the environment", env: map[string]string{"TOKENDESK_METRICS": "true"}, check: func(c Config) bool { return c.Metrics }},
		{name: "refuses a boolean that is not one", env: map[string]string{"TOKENDESK_DEMO": "yes please"}, err: "true or false"},
		{name: "names the first admin admin@localhost by default", check: func(c Config) bool { return c.AdminEmail == "admin@localhost" }},
		{name: "reads trusted proxies as addresses and ranges", args: []string{"--trusted-proxies", "10.0.0.5, 192.168.0.0/16"},
			check: func(c Config) bool {
				return len(c.TrustedProxies) == 2 && c.TrustedProxies[0].String() == "10.0.0.5/32" && c.TrustedProxies[1].String() == "192.168.0.0/16"
			}},
		{name: "refuses a trusted proxy that is not an address", args: []string{"--trusted-proxies", "proxy.local"}, err: "trusted-proxies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := ParseConfig("test", tt.args, env(tt.env), io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got error %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Errorf("unexpected config: %+v", cfg)
			}
		})
	}
}

func TestHelpShowsKindsDefaultsAndVariables(t *testing.T) {
	var out strings.Builder
	_, _, err := ParseConfig("tokendesk serve", []string{"-h"}, func(k string) string {
		if k == "TOKENDESK_ADDR" {
			return "0.0.0.0:9999" // the environment is not the default
		}
		return ""
	}, &out)
	if err == nil {
		t.Fatal("-h did not stop parsing")
	}
	help := out.String()
	for _, want := range []string{
		"--addr host:port", "(default 127.0.0.1:8080) [TOKENDESK_ADDR]",
		"--token-ttl duration", "(default 5h0m0s)",
		"--demo[=true|false]", "--metrics[=true|false]",
		"--admin-email email", "(default admin@localhost) [TOKENDESK_ADMIN_EMAIL]",
		"--webhook-per-endpoint int",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("-h lacks %q:\n%s", want, help)
		}
	}
	if strings.Contains(help, "0.0.0.0:9999") {
		t.Error("-h shows the environment's value as the default")
	}
}
