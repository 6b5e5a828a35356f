package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// startServer runs a real app on a loopback port and returns its base URL.
func startServer(t testing.TB, edit func(*Config)) (*testApp, string) {
	t.Helper()
	ta := newTestApp(t, edit)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ta.Serve(ln)
	return ta, "http://" + ln.Addr().String()
}

func TestOversizedBody(t *testing.T) {
	ta, base := startServer(t, nil)
	k, s, _ := strings.Cut(ta.sandbox, ":")
	// Declare a body over the limit; the server must refuse it from the
	// headers alone, without reading (or our client writing) a megabyte.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nAuthorization: Basic %s\r\n\r\n{",
		(1<<20)+10, basic(k, s))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct{ Code, Message string }
	json.NewDecoder(resp.Body).Decode(&env)
	if got, want := resp.StatusCode, http.StatusRequestEntityTooLarge; got != want {
		t.Fatalf("status: got %d, want %d", got, want)
	}
	if got, want := env.Code, "INVALID_PARAMETERS"; got != want || !strings.Contains(env.Message, "1 MiB") {
		t.Errorf("envelope: %+v", env)
	}
}

func TestPanicBecomesServerError(t *testing.T) {
	var logs strings.Builder
	ta := newTestApp(t, nil)
	a := ta.App
	a.log = slog.New(slog.NewTextHandler(&logs, nil))
	// The same middleware and error handler as the real routes, on a route that panics.
	app := fiber.New(fiber.Config{ErrorHandler: a.handleError})
	for _, m := range a.middleware() {
		app.Use(m)
	}
	app.Get("/v1/boom", func(c *fiber.Ctx) error { panic("boom") })
	resp, err := app.Test(httptest.NewRequest("GET", "/v1/boom", nil))
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Code, Message, RequestID string }
	json.NewDecoder(resp.Body).Decode(&env)
	if got, want := resp.StatusCode, 500; got != want {
		t.Fatalf("status: got %d, want %d", got, want)
	}
	if env.Code != "SERVER_ERROR" || env.RequestID == "" || !strings.Contains(env.Message, env.RequestID) {
		t.Errorf("envelope: %+v", env)
	}
	if !strings.Contains(logs.String(), "panic") || !strings.Contains(logs.String(), env.RequestID) {
		t.Errorf("the panic was not logged with the request id:\n%s", logs.String())
	}
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	ta := newTestApp(t, nil)
	cfg := ta.cfg
	ta.Shutdown(context.Background()) // Run opens its own app on the same file
	cfg.Addr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), func(a *App, addr string) { addrc <- addr })
	}()
	addr := <-addrc
	k, s, _ := strings.Cut(ta.sandbox, ":")

	// Send the headers and half of the body, stop the server, then finish.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"externalMetadata":{"crm":"in-flight"}}`
	fmt.Fprintf(conn, "POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nAuthorization: Basic %s\r\n\r\n%s",
		len(body), basic(k, s), body[:10])
	time.Sleep(100 * time.Millisecond)
	cancel()
	time.Sleep(100 * time.Millisecond)
	fmt.Fprint(conn, body[10:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	if got, want := resp.StatusCode, 201; got != want {
		t.Errorf("in-flight request: got %d, want %d", got, want)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the server still accepts connections after shutdown")
	}
}

func basic(k, s string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(k, s)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}
