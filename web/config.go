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

	"go.opentelemetry.io/otel/trace"

	"tokendesk/models"
	"tokendesk/webhooks"
)

// Config is everything the app can be told at start. Each field has a flag
// and a TOKENDESK_* environment variable; flags win.
type Config struct {
	Addr               string
	DBPath             string
	SecretKeyFile      string // master key sealing secrets at rest; beside the database when empty
	TenantID           string
	TokenTTL           time.Duration
	RateLimit          float64 // API requests per second per client IP; 0 turns it off
	WebhookTimeout     time.Duration
	WebhookInFlight    int             // webhook attempts in flight at once, in all
	WebhookPerEndpoint int             // attempts to one endpoint in flight at once, per process
	WebhookRetries     []time.Duration // waits between automatic attempts; nil for the default
	AllowPrivate       []netip.Prefix  // private ranges deliveries may reach in PRODUCTION
	WebhookProxy       *url.URL        // HTTP CONNECT proxy deliveries go through; nil for none
	TrustedProxies     []netip.Prefix  // peers whose X-Forwarded-* headers are believed
	TLSCert, TLSKey    string          // PEM files; both set serves HTTPS
	AdminEmail         string
	AdminPassword      string
	SessionIdle        time.Duration
	Retention          models.Retention // how long records are kept; 0 keeps forever
	Demo               bool             // serve the public widget demo page
	Metrics            bool             // serve /metrics in the Prometheus text format
	LogLevel           string
	// TracerProvider receives the spans; nil traces nothing. Not a flag:
	// the standard OTEL_* variables turn tracing on (see tracing.go).
	TracerProvider trace.TracerProvider
	noRequestLog   bool // benchmarks only: the same app without recording, to measure its cost
}

// DefaultConfig is the configuration with nothing set.
func DefaultConfig() Config {
	return Config{
		Addr: "127.0.0.1:8080", DBPath: "./tokendesk.db", TokenTTL: models.DefaultTokenTTL,
		RateLimit: 20, WebhookTimeout: 10 * time.Second, WebhookInFlight: webhooks.DefaultInFlight, WebhookPerEndpoint: webhooks.DefaultPerEndpoint,
		SessionIdle: 2 * time.Hour, LogLevel: "info", AdminEmail: "admin@localhost",
		Retention: models.DefaultRetention(),
	}
}

