package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Appliers is how many goroutines BenchmarkApply applies events with, as a
// webhook receiver under load would.
const Appliers = 8

// BenchJob returns the i-th job BenchmarkApply expects a store to hold: a
// submitted, pending job with key "bench-<i>" and generation "vgen_bench_<i>".
// Stores seed them their fastest way (a written file, a bulk insert).
func BenchJob(i int) jobs.Job {
	j := newJob(fmt.Sprintf("bench-%d", i))
	j.GenerationID = fmt.Sprintf("vgen_bench_%d", i)
	j.CreatedAt, j.UpdatedAt = Epoch, Epoch
	return j
}

// benchRuns makes every BenchmarkApply call's statuses new, so that calls
// repeated on one store (b.N rounds, -count) still change their jobs.
var benchRuns atomic.Int64

// BenchmarkApply measures apply, usually a store's Apply method, with
// Appliers concurrent goroutines over jobs seeded with BenchJob(0) to
// BenchJob(jobs-1). Every event changes its job (the events step each job
// through provider statuses it has not had), so every Apply writes; ns/op is
// the cost per event.
func BenchmarkApply(b *testing.B, n int, apply func(context.Context, creativeai.Generation) (jobs.ApplyResult, error)) {
	run := benchRuns.Add(1)
	ctx := b.Context()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("vgen_bench_%d", i)
	}
	var next, unchanged atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range Appliers {
		wg.Go(func() {
			for {
				k := next.Add(1) - 1
				if k >= int64(b.N) {
					return
				}
				gen := creativeai.Generation{
					ID:     ids[k%int64(n)],
					Status: creativeai.Status(fmt.Sprintf("rendering-%d-%d", run, k/int64(n))),
				}
				r, err := apply(ctx, gen)
				if err != nil {
					b.Error(err)
					return
				}
				if !r.Changed {
					unchanged.Add(1)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if n := unchanged.Load(); n > 0 {
		b.Errorf("%d of %d events changed nothing; the store does not hold the BenchJob jobs", n, b.N)
	}
}
