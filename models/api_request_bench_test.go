package models_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// BenchmarkRecordAPIRequests measures the request log's writer: batches of
// 500 records, as the recorder writes them under load. It reports the rows
// per second one writer connection takes, which bounds what recording costs
// the API's own writes on the same connection:
//
//	go test ./models -run '^$' -bench RecordAPIRequests -benchtime 200x
func BenchmarkRecordAPIRequests(b *testing.B) {
	s := modelstest.MustOpenStore(b)
	ctx := context.Background()
	const batch = 500
	rs := make([]models.APIRequest, batch)
	n := 0
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		for i := range rs {
			n++
			rs[i] = models.APIRequest{ID: fmt.Sprintf("0190d6a8-%04x-7000-8000-%012x", n>>16&0xffff, n), Mode: models.Sandbox,
				APIKeyID: "k1", APIKey: "sk_test_x", Method: "POST", Path: "/v1/tokens", Query: "userId=acme-" + fmt.Sprint(n%1000),
				UserID: "acme-" + fmt.Sprint(n%1000), Status: 201, DurationUS: 800, IP: "127.0.0.1", CreatedAt: time.Now()}
		}
		if err := s.RecordAPIRequests(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batch), "µs/row")
	// CPU time is what a loaded machine distorts least.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N*batch), "cpu-µs/row")
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
