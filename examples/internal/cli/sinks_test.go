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

// The programs route shopify-pdp to the Shopify publisher (the sink itself
// is tested in shopify/shopifysink): an unknown SKU is final.
func TestSinksShopify(t *testing.T) {
	shop := shopifytest.NewServer()
	defer shop.Close()
	pub := shopify.NewPublisher(shop.Client(), shopify.WithoutWaiting())
	sink := Sinks(pub, nil)[SurfaceShopifyPDP]
	job := jobs.Job{Key: "SKU-404#k", SKU: "SKU-404", OutputURL: shop.AddVideo(shopifytest.Video{Size: 2048}), Status: jobs.StatusCompleted}
	if _, err := sink.Deliver(t.Context(), job); !outbox.IsPermanent(err) {
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
