package cli

import (
	"context"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/outbox"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

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

func TestSinksWithoutShopify(t *testing.T) {
	sinks := Sinks(nil, &AdPipelineSink{})
	_, err := sinks[SurfaceShopifyPDP].Deliver(context.Background(), jobs.Job{SKU: "A"})
	if err == nil || outbox.IsPermanent(err) {
		t.Errorf("unconfigured Shopify: %v, want an error that is retried", err)
	}
	if _, ok := sinks[SurfaceMetaAds]; !ok {
		t.Error("no meta-ads sink")
	}
}
