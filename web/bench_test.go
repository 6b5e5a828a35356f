package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// fillUsers inserts n users of mode, a thousand rows per statement and
// per transaction, through GORM so that one text serves SQLite and
// PostgreSQL: a million-user database is ready in seconds on either. (On
// PostgreSQL larger transactions are slower, not faster: the users
// counter's trigger rewrites one row once per user, and the versions one
// transaction leaves behind are walked by each next update.) It returns
// some of their ids.
func fillUsers(tb testing.TB, s *models.Store, mode models.Mode, n int) []string {
	tb.Helper()
	const perStmt = 1_000 // 3,000 parameters: under both databases' limits
	start := time.Now().Add(-time.Duration(n) * time.Second).UnixMilli()
	var sample []string
	for from := 0; from < n; from += perStmt {
		to := min(n, from+perStmt)
		var q strings.Builder
		q.WriteString("INSERT INTO users(id, mode, external_metadata, created_at) VALUES ")
		args := make([]any, 0, 3*(to-from))
		for i := from; i < to; i++ {
			if i > from {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, '{}', ?)")
			id := fmt.Sprintf("%s-%032x", s.TenantID, i)
			args = append(args, id, string(mode), start+int64(i)*1000)
			if i%(max(1, n/1000)) == 0 {
				sample = append(sample, id)
			}
		}
		if err := s.W.Exec(q.String(), args...).Error; err != nil {
			tb.Fatalf("fill users: %v", err)
		}
	}
	return sample
}

// BenchmarkRefreshToken drives POST /v1/tokens on a real loopback server
// with 32 concurrent keep-alive connections, the load shape, and
// reports requests/s and latency percentiles. Run it with:
//
//	go test ./web -run '^$' -bench RefreshToken -benchtime 40000x
func BenchmarkRefreshToken(b *testing.B) {
	for _, users := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			ta, base := startServer(b, nil)
			ids := fillUsers(b, ta.Store(), models.Sandbox, users)
			driveRefresh(b, ta, base, ids)
			ta.Shutdown(context.Background())
		})
	}
}

// BenchmarkRefreshTokenRecorded measures what the API request log costs
// POST /v1/tokens: the same load with recording off and on, alternating
// round by round in the same run so that a noisy machine affects both
// alike (compare the medians of the rounds):
//
//	go test ./web -run '^$' -bench RefreshTokenRecorded -benchtime 40000x
func BenchmarkRefreshTokenRecorded(b *testing.B) {
	for round := 1; round <= 5; round++ {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("round=%d/log=%v", round, on), func(b *testing.B) {
				ta, base := startServer(b, func(c *Config) { c.noRequestLog = !on })
				ids := fillUsers(b, ta.Store(), models.Sandbox, 1_000)
				driveRefresh(b, ta, base, ids)
				ta.Shutdown(context.Background())
			})
		}
	}
}

// driveRefresh sends b.N token refreshes over 32 connections and reports
// throughput and latency.
func driveRefresh(b *testing.B, ta *testApp, base string, ids []string) {
	k, s, _ := strings.Cut(ta.sandbox, ":")
	auth := "Basic " + basic(k, s)
	drivePOST(b, func(i int) *http.Request {
		req, _ := http.NewRequestWithContext(context.Background(), "POST", base+"/v1/tokens?userId="+ids[i%len(ids)], nil)
		req.Header.Set("Authorization", auth)
		return req
	})
}

// drivePOST sends b.N requests made by next over 32 keep-alive
// connections, the load shape, and reports requests/s, p50 and
// p99, failures (answers other than 201) and CPU per request.
func drivePOST(b *testing.B, next func(i int) *http.Request) {
	const conns = 32
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	defer client.CloseIdleConnections()
	var counter atomic.Int64
	lat := make([][]time.Duration, conns)
	var failed atomic.Int64
	pgCPU := modelstest.PostgresCPU(b)
	var pg0 time.Duration
	if pgCPU != nil {
		pg0 = pgCPU()
	}
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	begin := time.Now()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := counter.Add(1)
				if i > int64(b.N) {
					return
				}
				req := next(int(i))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				buf := make([]byte, 1024)
				for {
					if _, err := resp.Body.Read(buf); err != nil {
						break
					}
				}
				resp.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
				if resp.StatusCode != 201 {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		b.Fatal("no request succeeded")
	}
	pct := func(p float64) float64 { return float64(all[int(float64(len(all)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(failed.Load()), "failed")
	// CPU per request (server and client, same process) is what a machine
	// shared with other work distorts least.
	var ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/req")
	// On PostgreSQL the server's share is the other half of the cost.
	if pgCPU != nil {
		b.ReportMetric(float64((pgCPU()-pg0).Microseconds())/float64(b.N), "pg-cpu-µs/req")
	}
}
