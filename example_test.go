package catalogvideo_test

import (
	"context"
	"fmt"
	"log"
	"math"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/manifest"
	"github.com/creativeai-run/catalogvideo/batch/outbox"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
	"github.com/creativeai-run/catalogvideo/webhook"
)

// Example takes a small catalog through the whole flow, wired as a partner
// app wires it: submit the manifest, receive the signed webhooks into the
// job store, and publish each finished video to its Shopify product. The
// render service and the Shopify store are the project's simulators, so it
// runs offline; a real app passes its own clients instead.
func Example() {
	ctx := context.Background()

	// The render service.
	srv := creativeaitest.NewServer(creativeaitest.WithSeed(1))
	defer srv.Close()

	// The job store, and the webhook receiver that makes each verified
	// event durable in it before answering 2xx.
	store := memstore.New()
	defer store.Close()
	verifier, err := webhook.NewVerifier([]string{srv.WebhookSecret})
	if err != nil {
		log.Fatal(err)
	}
	handler, err := webhook.NewHandler(verifier,
		webhook.EventHandlerFunc(func(ctx context.Context, e *webhook.Event) error {
			_, err := store.Apply(ctx, e.Generation)
			return err
		}))
	if err != nil {
		log.Fatal(err)
	}
	receiver := httptest.NewServer(handler)
	defer receiver.Close()

	// Submit the manifest; every row is tracked before its API call.
	rows, err := manifest.NewReader(strings.NewReader(`sku,image_url,video_prompt,target_surface
SKU-1001,https://cdn.example.com/catalog/mug-hero.jpg,"slow camera push, clean white sweep",shopify-pdp
SKU-1002,https://cdn.example.com/catalog/shoe-hero.jpg,"gentle rotation, dynamic shadow",shopify-pdp
SKU-1003,https://cdn.example.com/catalog/bag-hero.jpg,"soft natural light, editorial feel",shopify-pdp
`), "product-videos.csv")
	if err != nil {
		log.Fatal(err)
	}
	summary, err := batch.Run(ctx, batch.Config{
		Client:     srv.Client(),
		Store:      store,
		Rate:       math.Inf(1), // the simulator has no quota to protect
		WebhookURL: receiver.URL,
	}, rows.Rows())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Submitted %d/%d jobs\n", summary.Submitted, summary.Total())

	// Wait until every render has finished and its webhook was answered.
	if err := srv.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}

	// Publish the finished videos: the Shopify store has a product for each
	// SKU, and the outbox hands each completed job to the sink for its
	// target_surface.
	shop := shopifytest.NewServer()
	defer shop.Close()
	for _, row := range summary.Rows {
		shop.AddProduct(shopifytest.Product{Title: row.SKU, Variants: []shopifytest.Variant{{SKU: row.SKU}}})
	}
	// A real app names its store here; the endpoint points at the fake.
	sc, err := shopify.NewClient("", shopifytest.DefaultToken, shopify.WithEndpoint(shop.GraphQLURL))
	if err != nil {
		log.Fatal(err)
	}
	pub := shopify.NewPublisher(sc, shopify.WithPollInterval(10*time.Millisecond, 100*time.Millisecond))
	_, err = outbox.DeliverOnce(ctx, outbox.Config{
		Store: store,
		Sinks: map[string]outbox.Sink{
			"shopify-pdp": outbox.SinkFunc(func(ctx context.Context, job jobs.Job) (string, error) {
				return pub.Publish(ctx, job.Key, job.SKU, job.OutputURL)
			}),
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	// What the buyer sees, in manifest order.
	buyerCopy := jobs.DefaultBuyerCopy()
	for _, row := range summary.Rows {
		job, err := store.Get(ctx, row.Key)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s  %s  %s\n", job.SKU, job.Status, job.BuyerStatus(buyerCopy))
	}
	fmt.Println("Total cost:", summary.EstimatedCost)
	// Output:
	// Submitted 3/3 jobs
	// SKU-1001  completed  Video live - published to its destination
	// SKU-1002  completed  Video live - published to its destination
	// SKU-1003  completed  Video live - published to its destination
	// Total cost: $1.50
}
