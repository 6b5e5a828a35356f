package web

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tokendesk/models"
	"tokendesk/webhooks"
)

// Config is everything the app can be told at start. Each field has a flag
// and a TOKENDESK_* environment variable; flags win.
type Config struct {
	Addr               string
	DBPath             string
	TenantID           string
	TokenTTL           time.Duration
	RateLimit          float64 // API requests per second per client IP; 0 turns it off
	WebhookTimeout     time.Duration
	WebhookInFlight    int             // webhook attempts in flight at once, in all
	WebhookPerEndpoint int             // attempts to one endpoint in flight at once, per process
	WebhookRetries     []time.Duration // waits between automatic attempts; nil for the default
	AllowPrivate       []netip.Prefix  // private ranges deliveries may reach in PRODUCTION
	WebhookProxy       *url.URL        // HTTP CONNECT proxy deliveries go through; nil for none
	AdminEmail         string
	AdminPassword      string
	SessionIdle        time.Duration
	Demo               bool // serve the public widget demo page
	Metrics            bool // serve /metrics in the Prometheus text format
	LogLevel           string
}

// DefaultConfig is the configuration with nothing set.
func DefaultConfig() Config {
	return Config{
		Addr: "127.0.0.1:8080", DBPath: "./tokendesk.db", TokenTTL: models.DefaultTokenTTL,
		RateLimit: 20, WebhookTimeout: 10 * time.Second, WebhookInFlight: webhooks.DefaultInFlight, WebhookPerEndpoint: webhooks.DefaultPerEndpoint,
		SessionIdle: 2 * time.Hour, LogLevel: "info",
	}
}

// option is one setting: its flag, its environment variable and how to read it.
type option struct {
	name, env, usage string
	def              string
	set              func(*Config, string) error
}

