package memstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// BenchmarkClaim compares, in one run, the cost of claiming a delivery from
// an outbox of 1,000 due jobs and from one of 100,000: each op claims one
// job and records a failed attempt due again at once, so the outbox keeps its
// size. The index makes the two about equal; a scan of the outbox would make
// the second 100 times the first.
func BenchmarkClaim(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("due=%d", n), func(b *testing.B) {
			ctx := b.Context()
			now := storetest.Epoch.Add(time.Hour)
			s := memstore.New(memstore.WithClock(storetest.NewClock(now)))
			for i := range n {
				j := storetest.BenchJob(i)
				j.ApplyGeneration(creativeai.Generation{ID: j.GenerationID, Status: creativeai.StatusCompleted, OutputURL: "https://cdn.example.com/v.mp4"}, storetest.Epoch)
				if _, _, err := s.Track(ctx, j); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				got, err := s.ClaimDeliveries(ctx, jobs.Claim{Owner: "w", Limit: 1, Lease: time.Minute, Now: now})
				if err != nil || len(got) != 1 {
					b.Fatalf("claimed %d jobs, %v", len(got), err)
				}
				if _, err := s.RecordDelivery(ctx, got[0].Key, jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryPending, Error: "HTTP 503", NextAt: now}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
