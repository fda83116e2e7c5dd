package outbox_test

import (
	"context"
	"fmt"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/outbox"
)

// The review gate holds shopify-pdp videos until a person approves them;
// the approval could come from another process sharing the store (the
// console, "jobs approve").
func ExampleConfig_review() {
	ctx := context.Background()
	store := memstore.New()
	_ = store.Restore(memstore.Record{Job: &jobs.Job{Key: "SKU-1#k", SKU: "SKU-1", TargetSurface: "shopify-pdp",
		Status: jobs.StatusCompleted, OutputURL: "https://cdn.example.com/SKU-1.mp4", Delivery: jobs.DeliveryPending}})
	cfg := outbox.Config{
		Store: store,
		Sinks: map[string]outbox.Sink{"shopify-pdp": outbox.SinkFunc(func(ctx context.Context, job jobs.Job) (string, error) {
			fmt.Println("publishing", job.SKU)
			return "gid://shopify/MediaVideo/1", nil
		})},
		Review: []string{"shopify-pdp"},
	}

	n, _ := outbox.DeliverOnce(ctx, cfg)
	job, _ := store.Get(ctx, "SKU-1#k")
	fmt.Println(n, "attempts;", job.Delivery)

	if _, err := store.Approve(ctx, "SKU-1#k", "colours match the PDP"); err != nil {
		fmt.Println(err)
	}
	n, _ = outbox.DeliverOnce(ctx, cfg)
	job, _ = store.Get(ctx, "SKU-1#k")
	fmt.Println(n, "attempt;", job.Delivery, job.DeliveryRef, "-", job.ReviewNote)
	// Output:
	// 0 attempts; awaiting_review
	// publishing SKU-1
	// 1 attempt; delivered gid://shopify/MediaVideo/1 - colours match the PDP
}
