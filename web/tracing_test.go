package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestTracingSpansRequestsAndTheirStatements(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	ta := newTestApp(t, func(c *Config) { c.TracerProvider = tp })

	// The caller's trace continues: its traceparent is the parent.
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	r := ta.call(t, "POST", "/v1/users", ta.sandbox, `{"externalMetadata":{"crm":"secret-crm-value"}}`, map[string]string{"traceparent": parent})
	if r.Status != http.StatusCreated {
		t.Fatalf("status %d", r.Status)
	}
	resp, err := ta.Fiber().Test(httptest.NewRequest("GET", "/login", nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	spans := exp.GetSpans()
	var api, console *tracetest.SpanStub
	for i := range spans {
		switch spans[i].Name {
		case "POST /v1/users":
			api = &spans[i]
		case "GET /login":
			console = &spans[i]
		}
	}
	if api == nil || console == nil {
		t.Fatalf("no span for the API call or the console page among %d spans", len(spans))
	}
	if got := api.Parent.TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("the API span is in trace %s, not the caller's", got)
	}
	if api.SpanKind != trace.SpanKindServer {
		t.Errorf("span kind %v", api.SpanKind)
	}
	var attrs []string
	for _, a := range api.Attributes {
		attrs = append(attrs, string(a.Key)+"="+a.Value.String())
	}
	for _, want := range []string{"http.route=/v1/users", "http.response.status_code=201", "tokendesk.request_id=" + r.Env.RequestID} {
		if !strings.Contains(strings.Join(attrs, " "), want) {
			t.Errorf("API span lacks %s: %v", want, attrs)
		}
	}
	statements := 0
	for _, s := range spans {
		if s.Parent.SpanID() == api.SpanContext.SpanID() {
			statements++
		}
		for _, a := range s.Attributes {
			if strings.Contains(a.Value.String(), "secret-crm-value") {
				t.Errorf("span %q holds a statement's value (%s)", s.Name, a.Key)
			}
		}
	}
	if statements == 0 {
		t.Error("no store statement was traced under the API request")
	}
}
