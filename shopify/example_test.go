package shopify_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

func ExampleNewClient() {
	c, err := shopify.NewClient("my-shop", "shpat_…", shopify.WithAPIVersion("2026-07"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Endpoint())
	// Output: https://my-shop.myshopify.com/admin/api/2026-07/graphql.json
}

func ExampleClient_LookupSKUs() {
	srv := shopifytest.NewServer()
	defer srv.Close()
	srv.AddProduct(shopifytest.Product{Title: "Linen Shirt", Variants: []shopifytest.Variant{{SKU: "SHIRT-S"}, {SKU: "SHIRT-M"}}})
	srv.AddProduct(shopifytest.Product{Title: "Mug", Variants: []shopifytest.Variant{{SKU: "mug-1"}}})

	found, err := srv.Client().LookupSKUs(context.Background(), []string{"SHIRT-M", "MUG-1", "SHIRT-S"})
	fmt.Println(found["SHIRT-M"].ProductTitle, found["SHIRT-S"].ProductID)
	// The search matched mug-1 for MUG-1, but SKUs are compared exactly.
	fmt.Println(errors.Is(err, shopify.ErrSKUNotFound), err)
	fmt.Println("lookup calls:", srv.Calls("productVariants"))
	// Output:
	// Linen Shirt gid://shopify/Product/1001
	// true shopify: no product variant has SKU "MUG-1"
	// lookup calls: 1
}

func ExamplePublisher_PublishVideo() {
	clock := shopifytest.NewVirtualClock(time.Now())
	srv := shopifytest.NewServer(shopifytest.WithClock(clock), shopifytest.WithReadyAfter(45*time.Second))
	defer srv.Close()
	srv.AddProduct(shopifytest.Product{Title: "Linen Shirt", Variants: []shopifytest.Variant{{SKU: "SHIRT-M"}}})
	outputURL := srv.AddVideo(shopifytest.Video{Size: 8 << 20}) // the render's output_url

	pub := shopify.NewPublisher(srv.Client())
	job := shopify.VideoJob{Key: "spring-shirts/SHIRT-M/1", SKU: "SHIRT-M", OutputURL: outputURL, Alt: "Linen shirt, front"}
	res, err := pub.PublishVideo(context.Background(), job)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.MediaID, res.Status)

	// Publishing the job again (a retry after a crash) finds the video.
	again, err := pub.PublishVideo(context.Background(), job)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(again.MediaID, again.Status, "reused:", again.Reused)

	m := srv.Media(res.ProductID)[0]
	fmt.Println(m.Alt)
	fmt.Println(srv.Stats().Uploads, "upload of", m.Bytes, "bytes")
	// Output:
	// gid://shopify/Video/1005 READY
	// gid://shopify/Video/1005 READY reused: true
	// Linen shirt, front
	// 1 upload of 8388608 bytes
}

// deliverySink is the interface a delivery outbox defines; the shopify
// package does not import it.
type deliverySink interface {
	Deliver(ctx context.Context, key, sku, outputURL string) (ref string, err error)
}

// shopifySink adapts a Publisher to the outbox's interface.
type shopifySink struct{ p *shopify.Publisher }

func (s shopifySink) Deliver(ctx context.Context, key, sku, outputURL string) (string, error) {
	return s.p.Publish(ctx, key, sku, outputURL)
}

func ExamplePublisher_Publish() {
	srv := shopifytest.NewServer()
	defer srv.Close()
	srv.AddProduct(shopifytest.Product{Title: "Mug", Variants: []shopifytest.Variant{{SKU: "MUG-1"}}})
	url := srv.AddVideo(shopifytest.Video{Size: 1 << 20})

	var sink deliverySink = shopifySink{shopify.NewPublisher(srv.Client(), shopify.WithoutWaiting())}
	ref, err := sink.Deliver(context.Background(), "job-1", "MUG-1", url)
	fmt.Println(ref, err)

	// The outbox tells failures to give up on from ones to retry.
	_, err = sink.Deliver(context.Background(), "job-2", "NO-SUCH-SKU", url)
	var p interface{ Permanent() bool }
	fmt.Println(errors.As(err, &p) && p.Permanent(), err)
	// Output:
	// gid://shopify/Video/1005 <nil>
	// true shopify: no product variant has SKU "NO-SUCH-SKU"
}

func ExamplePublisher_PublishBatch() {
	clock := shopifytest.NewVirtualClock(time.Now())
	srv := shopifytest.NewServer(shopifytest.WithClock(clock), shopifytest.WithReadyAfter(30*time.Second))
	defer srv.Close()
	var jobs []shopify.VideoJob
	for i := range 40 {
		sku := fmt.Sprintf("TEE-%02d", i)
		srv.AddProduct(shopifytest.Product{Title: "Tee " + sku, Variants: []shopifytest.Variant{{SKU: sku}}})
		jobs = append(jobs, shopify.VideoJob{Key: "drop-7/" + sku, SKU: sku, OutputURL: srv.AddVideo(shopifytest.Video{Size: 1 << 20})})
	}

	// 40 videos to attach is past DefaultBulkThreshold (25): they are
	// attached by one bulk operation, not 40 productUpdate calls.
	pub := shopify.NewPublisher(srv.Client())
	ready := 0
	for _, o := range pub.PublishBatch(context.Background(), jobs) {
		if o.Err == nil && o.Result.Status == shopify.MediaStatusReady {
			ready++
		}
	}
	st := srv.Stats()
	fmt.Println(ready, "videos READY")
	fmt.Println("lookups:", st.Calls["productVariants"], "stagings:", st.Calls["stagedUploadsCreate"],
		"bulk operations:", st.BulkOperations, "productUpdate calls:", st.Calls["productUpdate"])
	// Output:
	// 40 videos READY
	// lookups: 1 stagings: 5 bulk operations: 1 productUpdate calls: 0
}

func ExamplePublisher_Rollback() {
	clock := shopifytest.NewVirtualClock(time.Now())
	srv := shopifytest.NewServer(shopifytest.WithClock(clock))
	defer srv.Close()
	pid := srv.AddProduct(shopifytest.Product{Title: "Wool Coat", Variants: []shopifytest.Variant{{SKU: "COAT-S"}}, Images: 3})
	pub := shopify.NewPublisher(srv.Client())
	ctx := context.Background()

	// The first video goes to slot 2, right after the hero image.
	first, err := pub.PublishVideo(ctx, shopify.VideoJob{Key: "coat/1", SKU: "COAT-S", OutputURL: srv.AddVideo(shopifytest.Video{Size: 1 << 20})})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("first at slot", first.Slot, "alt:", srv.Media(pid)[1].Alt)

	// A new job for the SKU replaces it, in its slot.
	second, err := pub.PublishVideo(ctx, shopify.VideoJob{Key: "coat/2", SKU: "COAT-S", OutputURL: srv.AddVideo(shopifytest.Video{Size: 1 << 20})})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("second at slot", second.Slot, "replaced the first:", second.Replaced == first.MediaID)

	// Rolling the second job back restores the first video.
	rb, err := pub.Rollback(ctx, "coat/2", "COAT-S")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("restored the first:", rb.Restored == first.MediaID, "at slot", rb.Slot, "media:", len(srv.Media(pid)))
	// Output:
	// first at slot 2 alt: Wool Coat – product video
	// second at slot 2 replaced the first: true
	// restored the first: true at slot 2 media: 4
}