// option is one setting: its flag, its environment variable, what -h shows
// as its kind ("bool" makes it a boolean flag: --demo, --demo=false) and
// how to read it.
type option struct {
	name, env, kind, usage string
	def                    string
	set                    func(*Config, string) error
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
		{"addr", "TOKENDESK_ADDR", "host:port", "listen address (host:port)", d.Addr, func(c *Config, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("addr: %q is not host:port (example: 127.0.0.1:8080)", v)
			}
			c.Addr = v
			return nil
		}},
		{"db", "TOKENDESK_DB", "path", "SQLite database file (created when missing), or a postgres:// URL", d.DBPath, func(c *Config, v string) error {
			if strings.TrimSpace(v) == "" {
				return errors.New("db: the database path must not be empty")
			}
			c.DBPath = v
			return nil
		}},
		{"secret-key-file", "TOKENDESK_SECRET_KEY_FILE", "path", "master key file sealing secrets at rest (default: the database path + .key, created when missing)", "", func(c *Config, v string) error {
			c.SecretKeyFile = v
			return nil
		}},
		{"tenant-id", "TOKENDESK_TENANT_ID", "string", "tenant id used in user ids (generated and kept when empty)", "", func(c *Config, v string) error {
			if v != "" && !models.ValidTenantID(v) {
				return fmt.Errorf("tenant-id: %q must be 1 to 40 letters or digits", v)
			}
			c.TenantID = v
			return nil
		}},
		{"token-ttl", "TOKENDESK_TOKEN_TTL", "duration", "link token lifetime (Go duration, 1s to 720h)", d.TokenTTL.String(),
			dur("token-ttl", time.Second, 720*time.Hour, func(c *Config) *time.Duration { return &c.TokenTTL })},
		{"rate-limit", "TOKENDESK_RATE_LIMIT", "number", "API requests per second per client IP (0 = off)", "20", func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1e6 {
				return fmt.Errorf("rate-limit: %q must be a number from 0 (off) to 1000000", v)
			}
			c.RateLimit = f
			return nil
		}},
		{"webhook-timeout", "TOKENDESK_WEBHOOK_TIMEOUT", "duration", "timeout of one webhook attempt", d.WebhookTimeout.String(),
			dur("webhook-timeout", 100*time.Millisecond, 5*time.Minute, func(c *Config) *time.Duration { return &c.WebhookTimeout })},
		{"webhook-inflight", "TOKENDESK_WEBHOOK_INFLIGHT", "int", "webhook attempts in flight at once, in all", strconv.Itoa(d.WebhookInFlight), func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100000 {
				return fmt.Errorf("webhook-inflight: %q must be a whole number from 1 to 100000", v)
			}
			c.WebhookInFlight = n
			return nil
		}},
		{"webhook-workers", "TOKENDESK_WEBHOOK_WORKERS", "int", "replaced by --webhook-inflight", "", func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			return fmt.Errorf("webhook-workers: replaced by --webhook-inflight (TOKENDESK_WEBHOOK_INFLIGHT), the attempts in flight at once, %d by default", webhooks.DefaultInFlight)
		}},
		{"webhook-per-endpoint", "TOKENDESK_WEBHOOK_PER_ENDPOINT", "int", "webhook attempts in flight at once to any one endpoint", strconv.Itoa(d.WebhookPerEndpoint), func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > models.MaxWebhookMaxInFlight {
				return fmt.Errorf("webhook-per-endpoint: %q must be a whole number from 1 to %d", v, models.MaxWebhookMaxInFlight)
			}
			c.WebhookPerEndpoint = n
			return nil
		}},
		{"webhook-retries", "TOKENDESK_WEBHOOK_RETRIES", "durations", "comma-separated waits between webhook attempts (default: 5s,1m,5m,30m,2h,5h,10h,14h,20h,24h)", "", func(c *Config, v string) error {
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
		{"webhook-proxy", "TOKENDESK_WEBHOOK_PROXY", "URL", "HTTP CONNECT proxy every webhook delivery goes through (http://[user:password@]host:port)", "", func(c *Config, v string) error {
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
		{"allow-private", "TOKENDESK_ALLOW_PRIVATE", "CIDRs", "comma-separated CIDR ranges PRODUCTION webhooks may reach (internal networks)", "", func(c *Config, v string) (err error) {
			c.AllowPrivate, err = parsePrefixes("allow-private", v, false)
			return err
		}},
		{"trusted-proxies", "TOKENDESK_TRUSTED_PROXIES", "addresses", "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For/-Proto/-Host are believed (none when empty)", "", func(c *Config, v string) (err error) {
			c.TrustedProxies, err = parsePrefixes("trusted-proxies", v, true)
			return err
		}},
		{"tls-cert", "TOKENDESK_TLS_CERT", "path", "PEM certificate (chain) to serve HTTPS with; needs --tls-key", "", func(c *Config, v string) error {
			c.TLSCert = v
			return nil
		}},
		{"tls-key", "TOKENDESK_TLS_KEY", "path", "PEM private key of --tls-cert", "", func(c *Config, v string) error {
			c.TLSKey = v
			return nil
		}},
		{"admin-email", "TOKENDESK_ADMIN_EMAIL", "email", "email of the first admin, created when there is no operator", d.AdminEmail, func(c *Config, v string) error {
			c.AdminEmail = v
			return nil
		}},
		{"admin-password", "TOKENDESK_ADMIN_PASSWORD", "string", "password of the first admin (random when empty)", "", func(c *Config, v string) error {
			c.AdminPassword = v
			return nil
		}},
		{"session-idle", "TOKENDESK_SESSION_IDLE", "duration", "console sessions end after this long without use", d.SessionIdle.String(),
			dur("session-idle", time.Minute, 30*24*time.Hour, func(c *Config) *time.Duration { return &c.SessionIdle })},
		retain("tokens", "TOKENS", "expired link tokens, from their expiry", d.Retention.Tokens, func(c *Config) *time.Duration { return &c.Retention.Tokens }),
		retain("sessions", "SESSIONS", "ended console sessions, from their end", d.Retention.Sessions, func(c *Config) *time.Duration { return &c.Retention.Sessions }),
		retain("attempts", "ATTEMPTS", "webhook attempts, from their start", d.Retention.Attempts, func(c *Config) *time.Duration { return &c.Retention.Attempts }),
		retain("deliveries", "DELIVERIES", "finished webhook deliveries and their attempts, from their creation", d.Retention.Deliveries, func(c *Config) *time.Duration { return &c.Retention.Deliveries }),
		retain("events", "EVENTS", "events no delivery refers to, from their creation", d.Retention.Events, func(c *Config) *time.Duration { return &c.Retention.Events }),
		retain("requests", "REQUESTS", "the API request log's entries, from the request", d.Retention.Requests, func(c *Config) *time.Duration { return &c.Retention.Requests }),
		{"demo", "TOKENDESK_DEMO", "bool", "serve the public widget demo page at /demo", "false", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("demo: %q must be true or false", v)
			}
			c.Demo = b
			return nil
		}},
		{"metrics", "TOKENDESK_METRICS", "bool", "serve /metrics in the Prometheus text format", "false", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("metrics: %q must be true or false", v)
			}
			c.Metrics = b
			return nil
		}},
		{"log-level", "TOKENDESK_LOG_LEVEL", "level", "debug, info, warn or error", d.LogLevel, func(c *Config, v string) error {
			switch v {
			case "debug", "info", "warn", "error":
				c.LogLevel = v
				return nil
			}
			return fmt.Errorf("log-level: %q must be debug, info, warn or error", v)
		}},
	}
}

