package webhooks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// BenchmarkDispatcher measures, in one run against one loopback receiver
// that answers 200 at once:
//   - plain-posts/s: a bare net/http client posting the same bodies with the
//     same concurrency, the ceiling this machine allows;
//   - deliveries/s: the dispatcher draining a backlog, each delivery claimed,
//     signed, sent and recorded with its attempt;
//   - ratio: deliveries/s over plain-posts/s. The two alternate in rounds so
//     a change in the machine's load hits both alike;
//   - p50-ms, p99-ms: from just before a user's creation (whose commit
//     queues the delivery) to the request reaching the receiver, users being
//     created one after another while the dispatcher runs.
//
// Run: go test ./webhooks -run '^$' -bench Dispatcher -benchtime 1x
func BenchmarkDispatcher(b *testing.B) {
	const (
		workers  = 32
		rounds   = 4
		perRound = 5000
		paced    = 1000
	)
	var arrivals sync.Map // webhook-id → time of first arrival
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if id := r.Header.Get("webhook-id"); id != "" {
			arrivals.LoadOrStore(id, time.Now())
		}
	}))
	defer srv.Close()

	s := modelstest.MustOpenStore(b)
	if _, err := s.CreateWebhookEndpoint(context.Background(), models.Sandbox, models.WebhookInput{
		Name: ptr("bench"), URL: ptr(srv.URL), EventTypes: []string{"USER_CREATED"},
		Active: ptr(true), Secret: ptr("a little secret"),
	}); err != nil {
		b.Fatal(err)
	}
	// One receiver takes every delivery here, so the per-endpoint cap is
	// raised to the worker count: the comparison with the plain client is
	// at the same concurrency. With the default cap of 8, one receiver gets
	// 8 attempts at once and the dispatcher moves about half as many
	// deliveries a second (still well above 2,000/s).
	cfg := Config{InFlight: workers, PerEndpoint: workers, Jitter: -1, Owner: "bench", Retention: -1}

	var plainTime, dispatchTime, plainCPU, dispatchCPU time.Duration
	n := perRound * b.N
	b.ResetTimer()
	for range rounds {
		b.StopTimer()
		var body []byte
		for i := range n {
			u, err := s.CreateUser(context.Background(), models.Sandbox, nil, "bench")
			if err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				body = []byte(u.Event.Payload)
			}
		}
		// The fill's WAL is copied into the database before timing: the
		// background checkpoint would otherwise do it while the next phase
		// runs, charging the cost of creating thousands of users to
		// whichever of the two senders happened to run then.
		modelstest.WaitForCheckpoint(b, s)
		b.StartTimer()

		c0 := cpuTime()
		plainTime += plainClient(b, srv.URL, body, n, workers)
		c1 := cpuTime()
		plainCPU += c1 - c0

		d, err := New(s, cfg)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		d.Start(context.Background())
		for d.Stats().Succeeded+d.Stats().Failed < int64(n) {
			time.Sleep(200 * time.Microsecond)
		}
		dispatchTime += time.Since(start)
		dispatchCPU += cpuTime() - c1
		if f := d.Stats().Failed; f > 0 {
			b.Fatalf("%d deliveries failed", f)
		}
		d.Shutdown(context.Background())
	}

	// Latency: users created one after another while the dispatcher runs,
	// woken by each commit as the app wires it.
	d, err := New(s, cfg)
	if err != nil {
		b.Fatal(err)
	}
	s.OnDeliveriesQueued = d.Wake
	d.Start(context.Background())
	defer d.Shutdown(context.Background())
	began := make(map[string]time.Time, paced)
	for range paced {
		t0 := time.Now()
		u, err := s.CreateUser(context.Background(), models.Sandbox, nil, "bench")
		if err != nil {
			b.Fatal(err)
		}
		began[u.Event.ID] = t0
	}
	var lat []time.Duration
	deadline := time.Now().Add(10 * time.Second)
	for id, t0 := range began {
		for {
			if at, ok := arrivals.Load(id); ok {
				lat = append(lat, at.(time.Time).Sub(t0))
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("event %s never arrived", id)
			}
			time.Sleep(time.Millisecond)
		}
	}
	b.StopTimer()

	slices.Sort(lat)
	total := float64(rounds * n)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rate, plain := total/dispatchTime.Seconds(), total/plainTime.Seconds()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(rate, "deliveries/s")
	b.ReportMetric(plain, "plain-posts/s")
	b.ReportMetric(rate/plain, "ratio")
	b.ReportMetric(float64(dispatchCPU.Microseconds())/total, "cpu-µs/delivery")
	b.ReportMetric(float64(plainCPU.Microseconds())/total, "cpu-µs/plain-post")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
}

// plainClient posts body n times with the given concurrency through a plain
// keep-alive client and returns how long that took.
func plainClient(b *testing.B, url string, body []byte, n, workers int) time.Duration {
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * workers, MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
