package webhooks

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"tokendesk/models"
)

// Attempt outcomes as OnAttempt reports them.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed" // the receiver answered, but not 2xx
	OutcomeError     = "error"  // no answer: refused, timed out, blocked
)

// startSpan gives the attempt its client span when tracing is on, and
// writes its traceparent into h. The signatures cover the body and the
// webhook-id and timestamp only, so the header does not touch them.
func (d *Dispatcher) startSpan(c *models.Claim, h http.Header) (context.Context, trace.Span) {
	if d.cfg.Tracer == nil {
		return d.sendCtx, nil
	}
	ctx, span := d.cfg.Tracer.Start(d.sendCtx, "webhook POST", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("tokendesk.mode", string(c.Delivery.Mode)),
			attribute.String("tokendesk.delivery_id", c.Delivery.ID),
			attribute.String("tokendesk.endpoint_id", c.Endpoint.ID),
			attribute.String("tokendesk.event_id", c.Delivery.EventID),
			attribute.Int("tokendesk.attempt", c.Number),
		))
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(h))
	return ctx, span
}

func endSpan(span trace.Span, resp *http.Response, err error) {
	if span == nil {
		return
	}
	if resp != nil {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			span.SetStatus(codes.Error, fmt.Sprintf("receiver answered %d", resp.StatusCode))
		}
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// observeAttempt tells OnAttempt how the attempt ended.
func (d *Dispatcher) observeAttempt(mode models.Mode, resp *http.Response, err error, took time.Duration) {
	if d.cfg.OnAttempt == nil {
		return
	}
	outcome := OutcomeError
	switch {
	case resp != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299:
		outcome = OutcomeSucceeded
	case resp != nil:
		outcome = OutcomeFailed
	}
	d.cfg.OnAttempt(mode, outcome, took)
}