func options() []option {
	dur := func(field string, min, max time.Duration, dst func(*Config) *time.Duration) func(*Config, string) error {
		return func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not a duration (examples: 90s, 5h, 4s)", field, v)
			}
			if d < min || d > max {
				return fmt.Errorf("%s: %s is out of range; use %s to %s", field, d, min, max)
			}
			*dst(c) = d
			return nil
		}
	}
	d := DefaultConfig()
	return []option{
		{"addr", "TOKENDESK_ADDR", "listen address (host:port)", d.Addr, func(c *Config, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("addr: %q is not host:port (example: 127.0.0.1:8080)", v)
			}
			c.Addr = v
			return nil
		}},
		{"db", "TOKENDESK_DB", "SQLite database file (created when missing)", d.DBPath, func(c *Config, v string) error {
			if strings.TrimSpace(v) == "" {
				return errors.New("db: the database path must not be empty")
			}
			c.DBPath = v
			return nil
		}},
		{"tenant-id", "TOKENDESK_TENANT_ID", "tenant id used in user ids (generated and kept when empty)", "", func(c *Config, v string) error {
			if v != "" && !models.ValidTenantID(v) {
				return fmt.Errorf("tenant-id: %q must be 1 to 40 letters or digits", v)
			}
			c.TenantID = v
			return nil
		}},
		{"token-ttl", "TOKENDESK_TOKEN_TTL", "link token lifetime (Go duration, 1s to 720h)", d.TokenTTL.String(),
			dur("token-ttl", time.Second, 720*time.Hour, func(c *Config) *time.Duration { return &c.TokenTTL })},
		{"rate-limit", "TOKENDESK_RATE_LIMIT", "API requests per second per client IP (0 = off)", "20", func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1e6 {
				return fmt.Errorf("rate-limit: %q must be a number from 0 (off) to 1000000", v)
			}
			c.RateLimit = f
			return nil
		}},
		{"webhook-timeout", "TOKENDESK_WEBHOOK_TIMEOUT", "timeout of one webhook attempt", d.WebhookTimeout.String(),
			dur("webhook-timeout", 100*time.Millisecond, 5*time.Minute, func(c *Config) *time.Duration { return &c.WebhookTimeout })},
		{"webhook-inflight", "TOKENDESK_WEBHOOK_INFLIGHT", "webhook attempts in flight at once, in all", strconv.Itoa(d.WebhookInFlight), func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100000 {
				return fmt.Errorf("webhook-inflight: %q must be a whole number from 1 to 100000", v)
			}
			c.WebhookInFlight = n
			return nil
		}},
		{"webhook-workers", "TOKENDESK_WEBHOOK_WORKERS", "replaced by --webhook-inflight", "", func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			return fmt.Errorf("webhook-workers: replaced by --webhook-inflight (TOKENDESK_WEBHOOK_INFLIGHT), the attempts in flight at once, %d by default", webhooks.DefaultInFlight)
		}},
		{"webhook-per-endpoint", "TOKENDESK_WEBHOOK_PER_ENDPOINT", "webhook attempts in flight at once to any one endpoint", strconv.Itoa(d.WebhookPerEndpoint), func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > models.MaxWebhookMaxInFlight {
				return fmt.Errorf("webhook-per-endpoint: %q must be a whole number from 1 to %d", v, models.MaxWebhookMaxInFlight)
			}
			c.WebhookPerEndpoint = n
			return nil
		}},
		{"webhook-retries", "TOKENDESK_WEBHOOK_RETRIES", "comma-separated waits between webhook attempts (default: 5s,1m,5m,30m,2h,5h,10h,14h,20h,24h)", "", func(c *Config, v string) error {
			c.WebhookRetries = nil
			for _, part := range strings.Split(v, ",") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				d, err := time.ParseDuration(part)
				if err != nil || d <= 0 {
					return fmt.Errorf("webhook-retries: %q is not a positive duration (example: 5s,1m,1h)", part)
				}
				c.WebhookRetries = append(c.WebhookRetries, d)
			}
			return nil
		}},
		{"webhook-proxy", "TOKENDESK_WEBHOOK_PROXY", "HTTP CONNECT proxy every webhook delivery goes through (http://[user:password@]host:port)", "", func(c *Config, v string) error {
			c.WebhookProxy = nil
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || u.Scheme != "http" || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
				return fmt.Errorf("webhook-proxy: %q is not a proxy address; give http://host:port", redactURL(v))
			}
			c.WebhookProxy = u
			return nil
		}},
		{"allow-private", "TOKENDESK_ALLOW_PRIVATE", "comma-separated CIDR ranges PRODUCTION webhooks may reach (internal networks)", "", func(c *Config, v string) error {
			c.AllowPrivate = nil
			for _, part := range strings.Split(v, ",") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				p, err := netip.ParsePrefix(part)
				if err != nil {
					return fmt.Errorf("allow-private: %q is not a CIDR range (example: 10.20.0.0/16)", part)
				}
				c.AllowPrivate = append(c.AllowPrivate, p.Masked())
			}
			return nil
		}},
		{"admin-email", "TOKENDESK_ADMIN_EMAIL", "email of the first admin, created when there is no operator", "", func(c *Config, v string) error {
			c.AdminEmail = v
			return nil
		}},
		{"admin-password", "TOKENDESK_ADMIN_PASSWORD", "password of the first admin (random when empty)", "", func(c *Config, v string) error {
			c.AdminPassword = v
			return nil
		}},
		{"session-idle", "TOKENDESK_SESSION_IDLE", "console sessions end after this long without use", d.SessionIdle.String(),
			dur("session-idle", time.Minute, 30*24*time.Hour, func(c *Config) *time.Duration { return &c.SessionIdle })},
		{"demo", "TOKENDESK_DEMO", "serve the public widget demo page at /demo (true/false)", "false", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("demo: %q must be true or false", v)
			}
			c.Demo = b
			return nil
		}},
		{"metrics", "TOKENDESK_METRICS", "serve /metrics in the Prometheus text format (true/false)", "false", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("metrics: %q must be true or false", v)
			}
			c.Metrics = b
			return nil
		}},
		{"log-level", "TOKENDESK_LOG_LEVEL", "debug, info, warn or error", d.LogLevel, func(c *Config, v string) error {
			switch v {
			case "debug", "info", "warn", "error":
				c.LogLevel = v
				return nil
			}
			return fmt.Errorf("log-level: %q must be debug, info, warn or error", v)
		}},
	}
}

// ParseConfig reads flags from args and environment variables through
// getenv, validates everything and returns the rest of the arguments.
func ParseConfig(name string, args []string, getenv func(string) string, out io.Writer) (Config, []string, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	opts := options()
	values := make([]*string, len(opts))
	for i, o := range opts {
		def := o.def
		if v := getenv(o.env); v != "" {
			def = v
		}
		values[i] = fs.String(o.name, def, o.usage+" ["+o.env+"]")
	}
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	for i, o := range opts {
		if err := o.set(&cfg, *values[i]); err != nil {
			return cfg, nil, err
		}
	}
	return cfg, fs.Args(), nil
}

// redactURL hides a password in a URL given on the command line, for
// error messages.
func redactURL(v string) string {
	if u, err := url.Parse(v); err == nil {
		return u.Redacted()
	}
	if at := strings.LastIndex(v, "@"); at >= 0 {
		return "…" + v[at:]
	}
	return v
}
