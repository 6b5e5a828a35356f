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

// BenchmarkDispatchQueue measures the database side of a delivery alone:
// claimed, then its attempt recorded, in batches as the dispatcher does.
func BenchmarkDispatchQueue(b *testing.B) {
	for _, batch := range []int{32, 128} {
		b.Run(fmt.Sprintf("batch of %d", batch), func(b *testing.B) {
			ctx := context.Background()
			s := modelstest.MustOpenStore(b)
			mustCreateEndpoint(&testing.T{}, s, models.Sandbox, "http://localhost/")
			for range b.N {
				if _, err := s.CreateUser(ctx, models.Sandbox, nil, "bench"); err != nil {
					b.Fatal(err)
				}
			}
			// The fill's WAL is copied into the database first, so the
			// background checkpoint doing it is not charged to the queue.
			modelstest.WaitForCheckpoint(b, s)
			q, err := s.OpenDispatchQueue(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			headers := map[string]string{"Content-Type": "application/json", "User-Agent": "tokendesk-webhooks/1",
				"Smile-Signature": fmt.Sprintf("%0128d", 7), "Webhook-Id": fmt.Sprintf("%032d", 1),
				"Webhook-Timestamp": "1700000000", "Webhook-Signature": "v1," + fmt.Sprintf("%044d", 3)}
			b.ResetTimer()
			var ru0 syscall.Rusage
			syscall.Getrusage(0, &ru0)
			var done []models.AttemptResult
			for sent := 0; sent < b.N; {
				claims, _, err := q.Exchange(ctx, "bench", done, nil, models.ClaimRequest{Limit: batch, Lease: time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				done = done[:0]
				for i, c := range claims {
					done = append(done, models.AttemptResult{Claim: &claims[i], Succeeded: true, Attempt: models.Attempt{
						DeliveryID: c.Delivery.ID, Mode: c.Delivery.Mode, Number: c.Number, Trigger: c.Trigger,
						URL: c.Endpoint.URL, RequestHeaders: headers, RequestBody: string(c.Payload),
						ResponseStatus: 200, ResponseHeaders: map[string]string{"Date": "x", "Content-Length": "0"},
						StartedAt: s.Now(), DurationMS: 1,
					}})
				}
				sent += len(claims)
				if len(claims) == 0 {
					break
				}
			}
			if err := q.RecordAttempts(ctx, "bench", done); err != nil {
				b.Fatal(err)
			}
			var ru1 syscall.Rusage
			syscall.Getrusage(0, &ru1)
			cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
			b.ReportMetric(float64(cpu)/float64(b.N)/1000, "cpu-µs/delivery")
			b.ReportMetric(float64(ru1.Stime.Nano()-ru0.Stime.Nano())/float64(b.N)/1000, "sys-µs/delivery")
		})
	}
}