// retain is the option for one retention: a duration in days ("30d") or any
// Go duration, 0 to keep forever.
func retain(kind, envKind, what string, def time.Duration, dst func(*Config) *time.Duration) option {
	name := "retain-" + kind
	return option{name, "TOKENDESK_RETAIN_" + envKind, "duration", "how long to keep " + what + " (30d, 720h; 0 keeps forever)", formatDays(def),
		func(c *Config, v string) error {
			d, err := parseRetention(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not a retention; use days (30d), a Go duration (720h) or 0 to keep forever", name, v)
			}
			*dst(c) = d
			return nil
		}}
}

func parseRetention(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 36500 {
			return 0, errors.New("bad days")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

func formatDays(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

// ParseConfig reads flags from args and environment variables through
// getenv, validates everything and returns the rest of the arguments.
func ParseConfig(name string, args []string, getenv func(string) string, out io.Writer) (Config, []string, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	opts := options()
	values := make([]*optionValue, len(opts))
	for i, o := range opts {
		values[i] = &optionValue{text: o.def, boolean: o.kind == "bool"}
		fs.Var(values[i], o.name, o.usage)
		// After Var, so -h shows the built-in default, not the environment's.
		if v := getenv(o.env); v != "" {
			values[i].text = v
		}
	}
	fs.Usage = func() { printOptions(out, name, opts) }
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	for i, o := range opts {
		if err := o.set(&cfg, values[i].text); err != nil {
			return cfg, nil, err
		}
	}
	return cfg, fs.Args(), nil
}

// optionValue holds a setting's text until every source is read; a boolean
// one lets the flag stand alone (--demo) as well as take a value (--demo=false).
type optionValue struct {
	text    string
	boolean bool
}

func (v *optionValue) String() string {
	if v == nil {
		return ""
	}
	return v.text
}

func (v *optionValue) Set(s string) error { v.text = s; return nil }
func (v *optionValue) IsBoolFlag() bool   { return v != nil && v.boolean }

// printOptions is -h: each flag with its kind, what it does, its default and
// its environment variable.
func printOptions(w io.Writer, name string, opts []option) {
	fmt.Fprintf(w, "Usage of %s:\n", name)
	for _, o := range opts {
		arg := " " + o.kind
		if o.kind == "bool" {
			arg = "[=true|false]"
		}
		def := ""
		if o.def != "" {
			def = fmt.Sprintf(" (default %s)", o.def)
		}
		fmt.Fprintf(w, "  --%s%s\n        %s%s [%s]\n", o.name, arg, o.usage, def, o.env)
	}
}

// parsePrefixes reads a comma-separated list of CIDR ranges; with
// addresses, a bare address stands for itself alone.
func parsePrefixes(field, v string, addresses bool) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if addresses && !strings.Contains(part, "/") {
			ip, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not an address or a CIDR range (example: 10.0.0.5 or 10.20.0.0/16)", field, part)
			}
			ip = ip.Unmap()
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			if addresses {
				return nil, fmt.Errorf("%s: %q is not an address or a CIDR range (example: 10.0.0.5 or 10.20.0.0/16)", field, part)
			}
			return nil, fmt.Errorf("%s: %q is not a CIDR range (example: 10.20.0.0/16)", field, part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
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
