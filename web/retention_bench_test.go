package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// BenchmarkTokensDuringPrune measures POST /v1/tokens (32 keep-alive
// connections, as BenchmarkRefreshToken) for 10 s with nothing else going
// on, then while a prune deletes a million attempts older than their
// retention, and reports both p99s and how long the prune took. Run it with:
//
//	go test ./web -run '^$' -bench TokensDuringPrune -benchtime 1x
func BenchmarkTokensDuringPrune(b *testing.B) {
	const rows = 1_000_000
	ta, base := startServer(b, func(c *Config) { c.Retention = models.Retention{} }) // prune by hand only
	s := ta.Store()
	ids := fillUsers(b, s, models.Sandbox, 1000)
	fillOldAttempts(b, ta, rows, s.Now().Add(-60*24*time.Hour))
	modelstest.WaitForCheckpoint(b, s)
	k, sec, _ := strings.Cut(ta.sandbox, ":")
	auth := "Basic " + basic(k, sec)

	b.ResetTimer()
	tenSeconds := make(chan struct{})
	time.AfterFunc(10*time.Second, func() { close(tenSeconds) })
	idle := tokenLoad(b, base, auth, ids, tenSeconds)
	done := make(chan struct{})
	var pruned map[string]int64
	var pruneErr error
	begin := time.Now()
	go func() {
		defer close(done)
		pruned, pruneErr = s.Prune(context.Background(), models.Retention{Attempts: 30 * 24 * time.Hour})
	}()
	during := tokenLoad(b, base, auth, ids, done)
	took := time.Since(begin)
	b.StopTimer()
	if pruneErr != nil || pruned["attempts"] != rows {
		b.Fatalf("prune: %v, %v", pruned, pruneErr)
	}
	b.ReportMetric(p99(idle), "idle-p99-ms")
	b.ReportMetric(p99(during), "pruning-p99-ms")
	b.ReportMetric(float64(len(idle))/10, "idle-req/s")
	b.ReportMetric(float64(len(during))/took.Seconds(), "pruning-req/s")
	b.ReportMetric(took.Seconds(), "prune-s")
}

func p99(lat []time.Duration) float64 {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return float64(lat[int(float64(len(lat)-1)*0.99)].Microseconds()) / 1000
}

// tokenLoad refreshes tokens from 32 connections until stop and returns
// the latency of every request.
func tokenLoad(b *testing.B, base, auth string, ids []string, stop <-chan struct{}) []time.Duration {
	const conns = 32
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	lat := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	quit := make(chan struct{})
	go func() { <-stop; close(quit) }()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += conns {
				select {
				case <-quit:
					return
				default:
				}
				req, _ := http.NewRequest("POST", base+"/v1/tokens?userId="+ids[i%len(ids)], nil)
				req.Header.Set("Authorization", auth)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				buf := make([]byte, 1024)
				for {
					if _, err := resp.Body.Read(buf); err != nil {
						break
					}
				}
				resp.Body.Close()
				if resp.StatusCode != 201 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	client.CloseIdleConnections()
	return slices.Concat(lat...)
}

// fillOldAttempts writes n attempts started at `at`, with bodies the size
// of a real USER_CREATED delivery, under one delivery of one endpoint.
func fillOldAttempts(b *testing.B, ta *testApp, n int, at time.Time) {
	s := ta.Store()
	ctx := context.Background()
	name, url, active, secret := "bench", "http://127.0.0.1:9/hook", true, "bench-secret"
	if _, err := s.CreateWebhookEndpoint(ctx, models.Sandbox, models.WebhookInput{
		Name: &name, URL: &url, EventTypes: []string{"USER_CREATED"}, Active: &active, Secret: &secret}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, models.Sandbox, nil, "bench"); err != nil {
		b.Fatal(err)
	}
	db, err := s.W.DB()
	if err != nil {
		b.Fatal(err)
	}
	var delivery string
	if err := db.QueryRow("SELECT id FROM deliveries LIMIT 1").Scan(&delivery); err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("x", 300)
	const batch = 50_000
	for done := 0; done < n; done += batch {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.Prepare(`INSERT INTO attempts(id, delivery_id, mode, number, trigger, url, request_headers,
			request_body, response_status, response_body, started_at) VALUES (?, ?, 'SANDBOX', ?, 'AUTOMATIC', ?, '{}', ?, 200, 'ok', ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for i := done; i < min(n, done+batch); i++ {
			if _, err := stmt.Exec(fmt.Sprintf("a%09d", i), delivery, i+1, url, body, at.UnixMilli()); err != nil {
				b.Fatal(err)
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
