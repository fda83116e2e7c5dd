package examples_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/jsonlstore"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// TestReviewAcrossPrograms runs the review gate across processes sharing
// a job file: webhook-server -review shopify-pdp holds two finished
// videos; "jobs approve" in another process releases one, which the server
// then publishes to the fake Shopify store, and "jobs reject" keeps the
// other from ever reaching it. "jobs status" shows each state.
func TestReviewAcrossPrograms(t *testing.T) {
	t.Parallel()
	clip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("..", "batch", "console", "testdata", "clip.mp4"))
	}))
	defer clip.Close()
	shop := shopifytest.NewServer()
	defer shop.Close()
	products := map[string]string{}
	dir := t.TempDir()
	jobsFile := filepath.Join(dir, "video-jobs.jsonl")
	var lines strings.Builder
	for _, sku := range []string{"SKU-A", "SKU-B"} {
		products[sku] = shop.AddProduct(shopifytest.Product{Title: sku, Variants: []shopifytest.Variant{{SKU: sku}}})
		fmt.Fprintf(&lines, `{"key":"%s#k","sku":"%s","target_surface":"shopify-pdp","generation_id":"vgen_%s","status":"completed","output_url":"%s/%s.mp4","failover_used":false,"delivery_status":"pending"}`+"\n",
			sku, sku, sku, clip.URL, sku)
	}
	if err := os.WriteFile(jobsFile, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv("CREATIVEAI_WEBHOOK_SECRET=rph_test_signing_secret",
		"SHOPIFY_ADMIN_API_URL="+shop.GraphQLURL, "SHOPIFY_ADMIN_TOKEN="+shopifytest.DefaultToken)
	server, _ := startServer(t, env, "-jobs", jobsFile, "-poll-interval", "0", "-review", "shopify-pdp", "-shopify-poll-interval", "10ms")

	watch, err := jsonlstore.Open(jobsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	delivery := func(key string) jobs.DeliveryState {
		j, err := watch.Get(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		return j.Delivery
	}
	waitFor(t, time.Minute, "both videos held for review", func() (bool, error) {
		return delivery("SKU-A#k") == jobs.DeliveryAwaitingReview && delivery("SKU-B#k") == jobs.DeliveryAwaitingReview, nil
	})
	if res := runProgram(t, dir, cleanEnv(), "jobs", "-jobs", jobsFile, "status"); !strings.Contains(res.stdout, "awaiting review") {
		t.Errorf("jobs status does not show the held videos:\n%s", res.stdout)
	}

	res := runProgram(t, dir, cleanEnv(), "jobs", "-jobs", jobsFile, "reject", "SKU-B", "-reason", "logo is cropped")
	if res.code != 0 || !strings.Contains(res.stdout, "SKU-B (SKU-B#k): rejected: logo is cropped") {
		t.Fatalf("jobs reject exited %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	res = runProgram(t, dir, cleanEnv(), "jobs", "-jobs", jobsFile, "approve", "-all", "-note", "checked on a phone")
	if res.code != 0 || !strings.Contains(res.stdout, "SKU-A (SKU-A#k): approved") || strings.Contains(res.stdout, "SKU-B") {
		t.Fatalf("jobs approve -all exited %d (want only SKU-A approved)\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	waitFor(t, time.Minute, "the approved video published", func() (bool, error) {
		return delivery("SKU-A#k") == jobs.DeliveryDelivered, nil
	})
	if videos := shop.Media(products["SKU-A"]); len(videos) != 1 || videos[0].ContentType != "VIDEO" {
		t.Errorf("SKU-A's product has media %+v; want the approved video", videos)
	}
	if m := shop.Media(products["SKU-B"]); len(m) != 0 {
		t.Errorf("the rejected SKU-B reached Shopify: %+v", m)
	}
	res = runProgram(t, dir, cleanEnv(), "jobs", "-jobs", jobsFile, "approve", "SKU-A")
	if res.code != 2 || !strings.Contains(res.stderr, "SKU-A: job is not awaiting review: SKU-A#k was delivered already") {
		t.Errorf("approving a delivered job: exit %d; want 2 naming it\nstderr:\n%s", res.code, res.stderr)
	}
	if code := server.stop(syscall.SIGTERM, time.Minute); code != 0 {
		t.Errorf("webhook-server exited %d\n%s", code, server.stderr)
	}
}
