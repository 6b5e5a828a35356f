package web

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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
	t.Run("time requests by route and status class, with the runtime, the process and the backlog", func(t *testing.T) {
		ta := newTestApp(t, func(c *Config) { c.Metrics = true })
		ta.call(t, "POST", "/v1/users", ta.sandbox, `{}`, nil)
		ta.call(t, "GET", "/v1/users", "", "", nil) // refused: no credentials
		ta.call(t, "GET", "/v1/users/acme-00000000000000000000000000000000", ta.sandbox, "", nil)
		resp, err := ta.Fiber().Test(httptest.NewRequest("GET", "/metrics", nil))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
		if err != nil {
			t.Fatalf("not the Prometheus text format: %v\n%s", err, body)
		}
		count := func(labels map[string]string) uint64 {
			f := families["tokendesk_http_request_duration_seconds"]
			if f == nil {
				return 0
			}
		next:
			for _, m := range f.Metric {
				for k, v := range labels {
					found := false
					for _, l := range m.Label {
						found = found || (l.GetName() == k && l.GetValue() == v)
					}
					if !found {
						continue next
					}
				}
				return m.Histogram.GetSampleCount()
			}
			return 0
		}
		for _, c := range []struct {
			labels map[string]string
			want   uint64
		}{
			{map[string]string{"area": "api", "method": "POST", "route": "/v1/users", "code": "2xx"}, 1},
			{map[string]string{"area": "api", "method": "GET", "route": "/v1", "code": "4xx"}, 1}, // refused by the API's guard
			{map[string]string{"area": "api", "method": "GET", "route": "/v1/users/:id", "code": "4xx"}, 1},
		} {
			if got := count(c.labels); got != c.want {
				t.Errorf("requests %v: %d, want %d", c.labels, got, c.want)
			}
		}
		for name, kind := range map[string]string{
			"tokendesk_webhook_attempts_total":     "COUNTER",
			"tokendesk_webhook_deliveries_pending": "GAUGE",
			"tokendesk_webhook_oldest_due_seconds": "GAUGE",
			"go_goroutines":                        "GAUGE",
			"process_resident_memory_bytes":        "GAUGE",
		} {
			f := families[name]
			if f == nil || f.GetType().String() != kind {
				t.Errorf("no %s %s in:\n%s", kind, name, body)
			}
		}
	})
}
