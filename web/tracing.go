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
	t := tp.Tracer("tokendesk")
	dbs := []*gorm.DB{store.W}
	if store.R.Config != store.W.Config { // pools that share a configuration share its callbacks
		dbs = append(dbs, store.R)
	}
	for _, db := range dbs {
		if err := traceStatements(db, t); err != nil {
			return nil, fmt.Errorf("trace database statements: %w", err)
		}
	}
	return &tracer{Tracer: t, propagator: propagation.TraceContext{}, enabled: true}, nil
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

// traceStatements gives each GORM statement a span under the request's:
// its SQL with placeholders, never the values (token hashes, sealed
// secrets, customers' metadata). Written here on GORM's callback API
// rather than taken from gorm.io/plugin/opentelemetry: that plugin brings
// in ClickHouse's driver and an old pgx, both with known vulnerabilities,
// for the few lines this needs.
func traceStatements(db *gorm.DB, t trace.Tracer) error {
	const spanKey = "tokendesk:span"
	before := func(op string) func(*gorm.DB) {
		return func(tx *gorm.DB) {
			ctx := tx.Statement.Context
			if ctx == nil || !trace.SpanFromContext(ctx).SpanContext().IsValid() {
				return // outside a traced request (background work): no orphan spans
			}
			_, span := t.Start(ctx, "db "+op, trace.WithSpanKind(trace.SpanKindClient))
			tx.InstanceSet(spanKey, span)
		}
	}
	after := func(tx *gorm.DB) {
		v, ok := tx.InstanceGet(spanKey)
		if !ok {
			return
		}
		span := v.(trace.Span)
		span.SetAttributes(attribute.String("db.system", "sqlite"), attribute.String("db.statement", tx.Statement.SQL.String()),
			attribute.String("db.sql.table", tx.Statement.Table), attribute.Int64("db.rows_affected", tx.Statement.RowsAffected))
		if err := tx.Error; err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
	cb := db.Callback()
	for _, r := range []struct {
		op  string
		reg func(before, after func(*gorm.DB)) error
	}{
		{"create", func(b, a func(*gorm.DB)) error {
			return errors.Join(cb.Create().Before("gorm:create").Register("tokendesk:trace_before_create", b),
				cb.Create().After("gorm:create").Register("tokendesk:trace_after_create", a))
		}},
		{"query", func(b, a func(*gorm.DB)) error {
			return errors.Join(cb.Query().Before("gorm:query").Register("tokendesk:trace_before_query", b),
				cb.Query().After("gorm:query").Register("tokendesk:trace_after_query", a))
		}},
		{"update", func(b, a func(*gorm.DB)) error {
			return errors.Join(cb.Update().Before("gorm:update").Register("tokendesk:trace_before_update", b),
				cb.Update().After("gorm:update").Register("tokendesk:trace_after_update", a))
		}},
		{"delete", func(b, a func(*gorm.DB)) error {
			return errors.Join(cb.Delete().Before("gorm:delete").Register("tokendesk:trace_before_delete", b),
				cb.Delete().After("gorm:delete").Register("tokendesk:trace_after_delete", a))
		}},
		{"row", func(b, a func(*gorm.DB)) error {
			return errors.Join(cb.Row().Before("gorm:row").Register("tokendesk:trace_before_row", b),
				cb.Row().After("gorm:row").Register("tokendesk:trace_after_row", a))
		}},
		{"raw", func(b, a func(*gorm.DB)) error {
			return errors.Join(cb.Raw().Before("gorm:raw").Register("tokendesk:trace_before_raw", b),
				cb.Raw().After("gorm:raw").Register("tokendesk:trace_after_raw", a))
		}},
	} {
		if err := r.reg(before(r.op), after); err != nil {
			return err
		}
	}
	return nil
}
