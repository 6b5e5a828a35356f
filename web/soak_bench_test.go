package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokendesk/models"
)

// BenchmarkSoak runs mixed load (token refreshes, user creation with two
// endpoints receiving the webhooks, console pages) for TOKENDESK_SOAK (10m
// by default) and prints once a second the process's RSS, open files, the
// WAL's size and the p99 of that second's API requests; it reports the
// values after the first minute, at the middle and at the end. Run it with:
//
//	TOKENDESK_SOAK=10m go test ./web -run '^$' -bench Soak -benchtime 1x -timeout 30m
func BenchmarkSoak(b *testing.B) {
	dur := 10 * time.Minute
	if v := os.Getenv("TOKENDESK_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("TOKENDESK_SOAK: %v", err)
		}
		dur = d
	}
	// The test app keeps its log in memory, which would grow the RSS this
	// measures; the soak logs nowhere instead.
	cfg := DefaultConfig()
	cfg.DBPath = filepath.Join(b.TempDir(), "soak.db")
	cfg.RateLimit = 0
	cfg.AdminEmail, cfg.AdminPassword = testAdminEmail, testAdminPassword
	app, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { app.Shutdown(context.Background()) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go app.Serve(ln)
	base := "http://" + ln.Addr().String()
	ta := &testApp{App: app}
	key, err := app.Store().CreateAPIKey(context.Background(), models.Sandbox, "soak", "test")
	if err != nil {
		b.Fatal(err)
	}
	ta.sandbox = key.Key + ":" + key.Secret
	s := ta.Store()
	k, sec, _ := strings.Cut(ta.sandbox, ":")
	auth := "Basic " + basic(k, sec)
	var delivered atomic.Int64
	for _, name := range []string{"a", "b"} {
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { delivered.Add(1) }))
		b.Cleanup(rc.Close)
		res := ta.call(b, "POST", "/v1/webhooks", ta.sandbox,
			`{"name":"`+name+`","url":"`+rc.URL+`","eventTypes":["USER_CREATED"],"active":true,"secret":"soak secret"}`, nil)
		if res.Status != 200 {
			b.Fatalf("create webhook: %d %s", res.Status, res.Body)
		}
	}
	ids := fillUsers(b, s, models.Sandbox, 1000)
	console := ta.App.signedIn(b, models.RoleAdmin)

	var mu sync.Mutex
	var second []time.Duration
	var failed atomic.Int64
	record := func(d time.Duration, ok bool) {
		if !ok {
			failed.Add(1)
		}
		mu.Lock()
		second = append(second, d)
		mu.Unlock()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	post := func(path, body string) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			record(time.Since(t0), false)
			return
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		record(time.Since(t0), resp.StatusCode < 300)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	run := func(n int, fn func(i int)) {
		for w := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; ; i += n {
					select {
					case <-stop:
						return
					default:
					}
					fn(i)
				}
			}()
		}
	}
	run(24, func(i int) { post("/v1/tokens?userId="+ids[i%len(ids)], "") })
	run(4, func(int) { post("/v1/users", `{"externalMetadata":{"crm":"soak"}}`) })
	pages := []string{"/users", "/deliveries", "/webhooks", "/events", "/"}
	var consoleMu sync.Mutex // the console client keeps cookies in a map
	run(2, func(i int) {
		consoleMu.Lock()
		console.page("GET", pages[i%len(pages)], nil)
		consoleMu.Unlock()
		time.Sleep(50 * time.Millisecond)
	})

	type sample struct {
		at             time.Duration
		rssKB, fds     int64
		wal            int64
		p99ms          float64
		requests, errs int64
	}
	var samples []sample
	begin := time.Now()
	fmt.Printf("%8s %10s %6s %10s %8s %8s %6s\n", "t", "rss-KiB", "fds", "wal-B", "p99-ms", "req/s", "errors")
	tick := time.NewTicker(time.Second)
	for time.Since(begin) < dur {
		<-tick.C
		mu.Lock()
		lat := second
		second = nil
		mu.Unlock()
		smp := sample{at: time.Since(begin).Round(time.Second), rssKB: rssKB(), fds: openFiles(), wal: s.WALSize(),
			p99ms: p99(lat), requests: int64(len(lat)), errs: failed.Swap(0)}
		samples = append(samples, smp)
		fmt.Printf("%8s %10d %6d %10d %8.1f %8d %6d\n", smp.at, smp.rssKB, smp.fds, smp.wal, smp.p99ms, smp.requests, smp.errs)
	}
	tick.Stop()
	close(stop)
	wg.Wait()
	at := func(i int) sample { return samples[min(max(i, 0), len(samples)-1)] }
	for name, smp := range map[string]sample{"start": at(60), "middle": at(len(samples) / 2), "end": at(len(samples) - 1)} {
		b.ReportMetric(float64(smp.rssKB), name+"-rss-KiB")
		b.ReportMetric(float64(smp.wal), name+"-wal-B")
		b.ReportMetric(float64(smp.fds), name+"-fds")
		b.ReportMetric(smp.p99ms, name+"-p99-ms")
	}
	var walMax int64
	for _, smp := range samples {
		walMax = max(walMax, smp.wal)
	}
	b.ReportMetric(float64(walMax), "max-wal-B")
	b.ReportMetric(float64(delivered.Load()), "delivered")
}

func rssKB() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func openFiles() int64 {
	ents, _ := os.ReadDir("/proc/self/fd")
	return int64(len(ents))
}
