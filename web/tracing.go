package web

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"gorm.io/gorm"
	gormtracing "gorm.io/plugin/opentelemetry/tracing"

	"tokendesk/handlers/api"
	"tokendesk/models"
)

// Tracing is off unless the standard OpenTelemetry variables name an
// exporter endpoint; the OTLP/HTTP exporter then reads the rest of them
// (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _PROTOCOL …) itself.
func tracingWanted(getenv func(string) string) bool {
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// newTracerProvider starts the OTLP exporter; the returned provider's
// Shutdown flushes what is left.
func newTracerProvider(ctx context.Context) (*sdktrace.TracerProvider, error) {
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: cannot start the trace exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName("tokendesk")))
	if err != nil {
		return nil, err
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// tracer is the app's: spans for requests, and the store's statements
// through GORM's plugin. With no provider it is a no-op that costs nothing.
type tracer struct {
	trace.Tracer
	propagator propagation.TextMapPropagator
	enabled    bool
}

func newTracer(tp trace.TracerProvider, store *models.Store) (*tracer, error) {
	if tp == nil {
		return &tracer{Tracer: noop.NewTracerProvider().Tracer("tokendesk")}, nil
	}
	// Statements without their values: they hold token hashes, secrets
	// sealed or not, and customers' metadata.
	for _, db := range []*gorm.DB{store.W, store.R} {
		if err := db.Use(gormtracing.NewPlugin(gormtracing.WithTracerProvider(tp), gormtracing.WithoutQueryVariables(),
			gormtracing.WithoutMetrics(), gormtracing.WithDBSystem("sqlite"))); err != nil && !errors.Is(err, gorm.ErrRegistered) {
			// ErrRegistered: the pools share one configuration, so the
			// first registration already covers both.
			return nil, fmt.Errorf("trace database statements: %w", err)
		}
	}
	return &tracer{Tracer: tp.Tracer("tokendesk"), propagator: propagation.TraceContext{}, enabled: true}, nil
}

// startRequest starts the request's span, a child of the caller's
// traceparent when it sends one, and hands its context to the handlers.
func (t *tracer) startRequest(c *fiber.Ctx) trace.Span {
	if !t.enabled {
		return nil
	}
	ctx := t.propagator.Extract(c.UserContext(), fiberCarrier{c})
	ctx, span := t.Start(ctx, "HTTP "+methodLabel(c.Method()), trace.WithSpanKind(trace.SpanKindServer))
	c.SetUserContext(ctx)
	return span
}

// endRequest names the span by its route, now known, and ends it.
func (t *tracer) endRequest(c *fiber.Ctx, span trace.Span, area string) {
	if span == nil {
		return
	}
	route := "unmatched"
	if r := c.Route(); r != nil && r.Path != "" {
		route = r.Path
	}
	status := c.Response().StatusCode()
	span.SetName(methodLabel(c.Method()) + " " + route)
	span.SetAttributes(
		attribute.String("http.request.method", methodLabel(c.Method())),
		attribute.String("http.route", route),
		attribute.String("tokendesk.area", area),
		attribute.Int("http.response.status_code", status),
	)
	if rid, ok := c.Locals(api.LocalRequestID).(string); ok {
		span.SetAttributes(attribute.String("tokendesk.request_id", rid))
	}
	if status >= 500 {
		span.SetStatus(codes.Error, fmt.Sprintf("answered %d", status))
	}
	span.End()
}

// fiberCarrier reads the trace headers of a Fiber request.
type fiberCarrier struct{ c *fiber.Ctx }

func (f fiberCarrier) Get(key string) string { return f.c.Get(key) }
func (f fiberCarrier) Set(string, string)    {}
func (f fiberCarrier) Keys() []string        { return []string{"traceparent", "tracestate"} }

// webhookTracer is the tracer for the dispatcher's sends, nil when tracing is off.
func (t *tracer) webhookTracer() trace.Tracer {
	if !t.enabled {
		return nil
	}
	return t.Tracer
}
