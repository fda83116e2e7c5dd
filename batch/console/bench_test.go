package console

import (
	"fmt"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// benchJobs is the store size the console is meant to stay usable at.
const benchJobs = 100_000

// benchStore holds benchJobs jobs: mostly published, 1% failed, spread
// evenly, so a failed page must read about a hundred jobs per row.
func benchStore(b *testing.B) (*memstore.Store, []string) {
	b.Helper()
	s := memstore.New()
	keys := make([]string, benchJobs)
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for i := range benchJobs {
		j := jobs.Job{Key: fmt.Sprintf("k%06d", i), SKU: fmt.Sprintf("SKU-%06d", i), Collection: fmt.Sprintf("c%d", i%20),
			TargetSurface: "shopify-pdp", ImageURL: "https://cdn.example.com/i.png", VideoPrompt: "slow turn",
			GenerationID: fmt.Sprintf("vgen_%d", i), Status: jobs.StatusCompleted, Delivery: jobs.DeliveryDelivered,
			CreatedAt: t0, UpdatedAt: t0}
		if i%100 == 50 {
			j.Status, j.Delivery, j.Error = jobs.StatusFailed, "", "content policy"
		}
		if err := s.Restore(memstore.Record{Job: &j}); err != nil {
			b.Fatal(err)
		}
		keys[i] = j.Key
	}
	return s, keys
}

// BenchmarkConsole100k measures what one page view reads from a memory
// store of 100,000 jobs: the counts (a full scan), the first page, the last
// page (a scan to the end), and filtered pages.
func BenchmarkConsole100k(b *testing.B) {
	s, keys := benchStore(b)
	ctx := b.Context()
	copy, p := jobs.DefaultBuyerCopy(), creativeai.DefaultPricing()
	// The baseline: reading every job with List and doing nothing else.
	b.Run("baseline/list-all", func(b *testing.B) {
		for b.Loop() {
			for _, err := range s.List(ctx, jobs.Filter{}) {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("summary", func(b *testing.B) {
		for b.Loop() {
			if _, err := summarize(ctx, s, copy, p, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		q    query
	}{
		{"page/first", query{Limit: DefaultPageSize}},
		{"page/middle", query{Limit: DefaultPageSize, After: keys[benchJobs/2]}},
		{"page/last", query{Limit: DefaultPageSize, After: keys[benchJobs-DefaultPageSize-1]}},
		{"page/failed-first", query{State: StateFailed, Limit: DefaultPageSize}},
		{"page/sku-search-miss", query{SKU: "no-such-sku", Limit: DefaultPageSize}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				rows, _, err := page(ctx, s, tc.q)
				if err != nil || (len(rows) == 0 && tc.q.SKU == "") {
					b.Fatal(err, len(rows))
				}
			}
		})
	}
}
