package shopifysink_test

import (
	"fmt"
	"net/http"
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

// completed tracks a shopify-pdp job for sku and completes its render with
// output as the video, which puts it in the outbox.
func completed(t testing.TB, store jobs.Store, sku, output string) jobs.Job {
	t.Helper()
	ctx := t.Context()
	key := sku + "#k"
	if _, _, err := store.Track(ctx, jobs.Job{Key: key, SKU: sku, TargetSurface: "shopify-pdp"}); err != nil {
		t.Fatal(err)
	}
	id := "vgen_" + sku
	if _, err := store.RecordSubmission(ctx, key, jobs.Submission{Generation: &creativeai.Generation{ID: id, Status: creativeai.StatusPending}}); err != nil {
		t.Fatal(err)
	}
	res, err := store.Apply(ctx, creativeai.Generation{ID: id, Status: creativeai.StatusCompleted, OutputURL: output})
	if err != nil {
		t.Fatal(err)
	}
	return res.Job
}

// TestSinkThroughTheOutbox delivers completed jobs through the real outbox
// to the fake Admin API: a known SKU gets one video and its media id as the
// ref, a delivery repeated after a lost answer finds that video instead of
// attaching a second, and an unknown SKU fails delivery for good after one
// attempt.
func TestSinkThroughTheOutbox(t *testing.T) {
	shop := shopifytest.NewServer()
	defer shop.Close()
	pid := shop.AddProduct(shopifytest.Product{Title: "Mug", Variants: []shopifytest.Variant{{SKU: "SKU-1001"}}})
	pub := shopify.NewPublisher(shop.Client(), shopify.WithoutWaiting())
	sink := shopifysink.New(pub)
	store := memstore.New()
	defer store.Close()

	known := completed(t, store, "SKU-1001", shop.AddVideo(shopifytest.Video{Size: 4096}))
	completed(t, store, "SKU-404", shop.AddVideo(shopifytest.Video{Size: 4096}))
	n, err := outbox.DeliverOnce(t.Context(), outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"shopify-pdp": sink}})
	if n != 2 || err != nil {
		t.Fatalf("DeliverOnce = %d, %v; want 2 attempts", n, err)
	}
	got, err := store.Get(t.Context(), known.Key)
	if err != nil {
		t.Fatal(err)
	}
	media := shop.Media(pid)
	if got.Delivery != jobs.DeliveryDelivered || got.DeliveryRef == "" || len(media) != 1 {
		t.Fatalf("known SKU: delivery %q ref %q, %d media; want delivered with a media id and one video", got.Delivery, got.DeliveryRef, len(media))
	}
	again, err := sink.Deliver(t.Context(), got)
	if err != nil || again != got.DeliveryRef || len(shop.Media(pid)) != 1 {
		t.Errorf("repeated delivery: ref %q, %v, %d media; want the same video found again", again, err, len(shop.Media(pid)))
	}
	missing, err := store.Get(t.Context(), "SKU-404#k")
	if err != nil {
		t.Fatal(err)
	}
	if missing.Delivery != jobs.DeliveryFailed || missing.DeliveryAttempts != 1 {
		t.Errorf("unknown SKU: delivery %q after %d attempts; want failed after 1", missing.Delivery, missing.DeliveryAttempts)
	}
}

// TestSinkPlacementPerSurface gives two surfaces their own placement and
// checks the slot each video got, as recorded in the delivery ref.
func TestSinkPlacementPerSurface(t *testing.T) {
	shop := shopifytest.NewServer()
	defer shop.Close()
	shop.AddProduct(shopifytest.Product{Title: "Mug", Variants: []shopifytest.Variant{{SKU: "MUG-1"}}, Images: 3})
	shop.AddProduct(shopifytest.Product{Title: "Cup", Variants: []shopifytest.Variant{{SKU: "CUP-1"}}, Images: 3})
	pub := shopify.NewPublisher(shop.Client(), shopify.WithPollInterval(time.Millisecond, time.Millisecond), shopify.WithBatchID("night-1"))
	pdp, gallery := shopifysink.New(pub), shopifysink.New(pub, shopifysink.WithPlacement(shopify.Placement{Last: true}))
	for _, tc := range []struct {
		sink outbox.Sink
		sku  string
		want shopify.DeliveryRef
	}{
		{pdp, "MUG-1", shopify.DeliveryRef{Slot: 2, Batch: "night-1"}},
		{gallery, "CUP-1", shopify.DeliveryRef{Slot: 4, Batch: "night-1"}},
	} {
		ref, err := tc.sink.Deliver(t.Context(), jobs.Job{Key: tc.sku + "#k", SKU: tc.sku, OutputURL: shop.AddVideo(shopifytest.Video{Size: 64})})
		if err != nil {
			t.Fatal(err)
		}
		got, err := shopify.ParseDeliveryRef(ref)
		if err != nil || got.MediaID == "" || got.Slot != tc.want.Slot || got.Batch != tc.want.Batch {
			t.Errorf("%s: ref %q (%+v, %v), want slot %d in batch %s", tc.sku, ref, got, err, tc.want.Slot, tc.want.Batch)
		}
	}
}

