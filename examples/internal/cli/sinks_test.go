package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/outbox"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// The sinks in the outbox: a publish through the adapter attaches the
// video, a retry finds it instead of attaching it twice, and an unknown SKU
// is final.
func TestSinksShopify(t *testing.T) {
	ctx := t.Context()
	shop := shopifytest.NewServer()
	defer shop.Close()
	pid := shop.AddProduct(shopifytest.Product{Title: "Mug", Variants: []shopifytest.Variant{{SKU: "SKU-1001"}}})
	video := shop.AddVideo(shopifytest.Video{Size: 2048})
	pub := shopify.NewPublisher(shop.Client(), shopify.WithoutWaiting())
	sink := Sinks(pub, nil)[SurfaceShopifyPDP]

	job := jobs.Job{Key: "SKU-1001#k", SKU: "SKU-1001", OutputURL: video, Status: jobs.StatusCompleted}
	first, err := sink.Deliver(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	again, err := sink.Deliver(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if first == "" || again != first || len(shop.Media(pid)) != 1 {
		t.Errorf("refs %q then %q, %d media; want one video, found again on retry", first, again, len(shop.Media(pid)))
	}

	job.Key, job.SKU = "SKU-404#k", "SKU-404"
	if _, err := sink.Deliver(ctx, job); !outbox.IsPermanent(err) {
		t.Errorf("unknown SKU: %v, want a permanent error", err)
	}
}

// Without Shopify settings there is no shopify-pdp sink: the outbox leaves
// those jobs pending, unattempted, for a program that has the settings, and
// delivers the rest.
func TestSinksWithoutShopify(t *testing.T) {
	store := memstore.New()
	pdp := storetest.CompletedJob(t, store, "SKU-1", SurfaceShopifyPDP)
	ads := storetest.CompletedJob(t, store, "SKU-2", SurfaceMetaAds)
	sinks := Sinks(nil, nil)
	sinks[SurfaceMetaAds] = outbox.SinkFunc(func(context.Context, jobs.Job) (string, error) { return "ad-1", nil })
	if _, ok := sinks[SurfaceShopifyPDP]; ok {
		t.Fatal("a shopify-pdp sink without Shopify settings")
	}
	n, err := outbox.DeliverOnce(t.Context(), outbox.Config{Store: store, Sinks: sinks})
	if err != nil || n != 1 {
		t.Fatalf("DeliverOnce = %d, %v; want 1 attempt", n, err)
	}
	if got, _ := store.Get(t.Context(), ads.Key); got.Delivery != jobs.DeliveryDelivered {
		t.Errorf("meta-ads job: %s, want delivered", got.Delivery)
	}
	if got, _ := store.Get(t.Context(), pdp.Key); got.Delivery != jobs.DeliveryPending || got.DeliveryAttempts != 0 {
		t.Errorf("shopify-pdp job: %s after %d attempts, want pending after 0", got.Delivery, got.DeliveryAttempts)
	}
}

func TestUnrouted(t *testing.T) {
	for surface, want := range map[string]string{
		SurfaceShopifyPDP: "no Shopify store configured: set SHOPIFY_STORE",
		"cms":             `no delivery sink for target_surface "cms"`,
	} {
		_, err := Unrouted.Deliver(t.Context(), jobs.Job{SKU: "A", TargetSurface: surface})
		if !outbox.IsPermanent(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a permanent error containing %q", surface, err, want)
		}
	}
}
