package cli

import (
	"context"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/outbox"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

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
