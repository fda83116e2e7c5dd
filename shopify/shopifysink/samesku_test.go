package shopifysink_test

import (
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

// TestSinkSameSKU delivers two jobs of one SKU, as two manifest rows with
// different prompts for shopify-pdp make, through the real outbox: both
// end delivered at once, and the product holds one video of the SKU, the
// newer job's (by CreatedAt, though its key sorts first). Delivered in one
// batch, the older job's video is published and then replaced; by two
// workers one job at a time, either that or, when the newer job got there
// first, the older one is superseded; when the older render finishes
// after the newer job was delivered, it is superseded.
func TestSinkSameSKU(t *testing.T) {
	for _, tc := range []struct {
		name               string
		batchSize, workers int
		olderFinishesLater bool
	}{
		{"one batch", 0, 1, false}, // outbox.DefaultBatchSize: one PublishBatch
		{"two workers", 1, 2, false},
		{"older finishes later", 0, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := shopifytest.NewVirtualClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
			shop := shopifytest.NewServer(shopifytest.WithClock(clock))
			defer shop.Close()
			pid := shop.AddProduct(shopifytest.Product{Title: "Mug", Variants: []shopifytest.Variant{{SKU: "SKU-1"}}, Images: 2})
			store := memstore.New(memstore.WithClock(clock))
			defer store.Close()
			older, newer := "SKU-1#zoom", "SKU-1#spin"
			for _, key := range []string{older, newer} {
				if _, _, err := store.Track(t.Context(), jobs.Job{Key: key, SKU: "SKU-1", TargetSurface: "shopify-pdp"}); err != nil {
					t.Fatal(err)
				}
				if _, err := store.RecordSubmission(t.Context(), key, jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_" + key, Status: creativeai.StatusPending}}); err != nil {
					t.Fatal(err)
				}
				clock.Advance(time.Minute)
			}
			sink := shopifysink.New(shopify.NewPublisher(shop.Client()))
			cfg := outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"shopify-pdp": sink}, BatchSize: tc.batchSize, Workers: tc.workers}
			finish := func(keys ...string) {
				for _, key := range keys {
					if _, err := store.Apply(t.Context(), creativeai.Generation{ID: "vgen_" + key, Status: creativeai.StatusCompleted,
						OutputURL: shop.AddVideo(shopifytest.Video{Size: 1024})}); err != nil {
						t.Fatal(err)
					}
				}
				if n, err := outbox.DeliverOnce(t.Context(), cfg); n != len(keys) || err != nil {
					t.Fatalf("DeliverOnce = %d, %v; want %d attempts", n, err, len(keys))
				}
			}
			if tc.olderFinishesLater {
				finish(newer)
				finish(older)
			} else {
				finish(older, newer)
			}

			refs := map[string]shopify.DeliveryRef{}
			for _, key := range []string{older, newer} {
				job, err := store.Get(t.Context(), key)
				if err != nil {
					t.Fatal(err)
				}
				ref, err := shopify.ParseDeliveryRef(job.DeliveryRef)
				if job.Delivery != jobs.DeliveryDelivered || job.DeliveryAttempts != 1 || err != nil {
					t.Fatalf("%s: %s %q after %d attempts, ref %q (%v); want delivered at once",
						key, job.Delivery, job.DeliveryError, job.DeliveryAttempts, job.DeliveryRef, err)
				}
				refs[key] = ref
			}
			o, n := refs[older], refs[newer]
			videos := videoIDs(shop, pid)
			replaced := !o.Superseded && o.Slot == 2 && o.Replaced == "" && n.Replaced == o.MediaID
			superseded := o.Superseded && o.MediaID == n.MediaID && n.Replaced == ""
			truthful := replaced
			switch {
			case tc.olderFinishesLater:
				truthful = superseded
			case tc.batchSize == 1:
				truthful = replaced || superseded
			}
			if len(videos) != 1 || videos[0] != n.MediaID || n.Slot != 2 || !truthful {
				t.Errorf("videos %v on the product; refs older %q, newer %q: want the newer job's video alone at slot 2, and the older one's ref true", videos, o, n)
			}
		})
	}
}
