package web

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Request areas and status classes counted for /metrics. Fixed arrays of
// atomics: counting must cost nothing next to a request at thousands per second.
var (
	metricAreas   = [...]string{"api", "console", "static"}
	metricClasses = [...]string{"2xx", "3xx", "4xx", "5xx"}
)

type requestCounts [len(metricAreas)][len(metricClasses)]atomic.Int64

// countRequests counts every answered request by area and status class.
func (a *App) countRequests(c *fiber.Ctx) error {
	answerNow(c, c.Next())
	area := 1
	switch p := c.Path(); {
	case strings.HasPrefix(p, "/v1/") || p == "/v1":
		area = 0
	case strings.HasPrefix(p, "/static/"):
		area = 2
	}
	class := c.Response().StatusCode()/100 - 2
	if class >= 0 && class < len(metricClasses) {
		a.requests[area][class].Add(1)
	}
	return nil
}

// metrics serves GET /metrics in the Prometheus text format (only with
// --metrics: the figures say how busy the service is, which not everyone
// wants public).
func (a *App) metrics(c *fiber.Ctx) error {
	var b strings.Builder
	metric := func(name, kind, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
	}
	metric("tokendesk_http_requests_total", "counter", "HTTP requests answered, by area and status class.")
	for i, area := range metricAreas {
		for j, class := range metricClasses {
			fmt.Fprintf(&b, "tokendesk_http_requests_total{area=%q,code=%q} %d\n", area, class, a.requests[i][j].Load())
		}
	}
	st := a.dispatcher.Stats()
	metric("tokendesk_webhook_attempts_total", "counter", "Webhook attempts this process finished, by outcome.")
	fmt.Fprintf(&b, "tokendesk_webhook_attempts_total{outcome=\"succeeded\"} %d\n", st.Succeeded)
	fmt.Fprintf(&b, "tokendesk_webhook_attempts_total{outcome=\"failed\"} %d\n", st.Failed)
	metric("tokendesk_webhook_attempts_in_flight", "gauge", "Webhook attempts claimed and not yet recorded.")
	fmt.Fprintf(&b, "tokendesk_webhook_attempts_in_flight %d\n", st.Outstanding)
	backlog, err := a.store.DeliveryBacklog(c.UserContext())
	if err != nil {
		return err
	}
	metric("tokendesk_webhook_deliveries_pending", "gauge", "Deliveries waiting for a first or further attempt, both modes.")
	fmt.Fprintf(&b, "tokendesk_webhook_deliveries_pending %d\n", backlog.Pending)
	if backlog.NextDueAt != nil {
		metric("tokendesk_webhook_oldest_due_seconds", "gauge", "How long the earliest due delivery has been waiting; 0 when none is overdue.")
		fmt.Fprintf(&b, "tokendesk_webhook_oldest_due_seconds %.3f\n", max(0, a.store.Now().Sub(*backlog.NextDueAt).Seconds()))
	}
	metric("tokendesk_uptime_seconds", "gauge", "Seconds since this process started.")
	fmt.Fprintf(&b, "tokendesk_uptime_seconds %.0f\n", time.Since(a.started).Seconds())
	c.Set(fiber.HeaderContentType, "text/plain; version=0.0.4; charset=utf-8")
	return c.SendString(b.String())
}
