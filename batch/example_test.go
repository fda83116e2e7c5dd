package batch_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
	"github.com/creativeai-run/catalogvideo/batch/memstore"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

func ExampleRun() {
	// The simulator stands in for the render service.
	sim := creativeaitest.NewServer(creativeaitest.WithManualRender())
	defer sim.Close()
	client, err := creativeai.NewClient(sim.APIKey, creativeai.WithBaseURL(sim.URL))
	if err != nil {
		log.Fatal(err)
	}
	m, err := manifest.NewReader(strings.NewReader(seedManifest), "product-videos.csv")
	if err != nil {
		log.Fatal(err)
	}
	store := memstore.New()
	cfg := batch.Config{
		Client:     client,
		Store:      store,
		Rate:       20,
		WebhookURL: "https://your-app.example.com/webhooks/creativeai",
	}
	sum, err := batch.Run(context.Background(), cfg, m.Rows())
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range sum.Rows {
		fmt.Println(r.SKU, r.Outcome, r.Status, r.Cost)
	}
	fmt.Printf("Submitted %d/%d jobs, estimated cost %s\n", sum.Submitted, sum.Total(), sum.EstimatedCost)

	// A rerun finds every row tracked and sends nothing.
	m, _ = manifest.NewReader(strings.NewReader(seedManifest), "product-videos.csv")
	sum, _ = batch.Run(context.Background(), cfg, m.Rows())
	fmt.Printf("rerun: %d skipped, %d renders in all\n", sum.Skipped, sim.Stats().Renders)
	// Output:
	// SKU-1001 submitted pending $0.50
	// SKU-1002 submitted pending $0.50
	// SKU-1003 submitted pending $0.50
	// Submitted 3/3 jobs, estimated cost $1.50
	// rerun: 3 skipped, 3 renders in all
}

func ExampleDeliverOnce() {
	ctx := context.Background()
	store := memstore.New()
	// A job whose render has completed waits in the outbox.
	job, _, _ := store.Track(ctx, jobs.Job{Key: "SKU-1001#1", SKU: "SKU-1001", TargetSurface: "shopify-pdp", Status: jobs.StatusPending})
	_, _ = store.RecordSubmission(ctx, job.Key, jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_abc123", Status: creativeai.StatusPending}})
	_, _ = store.Apply(ctx, creativeai.Generation{ID: "vgen_abc123", Status: creativeai.StatusCompleted, OutputURL: "https://cdn.example.com/abc123.mp4"})

	publish := batch.SinkFunc(func(ctx context.Context, job jobs.Job) (string, error) {
		fmt.Println("publishing", job.OutputURL, "to", job.SKU)
		return "gid://shopify/Video/1", nil
	})
	n, err := batch.DeliverOnce(ctx, batch.DeliverConfig{
		Store: store,
		Sinks: map[string]batch.Sink{"shopify-pdp": publish},
	})
	if err != nil {
		log.Fatal(err)
	}
	job, _ = store.Get(ctx, job.Key)
	fmt.Println(n, job.Delivery, job.DeliveryRef)
	fmt.Println(job.BuyerStatus(jobs.DefaultBuyerCopy()))
	// Output:
	// publishing https://cdn.example.com/abc123.mp4 to SKU-1001
	// 1 delivered gid://shopify/Video/1
	// Video live - published to its destination
}
