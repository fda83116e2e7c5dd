package storetest_test

import (
	"context"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"

	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// A store given a manual clock stamps exact times, so a test can expect
// them: the clock moves only when the test advances it.
func ExampleNewClock() {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Epoch)
	store := memstore.New(memstore.WithClock(clock))
	defer store.Close()

	job, _, err := store.Track(ctx, jobs.Job{Key: "SKU-1001#1", SKU: "SKU-1001", TargetSurface: "shopify-pdp"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("tracked:  ", job.CreatedAt.Format(time.TimeOnly))

	clock.Advance(time.Second)
	gen := &creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusPending}
	if _, err := store.RecordSubmission(ctx, job.Key, jobs.Submission{Generation: gen}); err != nil {
		log.Fatal(err)
	}

	// The webhook carries no completed_at, so the store takes the clock's
	// time, and the delivery is due at once.
	clock.Advance(2 * time.Minute)
	res, err := store.Apply(ctx, creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusCompleted, OutputURL: "https://cdn.example.com/1.mp4"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("completed:", res.Job.CompletedAt.Format(time.TimeOnly))
	fmt.Println("due:      ", res.Job.DeliveryNextAt.Format(time.TimeOnly))
	// Output:
	// tracked:   08:00:00
	// completed: 08:02:01
	// due:       08:02:01
}

// A store written outside this module passes the same suite: its test
// calls Run with a function that opens a fresh, empty store reading the
// time from the clock it is given. Here the memory store stands in for
// yours.
func ExampleRun() {
	// In the store's package, as func TestConformance(t *testing.T):
	testConformance := func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, clock jobs.Clock) jobs.Store {
			store := memstore.New(memstore.WithClock(clock))
			t.Cleanup(func() { _ = store.Close() })
			return store
		})
	}
	_ = testConformance
}
