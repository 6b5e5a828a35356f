package models_test

import (
	"context"
	"testing"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// BenchmarkCreateUser measures one store write of several statements in
// one transaction (the user, its metadata, its first token, its event and
// webhook deliveries), one after another on the writer:
//
//	go test ./models -run '^$' -bench CreateUser -benchtime 5000x
func BenchmarkCreateUser(b *testing.B) {
	s := modelstest.MustOpenStore(b)
	ctx := context.Background()
	mustCreateEndpoint(&testing.T{}, s, models.Sandbox, "http://localhost/")
	md := models.Metadata{"email": "a@example.com", "plan": "pro"}
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := s.CreateUser(ctx, models.Sandbox, md, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time is what a loaded machine distorts least.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}
