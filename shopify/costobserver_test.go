package shopify_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/Khan/genqlient/graphql"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// TestCostObserver drains the fake's bucket with pacing off so that a
// query is answered THROTTLED and sent again: the observer sees every
// answer, the points it reports are what the bucket was debited, and its
// THROTTLED count is the server's.
func TestCostObserver(t *testing.T) {
	clock := shopifytest.NewVirtualClock(time.Unix(0, 0))
	srv := shopifytest.NewServer(shopifytest.WithBucket(100, 10), shopifytest.WithClock(clock))
	defer srv.Close()
	srv.AddProduct(shopifytest.Product{Title: "P", Variants: []shopifytest.Variant{{SKU: "P"}}})
	var (
		mu      sync.Mutex
		reports []shopify.CostReport
	)
	c := srv.Client(shopify.WithPacing(false), shopify.WithCostObserver(func(r shopify.CostReport) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, r)
	}), shopify.WithCostObserver(nil))
	send := func(op, doc string) {
		t.Helper()
		var data map[string]any
		if err := c.MakeRequest(context.Background(), &graphql.Request{OpName: op, Query: doc}, &graphql.Response{Data: &data}); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
	}
	for range 3 { // 10 points each
		send("Stage", `mutation Stage { stagedUploadsCreate(input: []) { userErrors { message } } }`)
	}
	send("Variants", `query Variants { productVariants(first: 40, query: "sku:P") { nodes { id product { id } } } }`) // 82 requested

	st := srv.Stats()
	if st.Throttled != 1 {
		t.Fatalf("the server answered THROTTLED %d times; want 1 (the test drains the bucket for that)", st.Throttled)
	}
	if len(reports) != 5 {
		t.Fatalf("observed %d answers, want 5 (3 mutations, a THROTTLED query and its resend): %+v", len(reports), reports)
	}
	var points float64
	throttled := 0
	for _, r := range reports {
		points += r.Actual
		if r.Throttled {
			throttled++
			if r.Operation != "Variants" || r.Requested != 82 || r.Actual != 0 {
				t.Errorf("throttled report %+v; want Variants, 82 requested, nothing debited", r)
			}
		}
	}
	if throttled != st.Throttled || points != st.PointsDebited {
		t.Errorf("observed %d THROTTLED and %g points; the server answered %d and debited %g", throttled, points, st.Throttled, st.PointsDebited)
	}
}
