package webhooks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokendesk/models"
)

func ptr[T any](v T) *T { return &v }

// clock is a settable time source shared by the store and the test.
type clock struct{ ms atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ms.Store(t.UnixMilli())
	return c
}

func (c *clock) Now() time.Time          { return time.UnixMilli(c.ms.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// received is one request as the receiver saw it.
type received struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

// receiver is a real loopback HTTP server that records what arrives and
// answers with whatever respond says.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	respond func(n int, w http.ResponseWriter, r *http.Request) // n counts requests from 1
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, received{Header: r.Header.Clone(), Body: body, At: time.Now()})
	n := len(rc.got)
	respond := rc.respond
	rc.mu.Unlock()
	if respond != nil {
		respond(n, w, r)
	}
}

// setRespond changes the answer for the requests that follow; nil answers 200.
func (rc *receiver) setRespond(respond func(int, http.ResponseWriter, *http.Request)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.respond = respond
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// testConfig is a dispatcher configuration for fast tests: short waits,
// no jitter, polling often enough that nothing waits on a full second.
func testConfig() Config {
	return Config{
		InFlight: 4, Timeout: 2 * time.Second, Lease: 10 * time.Second,
		Schedule: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond},
		Jitter:   -1, PollInterval: 20 * time.Millisecond, Owner: "test",
	}
}

// startDispatcher starts a dispatcher wired to the store the way the app
// does it, and shuts it down when the test ends.
func startDispatcher(t *testing.T, s *models.Store, cfg Config) *Dispatcher {
	t.Helper()
	d, err := New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.OnDeliveriesQueued = d.Wake
	d.Start(context.Background())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	return d
}

func createEndpoint(t *testing.T, s *models.Store, mode models.Mode, url, secret string) *models.WebhookEndpoint {
	t.Helper()
	ep, err := s.CreateWebhookEndpoint(context.Background(), mode, models.WebhookInput{
		Name: ptr("test receiver"), URL: ptr(url), EventTypes: []string{"USER_CREATED"},
		Active: ptr(true), Secret: ptr(secret),
	})
	if err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	return ep
}

func createUser(t *testing.T, s *models.Store, mode models.Mode) *models.CreatedUser {
	t.Helper()
	u, err := s.CreateUser(context.Background(), mode, nil, "test")
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// deliveryOf returns the only delivery of an event with its attempts.
func deliveryOf(t *testing.T, s *models.Store, mode models.Mode, eventID string) *models.DeliveryDetail {
	t.Helper()
	ev, err := s.GetEvent(context.Background(), mode, eventID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Deliveries) != 1 {
		t.Fatalf("event %s has %d deliveries, want 1", eventID, len(ev.Deliveries))
	}
	d, err := s.GetDelivery(context.Background(), mode, ev.Deliveries[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// settled waits until the event's delivery has status and n attempts.
func settled(t *testing.T, s *models.Store, mode models.Mode, eventID, status string, n int) *models.DeliveryDetail {
	t.Helper()
	var d *models.DeliveryDetail
	eventually(t, 5*time.Second, "delivery did not settle as "+status, func() bool {
		d = deliveryOf(t, s, mode, eventID)
		return d.Delivery.Status == status && len(d.Attempts) == n && d.Delivery.LeaseOwner == ""
	})
	return d
}
