package web

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"tokendesk/handlers/api"
)

// requestID gives every request an id, echoed in X-Request-Id and in the
// API envelope, so a log line and a client's report can be matched. The id
// is a UUIDv7, ordered by time, so the request log's primary key grows at
// its end instead of at random places in its index.
func requestID(c *fiber.Ctx) error {
	setRequestID(c)
	return c.Next()
}

func setRequestID(c *fiber.Ctx) {
	u, err := uuid.NewV7()
	if err != nil {
		u = uuid.New()
	}
	id := u.String()
	c.Locals(api.LocalRequestID, id)
	c.Set("X-Request-Id", id)
}

// recoverPanics turns a panic into a SERVER_ERROR with the request id, and
// logs the stack: user input must never take the process down.
func recoverPanics(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				rid, _ := c.Locals(api.LocalRequestID).(string)
				log.Error("panic while handling request", "request_id", rid, "method", c.Method(),
					"path", c.Path(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return c.Next()
	}
}

// observeRequests is the one middleware that watches every request: it
// writes the request's log line, with --metrics times it, and with tracing
// on gives it a span. One place, so no route is logged, measured or traced
// and missed by the others. It logs the path
// without the query string and never a header, so no credential or token
// is written.
func observeRequests(log *slog.Logger, m *metrics, t *tracer) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		span := t.startRequest(c)
		answerNow(c, c.Next())
		took := time.Since(start)
		path := c.Path()
		area := requestArea(path)
		t.endRequest(c, span, area)
		if m != nil {
			m.observe(c, area, took)
		}
		if strings.HasPrefix(path, "/static/") || path == "/healthz" {
			return nil
		}
		rid, _ := c.Locals(api.LocalRequestID).(string)
		attrs := []any{"request_id", rid, "method", c.Method(), "path", path,
			"status", c.Response().StatusCode(), "duration_ms", took.Milliseconds(), "ip", c.IP()}
		if key := api.KeyOf(c); key != "" {
			attrs = append(attrs, "api_key", key)
		}
		log.Info("request", attrs...)
		return nil
	}
}

// answerNow turns an error from the handlers inside into its response at
// once, so middleware that reads the status (the log, the counters) sees
// the status the client gets.
func answerNow(c *fiber.Ctx, err error) {
	if err == nil {
		return
	}
	if herr := c.App().ErrorHandler(c, err); herr != nil {
		c.Status(fiber.StatusInternalServerError)
	}
}

// securityHeaders applies to every response. The console runs no inline
// script, so the CSP forbids it; nothing may frame our pages.
func securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
	if c.Protocol() == "https" {
		c.Set("Strict-Transport-Security", "max-age=31536000")
	}
	return c.Next()
}
