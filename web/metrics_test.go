package web

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	t.Run("are not served unless asked for", func(t *testing.T) {
		ta := newTestApp(t, nil)
		resp, err := ta.Fiber().Test(httptest.NewRequest("GET", "/metrics", nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 200 {
			t.Error("/metrics answered 200 without --metrics")
		}
	})
	t.Run("count requests by area and status class, and the delivery backlog", func(t *testing.T) {
		ta := newTestApp(t, func(c *Config) { c.Metrics = true })
		ta.call(t, "POST", "/v1/users", ta.sandbox, `{}`, nil)
		ta.call(t, "GET", "/v1/users", "", "", nil) // refused: no credentials
		resp, err := ta.Fiber().Test(httptest.NewRequest("GET", "/metrics", nil))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		for _, want := range []string{
			`tokendesk_http_requests_total{area="api",code="2xx"} 1`,
			`tokendesk_http_requests_total{area="api",code="4xx"} 1`,
			"# TYPE tokendesk_webhook_attempts_total counter",
			"tokendesk_webhook_deliveries_pending 0",
			"tokendesk_uptime_seconds ",
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %q:\n%s", want, body)
			}
		}
	})
}
