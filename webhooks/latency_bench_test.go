package webhooks

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// latencyReceiver answers every request after a fixed delay, as a real
// receiver across a network would, and counts what arrives. hang makes it
// never answer (until the test ends).
type latencyReceiver struct {
	*httptest.Server
	count    atomic.Int64
	inFlight atomic.Int64
	arrivals *sync.Map // webhook-id → first arrival, shared by the receivers of a run
}

func newLatencyReceiver(tb testing.TB, delay time.Duration, hang bool, arrivals *sync.Map) *latencyReceiver {
	lr := &latencyReceiver{arrivals: arrivals}
	done := make(chan struct{})
	lr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		lr.count.Add(1)
		if lr.arrivals != nil {
			lr.arrivals.LoadOrStore(r.Header.Get("webhook-id")+" "+r.URL.Path, time.Now())
		}
		lr.inFlight.Add(1)
		defer lr.inFlight.Add(-1)
		wait := time.After(delay)
		if hang {
			wait = nil
		}
		select {
		case <-wait:
		case <-done:
		case <-r.Context().Done():
		}
	}))
	tb.Cleanup(func() { close(done); lr.Server.Close() })
	return lr
}

func benchEndpoint(tb testing.TB, s *models.Store, url string) {
	tb.Helper()
	if _, err := s.CreateWebhookEndpoint(context.Background(), models.Sandbox, models.WebhookInput{
		Name: ptr("bench"), URL: ptr(url), EventTypes: []string{"USER_CREATED"},
		Active: ptr(true), Secret: ptr("a little secret"),
	}); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkLatencyReceivers runs the dispatcher with its default limits
// against in-process receivers that answer in 100 ms, and reports:
//   - 100-endpoints: deliveries/s draining a backlog spread over 100
//     receivers, and p50/p99 from a user's commit to the first attempt
//     reaching the receiver while users are created at a steady pace;
//   - 1-endpoint: deliveries/s to a single such receiver;
//   - 100+hanging: the same 100 receivers with one more that never
//     answers (each attempt to it runs to the 10 s timeout); others-ratio
//     is the 100 receivers' rate against 100-endpoints' in the same run.
//
// Run: go test ./webhooks -run '^$' -bench LatencyReceivers -benchtime 1x
func BenchmarkLatencyReceivers(b *testing.B) {
	const delay = 100 * time.Millisecond
	var base float64
	b.Run("100-endpoints", func(b *testing.B) {
		base = drainRate(b, 100, 200, false, delay)
	})
	b.Run("1-endpoint", func(b *testing.B) {
		drainRate(b, 1, 3000, false, delay)
	})
	b.Run("100+hanging", func(b *testing.B) {
		rate := drainRate(b, 100, 200, true, delay)
		if base > 0 {
			b.ReportMetric(rate/base, "others-ratio")
		}
	})
}

// drainRate queues users×endpoints deliveries, then measures how fast the
// dispatcher drains them to the healthy receivers, and the latency of
// deliveries queued while it runs.
func drainRate(b *testing.B, endpoints, users int, hanging bool, delay time.Duration) float64 {
	s := modelstest.MustOpenStore(b)
	var arrivals sync.Map
	var healthy []*latencyReceiver
	for range endpoints {
		lr := newLatencyReceiver(b, delay, false, &arrivals)
		healthy = append(healthy, lr)
		benchEndpoint(b, s, lr.URL)
	}
	if hanging {
		benchEndpoint(b, s, newLatencyReceiver(b, delay, true, nil).URL)
	}
	for range users {
		if _, err := s.CreateUser(context.Background(), models.Sandbox, nil, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	modelstest.WaitForCheckpoint(b, s)
	received := func() (n int64) {
		for _, lr := range healthy {
			n += lr.count.Load()
		}
		return n
	}

	d, err := New(s, Config{Owner: "bench", Retention: -1, Jitter: -1})
	if err != nil {
		b.Fatal(err)
	}
	s.OnDeliveriesQueued = d.Wake
	want := int64(users * endpoints)
	pgCPU := modelstest.PostgresCPU(b)
	var pg0 time.Duration
	if pgCPU != nil {
		pg0 = pgCPU()
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	d.Start(context.Background())
	for received() < want {
		time.Sleep(time.Millisecond)
	}
	took, cpu := time.Since(start), cpuTime()-cpu0
	if pgCPU != nil {
		b.ReportMetric(float64((pgCPU()-pg0).Microseconds())/float64(want), "pg-cpu-µs/delivery")
	}
	b.StopTimer()
	rate := float64(want) / took.Seconds()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(rate, "deliveries/s")
	// The whole process: dispatcher, database and the receivers. What the
	// machine could do unshared is about cores / this.
	b.ReportMetric(float64(cpu.Microseconds())/float64(want), "cpu-µs/delivery")

	// Latency at a steady pace, well below what the receivers can take:
	// a user every 50 ms, 2,000 deliveries a second over 100 endpoints.
	if endpoints > 1 && !hanging {
		const paced = 100
		began := make(map[string]time.Time, paced)
		for range paced {
			t0 := time.Now()
			u, err := s.CreateUser(context.Background(), models.Sandbox, nil, "bench")
			if err != nil {
				b.Fatal(err)
			}
			began[u.Event.ID] = t0
			time.Sleep(50 * time.Millisecond)
		}
		deadline := time.Now().Add(30 * time.Second)
		for received() < want+int64(paced*endpoints) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		var lat []time.Duration
		arrivals.Range(func(k, v any) bool {
			id, _, _ := strings.Cut(k.(string), " ")
			if t0, ok := began[id]; ok {
				lat = append(lat, v.(time.Time).Sub(t0))
			}
			return true
		})
		if len(lat) > 0 {
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	d.Shutdown(ctx)
	return rate
}

// BenchmarkDispatcherMemory measures the process's resident memory with a
// million deliveries pending and the in-flight budget (1,000) taken by
// receivers that never answer.
//
// Run: go test ./webhooks -run '^$' -bench DispatcherMemory -benchtime 1x
func BenchmarkDispatcherMemory(b *testing.B) {
	const (
		pending   = 1_000_000
		receivers = 20 // × the default 64 per endpoint: more than the budget
	)
	s := modelstest.MustOpenStore(b)
	var hung []*latencyReceiver
	for range receivers {
		lr := newLatencyReceiver(b, 0, true, nil)
		hung = append(hung, lr)
		benchEndpoint(b, s, lr.URL)
	}
	u, err := s.CreateUser(context.Background(), models.Sandbox, nil, "bench")
	if err != nil {
		b.Fatal(err)
	}
	// A million deliveries of one event, spread over the receivers, in one
	// statement (creating them one user at a time would take minutes).
	now := time.Now().UnixMilli()
	if err := s.W.Exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1),
		eps AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k FROM webhook_endpoints)
		INSERT INTO deliveries (id, mode, endpoint_id, event_id, event_type, status, next_attempt_at, created_at, updated_at)
		SELECT printf('bench%09d', i), 'SANDBOX', eps.id, ?, 'USER_CREATED', 'PENDING', ?, ?, ?
		FROM n JOIN eps ON eps.k = n.i % ?`, pending, u.Event.ID, now, now, now, receivers).Error; err != nil {
		b.Fatal(err)
	}
	modelstest.WaitForCheckpoint(b, s)
	inFlight := func() (n int64) {
		for _, lr := range hung {
			n += lr.inFlight.Load()
		}
		return n
	}
	before := procStatus(b, "VmRSS")
	d, err := New(s, Config{Owner: "bench", Retention: -1, Jitter: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	d.Start(context.Background())
	deadline := time.Now().Add(60 * time.Second)
	for inFlight() < DefaultInFlight {
		if time.Now().After(deadline) {
			b.Fatalf("only %d requests in flight after a minute", inFlight())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // let it settle: idle rounds, the timer, the GC
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(inFlight()), "in-flight")
	b.ReportMetric(float64(d.Stats().Outstanding), "claimed")
	b.ReportMetric(before/1024, "rss-before-MB")
	b.ReportMetric(procStatus(b, "VmRSS")/1024, "rss-MB")
	b.ReportMetric(procStatus(b, "VmHWM")/1024, "peak-rss-MB")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d.Shutdown(ctx)
}

// procStatus reads a kB figure from /proc/self/status.
func procStatus(b *testing.B, key string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			if err != nil {
				b.Fatal(err)
			}
			return v
		}
	}
	b.Fatalf("%s not in /proc/self/status", key)
	return 0
}
