package console_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/creativeai-run/catalogvideo/batch/console"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/outbox"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifysink"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// TestBrowserApprovePublishes runs the review gate end to end: delivery
// workers hold two finished shopify-pdp videos for review; approving one
// in the page (a checkbox and "Approve selected") makes the workers publish
// it to the fake Shopify store, where its product gets the video, and the
// page shows it published; the one rejected on its job page, with a
// reason, never reaches Shopify.
func TestBrowserApprovePublishes(t *testing.T) {
	ctx := newBrowser(t)
	clip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, "testdata/clip.mp4")
	}))
	defer clip.Close()
	shop := shopifytest.NewServer()
	defer shop.Close()
	products := map[string]string{}
	for _, sku := range []string{"SKU-A", "SKU-B"} {
		products[sku] = shop.AddProduct(shopifytest.Product{Title: sku, Variants: []shopifytest.Variant{{SKU: sku}}})
	}

	store := memstore.New()
	for _, sku := range []string{"SKU-A", "SKU-B"} {
		j := storetest.CompletedJob(t, store, sku, "shopify-pdp")
		j.OutputURL = clip.URL + "/" + sku + ".mp4"
		if err := restore(store, j); err != nil {
			t.Fatal(err)
		}
	}
	pub := shopify.NewPublisher(shop.Client(), shopify.WithPollInterval(10*time.Millisecond, 50*time.Millisecond))
	workCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- outbox.Deliver(workCtx, outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"shopify-pdp": shopifysink.New(pub)},
			Review: []string{"shopify-pdp"}, PollInterval: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	h, err := console.New(console.Config{Store: store, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	// The workers hold both; the page counts them, live.
	do(t, ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#counts")))
	waitJS(t, ctx, `document.querySelector('#counts [data-state="awaiting_review"] .n').textContent === "2"`)
	for sku, pid := range products {
		if m := shop.Media(pid); len(m) != 0 {
			t.Fatalf("%s reached Shopify before review: %+v", sku, m)
		}
	}

	// Reject B on its job page, with a reason.
	do(t, ctx, chromedp.Navigate(srv.URL+"/job?key=SKU-B%23k"), chromedp.WaitVisible(chromedp.CSS("#reject")),
		chromedp.SendKeys(chromedp.CSS("#review-note"), "logo is cropped"), chromedp.Click(chromedp.CSS("#reject")))
	waitJS(t, ctx, `document.querySelector(".notice") && document.querySelector(".notice").textContent.includes("Rejected 1 job")`)
	if got := eval[string](t, ctx, `document.getElementById("review-note-text").textContent`); got != "logo is cropped" {
		t.Errorf("the job page shows review note %q", got)
	}

	// Approve A from the table: the one box left to tick for review.
	do(t, ctx, chromedp.Navigate(srv.URL+"/?state=awaiting_review"), chromedp.WaitVisible(chromedp.CSS(`#rows input[name="key"]`)))
	if disabled := eval[bool](t, ctx, `document.getElementById("approve-selected").disabled`); !disabled {
		t.Error("Approve selected is enabled with nothing selected")
	}
	// One script ticks and clicks: the live table is redrawn every poll,
	// which would swap the box between two separate clicks.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const box = document.querySelector('#rows input[value="SKU-A#k"]');
		box.click();
		document.getElementById("approve-selected").click();
	})()`))
	waitJS(t, ctx, `document.querySelector(".notice") && document.querySelector(".notice").textContent.includes("Approved 1 job")`)

	// The workers publish A; its page turns to published by itself (the
	// job's key holds a "#", which the page's poll must escape).
	do(t, ctx, chromedp.Navigate(srv.URL+"/job?key=SKU-A%23k"), chromedp.WaitVisible(chromedp.CSS("h1 .badge")))
	waitJS(t, ctx, `document.querySelector("h1 .badge").textContent === "published"`)
	a, err := store.Get(t.Context(), "SKU-A#k")
	if err != nil {
		t.Fatal(err)
	}
	media := shop.Media(products["SKU-A"])
	ref, err := shopify.ParseDeliveryRef(a.DeliveryRef)
	if len(media) != 1 || media[0].ContentType != "VIDEO" || a.Delivery != jobs.DeliveryDelivered || err != nil || ref.MediaID != media[0].ID {
		t.Errorf("SKU-A: job %s ref %q, product media %+v; want one video, its id recorded", a.Delivery, a.DeliveryRef, media)
	}
	if m := shop.Media(products["SKU-B"]); len(m) != 0 {
		t.Errorf("the rejected SKU-B reached Shopify: %+v", m)
	}
	if b, _ := store.Get(t.Context(), "SKU-B#k"); b.Delivery != jobs.DeliveryRejected || b.ReviewNote != "logo is cropped" {
		t.Errorf("SKU-B: %s %q; want rejected with the reason", b.Delivery, b.ReviewNote)
	}
}
