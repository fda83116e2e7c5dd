package shopifysink_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/outbox"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifysink"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// TestSinkSameSKU delivers two finished jobs of one SKU, as two manifest
// rows with different prompts for shopify-pdp make, through the real
// outbox: both end delivered, and the product holds one video of the SKU,
// which replaced the other, as the two refs say. Delivered in one batch,
// the newer job's video (by CreatedAt, though its key sorts first) is the
// one that stays; by two workers one job at a time, the second to publish
// replaces the first.
func TestSinkSameSKU(t *testing.T) {
	for _, tc := range []struct {
		batchSize, workers int
		newerStays         bool
	}{
		{0, 1, true}, // outbox.DefaultBatchSize: one PublishBatch
		{1, 2, false},
	} {
		t.Run(fmt.Sprintf("BatchSize %d, %d workers", tc.batchSize, tc.workers), func(t *testing.T) {
			clock := shopifytest.NewVirtualClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
			shop := shopifytest.NewServer(shopifytest.WithClock(clock))
			defer shop.Close()
			pid := shop.AddProduct(shopifytest.Product{Title: "Mug", Variants: []shopifytest.Variant{{SKU: "SKU-1"}}, Images: 2})
			store := memstore.New(memstore.WithClock(clock))
			defer store.Close()
			var keys []string
			for _, prompt := range []string{"zoom", "spin"} { // zoom is the older
				key := "SKU-1#" + prompt
				keys = append(keys, key)
				if _, _, err := store.Track(t.Context(), jobs.Job{Key: key, SKU: "SKU-1", TargetSurface: "shopify-pdp"}); err != nil {
					t.Fatal(err)
				}
				if _, err := store.RecordSubmission(t.Context(), key, jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_" + prompt, Status: creativeai.StatusPending}}); err != nil {
					t.Fatal(err)
				}
				if _, err := store.Apply(t.Context(), creativeai.Generation{ID: "vgen_" + prompt, Status: creativeai.StatusCompleted,
					OutputURL: shop.AddVideo(shopifytest.Video{Size: 1024})}); err != nil {
					t.Fatal(err)
				}
				clock.Advance(time.Minute)
			}
			sink := shopifysink.New(shopify.NewPublisher(shop.Client()))
			cfg := outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"shopify-pdp": sink}, BatchSize: tc.batchSize, Workers: tc.workers}
			if n, err := outbox.DeliverOnce(t.Context(), cfg); n != 2 || err != nil {
				t.Fatalf("DeliverOnce = %d, %v; want 2 attempts", n, err)
			}

			refs := map[string]shopify.DeliveryRef{} // by key
			for _, key := range keys {
				job, err := store.Get(t.Context(), key)
				if err != nil {
					t.Fatal(err)
				}
				ref, err := shopify.ParseDeliveryRef(job.DeliveryRef)
				if job.Delivery != jobs.DeliveryDelivered || job.DeliveryAttempts != 1 || err != nil || ref.Slot != 2 {
					t.Fatalf("%s: %s %q after %d attempts, ref %q (%v); want delivered at once at slot 2",
						key, job.Delivery, job.DeliveryError, job.DeliveryAttempts, job.DeliveryRef, err)
				}
				refs[key] = ref
			}
			first, last := refs[keys[0]], refs[keys[1]]
			if !tc.newerStays && first.Replaced != "" {
				first, last = last, first
			}
			var videos []string
			for _, m := range shop.Media(pid) {
				if m.ContentType == "VIDEO" {
					videos = append(videos, m.ID)
				}
			}
			if len(videos) != 1 || videos[0] != last.MediaID || last.Replaced != first.MediaID || first.Replaced != "" {
				t.Errorf("videos %v on the product; refs %+v: want one video, whose ref says it replaced the other", videos, refs)
			}
		})
	}
}
