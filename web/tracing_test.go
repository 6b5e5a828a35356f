package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

func TestWebhookAttemptsAreTracedAndMeasured(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	got := make(chan string, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.Header.Get("traceparent"):
		default:
		}
	}))
	defer recv.Close()
	ta := newTestApp(t, func(c *Config) { c.TracerProvider, c.Metrics = tp, true })
	createWebhook(t, ta, ta.sandbox, recv.URL+"/hook")
	if r := ta.call(t, "POST", "/v1/users", ta.sandbox, `{}`, nil); r.Status != http.StatusCreated {
		t.Fatalf("status %d", r.Status)
	}
	var parent string
	select {
	case parent = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver got nothing")
	}
	var send *tracetest.SpanStub
	deadline := time.Now().Add(5 * time.Second)
	for send == nil && time.Now().Before(deadline) {
		for _, s := range exp.GetSpans() {
			if s.Name == "webhook POST" {
				send = &s
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if send == nil {
		t.Fatal("no span for the webhook send")
	}
	if want := "00-" + send.SpanContext.TraceID().String() + "-" + send.SpanContext.SpanID().String() + "-01"; parent != want {
		t.Errorf("receiver got traceparent %q, want the send's %q", parent, want)
	}
	if send.SpanKind != trace.SpanKindClient {
		t.Errorf("span kind %v", send.SpanKind)
	}
	var body string
	for range 50 { // the attempt is recorded a moment after the receiver answers
		resp, err := ta.Fiber().Test(httptest.NewRequest("GET", "/metrics", nil))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		if strings.Contains(body, `tokendesk_webhook_attempt_duration_seconds_count{mode="SANDBOX",outcome="succeeded"} 1`) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{
		`tokendesk_webhook_attempt_duration_seconds_count{mode="SANDBOX",outcome="succeeded"} 1`,
		`tokendesk_db_write_duration_seconds_count{kind="dispatch"}`,
		`tokendesk_db_write_duration_seconds_count{kind="store"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