// backlog is a virtual-clock store with n products and a memory job store
// with a due shopify-pdp job for each.
type backlog struct {
	shop     *shopifytest.Server
	store    jobs.Store
	products map[string]string // job key → product
}

func newBacklog(t *testing.T, n int) *backlog {
	shop := shopifytest.NewServer(shopifytest.WithClock(shopifytest.NewVirtualClock(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))))
	t.Cleanup(shop.Close)
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	b := &backlog{shop: shop, store: store, products: map[string]string{}}
	for i := range n {
		sku := fmt.Sprintf("CAT-%03d", i)
		pid := shop.AddProduct(shopifytest.Product{Title: "Product " + sku, Variants: []shopifytest.Variant{{SKU: sku}}})
		b.products[completed(t, store, sku, shop.AddVideo(shopifytest.Video{Size: 1024})).Key] = pid
	}
	return b
}

// config is the outbox's configuration with a shopifysink over the store.
func (b *backlog) config() outbox.Config {
	sink := shopifysink.New(shopify.NewPublisher(b.shop.Client()))
	return outbox.Config{Store: b.store, Sinks: map[string]outbox.Sink{"shopify-pdp": sink}}
}

// checkDelivered checks that every job is delivered with the ref of the
// one video on its product, after at most maxAttempts attempts.
func (b *backlog) checkDelivered(t *testing.T, maxAttempts int) {
	t.Helper()
	for key, pid := range b.products {
		job, err := b.store.Get(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		ref, perr := shopify.ParseDeliveryRef(job.DeliveryRef)
		videos := videoIDs(b.shop, pid)
		if job.Delivery != jobs.DeliveryDelivered || job.DeliveryAttempts > maxAttempts || perr != nil || len(videos) != 1 || ref.MediaID != videos[0] {
			t.Errorf("%s: %s %q after %d attempts, ref %q (%v); product has videos %v; want delivered within %d attempts with the ref of its one video",
				job.SKU, job.Delivery, job.DeliveryError, job.DeliveryAttempts, job.DeliveryRef, perr, videos, maxAttempts)
		}
	}
}

// videoIDs are the ids of the product's videos, in gallery order.
func videoIDs(shop *shopifytest.Server, productID string) []string {
	var ids []string
	for _, m := range shop.Media(productID) {
		if m.ContentType == "VIDEO" {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// TestSinkBatchesThroughBulkOperation delivers a backlog of 30 due
// shopify-pdp jobs through the real outbox: with the default BatchSize a
// worker hands them to the sink at once, which attaches them with one bulk
// operation (30 ≥ shopify.DefaultBulkThreshold) and no productUpdate call;
// each job ends delivered with the ref of the one video on its product.
// The same backlog with BatchSize 1 goes one job at a time, a productUpdate
// each.
func TestSinkBatchesThroughBulkOperation(t *testing.T) {
	const n = 30
	for _, tc := range []struct {
		batchSize            int
		bulk, lines, updates int
	}{
		{0, 1, n, 0}, // outbox.DefaultBatchSize
		{1, 0, 0, n},
	} {
		t.Run(fmt.Sprint("BatchSize ", tc.batchSize), func(t *testing.T) {
			b := newBacklog(t, n)
			cfg := b.config()
			cfg.BatchSize = tc.batchSize
			if got, err := outbox.DeliverOnce(t.Context(), cfg); got != n || err != nil {
				t.Fatalf("DeliverOnce = %d, %v; want %d attempts", got, err, n)
			}
			st := b.shop.Stats()
			if st.BulkOperations != tc.bulk || st.BulkLines != tc.lines || st.Calls["productUpdate"] != tc.updates {
				t.Errorf("bulk operations %d of %d lines, %d productUpdate calls; want %d, %d, %d",
					st.BulkOperations, st.BulkLines, st.Calls["productUpdate"], tc.bulk, tc.lines, tc.updates)
			}
			b.checkDelivered(t, 1)
		})
	}
}

// TestSinkBulkAnswerLost loses an answer of the bulk path while the outbox
// delivers a backlog of 30 jobs: the start of the bulk operation (which
// runs nonetheless, out of the publisher's sight) or a poll of it. The
// batch's jobs are retried, and each ends delivered with exactly one video
// on its product.
func TestSinkBulkAnswerLost(t *testing.T) {
	for _, field := range []string{"bulkOperationRunMutation", "node"} {
		t.Run(field, func(t *testing.T) {
			b := newBacklog(t, 30)
			b.shop.InjectFault(shopifytest.Fault{Field: field, Status: http.StatusBadGateway, AfterExecute: true})
			cfg := b.config()
			cfg.Backoff = func(int) time.Duration { return 0 }
			// With no backoff the retries come within the same call.
			if n, err := outbox.DeliverOnce(t.Context(), cfg); n < 30 || err != nil {
				t.Fatalf("DeliverOnce = %d, %v; want 30 attempts or more", n, err)
			}
			b.checkDelivered(t, 2)
		})
	}
}
