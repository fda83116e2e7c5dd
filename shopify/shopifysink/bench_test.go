package shopifysink_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/outbox"
	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifysink"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// BenchmarkDeliverBacklog delivers a backlog of 200 due shopify-pdp jobs
// through the outbox with its default 4 workers, one job at a time
// (BatchSize 1: Publish calls, coalesced as they come) and in batches
// (the default BatchSize, 50: one PublishBatch each, attached by a bulk
// operation), and reports the cost points and GraphQL calls per video.
func BenchmarkDeliverBacklog(b *testing.B) {
	const n = 200
	for _, batchSize := range []int{1, outbox.DefaultBatchSize} {
		b.Run(fmt.Sprint("BatchSize=", batchSize), func(b *testing.B) {
			var points float64
			var calls, bulk, videos int
			for b.Loop() {
				shop := shopifytest.NewServer(shopifytest.WithBucket(1e6, 1e6))
				store := memstore.New()
				for i := range n {
					sku := fmt.Sprintf("CAT-%04d", i)
					shop.AddProduct(shopifytest.Product{Title: "Product " + sku, Variants: []shopifytest.Variant{{SKU: sku}}})
					completed(b, store, sku, shop.AddVideo(shopifytest.Video{Size: 1024}))
				}
				pub := shopify.NewPublisher(shop.Client(), shopify.WithPollInterval(time.Millisecond, 10*time.Millisecond))
				cfg := outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"shopify-pdp": shopifysink.New(pub)}, BatchSize: batchSize}
				if got, err := outbox.DeliverOnce(b.Context(), cfg); got != n || err != nil {
					b.Fatalf("DeliverOnce = %d, %v; want %d attempts", got, err, n)
				}
				st := shop.Stats()
				points += st.PointsDebited
				calls += st.Requests
				bulk += st.BulkOperations
				videos += n
				shop.Close()
				store.Close()
			}
			b.ReportMetric(points/float64(videos), "points/video")
			b.ReportMetric(float64(calls)/float64(videos), "calls/video")
			b.ReportMetric(float64(bulk)*n/float64(videos), "bulk-ops/200videos")
		})
	}
}
