package web

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tokendesk/models"
)

// metrics are the app's Prometheus collectors, in a registry of its own (no
// package-level state: two apps in one test binary do not share counters).
// Only with --metrics; without it nothing is measured.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.HistogramVec
	attempts *prometheus.HistogramVec
	writes   *prometheus.HistogramVec
}

// attemptBuckets span a receiver on the same network to one at the
// default 10 s timeout.
var attemptBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// writeBuckets span a batched commit to one that waited for the writer.
var writeBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}

// requestBuckets span a cached static file (well under a millisecond) to a
// slow console page or a long API call.
var requestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newMetrics(a *App) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tokendesk_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by area (api, console, static), method, route pattern and status class.",
			Buckets: requestBuckets,
		}, []string{"area", "method", "route", "code"}),
		attempts: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tokendesk_webhook_attempt_duration_seconds",
			Help:    "Time of one webhook attempt, by mode and outcome (succeeded, failed: answered otherwise, error: no answer).",
			Buckets: attemptBuckets,
		}, []string{"mode", "outcome"}),
		writes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tokendesk_db_write_duration_seconds",
			Help:    "Time of one database write transaction, waiting for the writer included, by kind (store, dispatch).",
			Buckets: writeBuckets,
		}, []string{"kind"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.attempts, m.writes,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tokendesk_webhook_attempts_total", Help: "Webhook attempts this process finished and recorded, by outcome.",
			ConstLabels: prometheus.Labels{"outcome": "succeeded"},
		}, func() float64 { return float64(a.dispatcher.Stats().Succeeded) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tokendesk_webhook_attempts_total", Help: "Webhook attempts this process finished and recorded, by outcome.",
			ConstLabels: prometheus.Labels{"outcome": "failed"},
		}, func() float64 { return float64(a.dispatcher.Stats().Failed) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tokendesk_webhook_attempts_in_flight", Help: "Webhook attempts claimed by this process and not yet recorded.",
		}, func() float64 { return float64(a.dispatcher.Stats().Outstanding) }),
		&backlogCollector{store: a.store},
	)
	return m
}

// observe records one answered request. A request answered by a guard
// before its route (no credentials, the rate limit) counts under the
// guard's pattern, "/v1" for the API.
func (m *metrics) observe(c *fiber.Ctx, area string, took time.Duration) {
	route := "unmatched"
	if r := c.Route(); r != nil && r.Path != "" {
		route = r.Path
	}
	m.requests.WithLabelValues(area, methodLabel(c.Method()), route, statusClass(c.Response().StatusCode())).Observe(took.Seconds())
}

func (m *metrics) observeAttempt(mode models.Mode, outcome string, took time.Duration) {
	m.attempts.WithLabelValues(string(mode), outcome).Observe(took.Seconds())
}

func (m *metrics) observeWrite(kind string, took time.Duration) {
	m.writes.WithLabelValues(kind).Observe(took.Seconds())
}

// methodLabel maps the request's method to a constant: c.Method() points
// into a reused buffer (a label kept from it would change under the
// series), and a client sending made-up methods must not grow the series.
func methodLabel(m string) string {
	switch m {
	case fiber.MethodGet:
		return fiber.MethodGet
	case fiber.MethodPost:
		return fiber.MethodPost
	case fiber.MethodPut:
		return fiber.MethodPut
	case fiber.MethodPatch:
		return fiber.MethodPatch
	case fiber.MethodDelete:
		return fiber.MethodDelete
	case fiber.MethodHead:
		return fiber.MethodHead
	case fiber.MethodOptions:
		return fiber.MethodOptions
	}
	return "other"
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// requestArea is the part of the app a path belongs to.
func requestArea(path string) string {
	switch {
	case strings.HasPrefix(path, "/v1/") || path == "/v1":
		return "api"
	case strings.HasPrefix(path, "/static/"):
		return "static"
	}
	return "console"
}

// handler serves GET /metrics (only with --metrics: the figures say how busy
// the service is, which not everyone wants public).
func (m *metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
}

// backlogCollector reads the delivery queue at each scrape: how many wait,
// and how long the earliest due one has been waiting.
type backlogCollector struct{ store *models.Store }

var (
	pendingDesc = prometheus.NewDesc("tokendesk_webhook_deliveries_pending",
		"Deliveries waiting for a first or further attempt, both modes.", nil, nil)
	oldestDueDesc = prometheus.NewDesc("tokendesk_webhook_oldest_due_seconds",
		"How long the earliest due delivery has been waiting; 0 when none is overdue.", nil, nil)
)

func (b *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- oldestDueDesc
}

func (b *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	backlog, err := b.store.DeliveryBacklog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(backlog.Pending))
	oldest := 0.0
	if backlog.NextDueAt != nil {
		oldest = max(0, b.store.Now().Sub(*backlog.NextDueAt).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(oldestDueDesc, prometheus.GaugeValue, oldest)
}
