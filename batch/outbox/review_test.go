package outbox_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/jsonlstore"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/outbox"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
)

// TestReviewGate runs the review gate against every store: a held
// surface's video never reaches its sink until approved, however often the
// outbox runs, while another surface's is delivered at once; a rejected
// video is never delivered.
func TestReviewGate(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(jobs.Clock) jobs.Store) {
		clock := storetest.NewClock(storetest.Epoch)
		store := open(clock)
		held := storetest.CompletedJob(t, store, "SKU-1", "shopify-pdp")
		rejected := storetest.CompletedJob(t, store, "SKU-2", "shopify-pdp")
		ads := storetest.CompletedJob(t, store, "SKU-3", "meta-ads")
		pdp, meta := &recordingSink{}, &recordingSink{}
		var reported []string
		cfg := outbox.Config{
			Store: store, Clock: clock, Workers: 1, // OnResult appends without a lock
			Sinks:    map[string]outbox.Sink{"shopify-pdp": pdp, "meta-ads": meta},
			Review:   []string{"shopify-pdp"},
			OnResult: func(job jobs.Job, err error) { reported = append(reported, job.SKU) },
		}
		deliverOnce(t, cfg, 1)
		for range 3 {
			clock.Advance(time.Hour)
			deliverOnce(t, cfg, 0)
		}
		if pdp.count(held.Key) != 0 || pdp.count(rejected.Key) != 0 || meta.count(ads.Key) != 1 {
			t.Fatalf("sink calls: pdp %v, meta %v; want only SKU-3 delivered", pdp.calls, meta.calls)
		}
		if strings.Join(reported, ",") != "SKU-3" {
			t.Errorf("OnResult saw %v; want only SKU-3 (a hold is no attempt)", reported)
		}
		for _, key := range []string{held.Key, rejected.Key} {
			got, err := store.Get(t.Context(), key)
			if err != nil || got.Delivery != jobs.DeliveryAwaitingReview || got.DeliveryAttempts != 0 {
				t.Fatalf("held job %s: %+v, %v; want awaiting_review after no attempt", key, got, err)
			}
		}
		if _, err := store.Reject(t.Context(), rejected.Key, "wrong colourway"); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Approve(t.Context(), held.Key, "ok"); err != nil {
			t.Fatal(err)
		}
		deliverOnce(t, cfg, 1)
		got, err := store.Get(t.Context(), held.Key)
		if err != nil || got.Delivery != jobs.DeliveryDelivered || pdp.count(held.Key) != 1 {
			t.Errorf("approved job: %+v, %v, %d sink calls; want delivered once", got, err, pdp.count(held.Key))
		}
		clock.Advance(24 * time.Hour)
		deliverOnce(t, cfg, 0)
		if got, _ := store.Get(t.Context(), rejected.Key); pdp.count(rejected.Key) != 0 || got.Delivery != jobs.DeliveryRejected || got.ReviewNote != "wrong colourway" {
			t.Errorf("rejected job: %+v after %d sink calls; want rejected, never delivered", got, pdp.count(rejected.Key))
		}
	})
}

// TestReviewApprovalFromAnotherStore holds a video through one Store of a
// job file and approves it through a second Store of the same file, as
// "jobs approve" in another process does: the first Store's worker then
// delivers it.
func TestReviewApprovalFromAnotherStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.jsonl")
	clock := storetest.NewClock(storetest.Epoch)
	openFile := func() *jsonlstore.Store {
		s, err := jsonlstore.Open(path, jsonlstore.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	worker, operator := openFile(), openFile()
	job := storetest.CompletedJob(t, worker, "SKU-1", "shopify-pdp")
	sink := &recordingSink{}
	cfg := outbox.Config{Store: worker, Clock: clock, Sinks: map[string]outbox.Sink{"shopify-pdp": sink}, Review: []string{"shopify-pdp"}}
	if n, err := outbox.DeliverOnce(t.Context(), cfg); err != nil || n != 0 {
		t.Fatalf("DeliverOnce = %d, %v; want the job held, no attempt", n, err)
	}
	if got, err := operator.Get(t.Context(), job.Key); err != nil || got.Delivery != jobs.DeliveryAwaitingReview {
		t.Fatalf("the operator's Store sees %+v, %v; want awaiting_review", got, err)
	}
	if _, err := operator.Approve(t.Context(), job.Key, "approved from the terminal"); err != nil {
		t.Fatal(err)
	}
	if n, err := outbox.DeliverOnce(t.Context(), cfg); err != nil || n != 1 || sink.count(job.Key) != 1 {
		t.Fatalf("DeliverOnce after the approval = %d, %v, %d sink calls; want 1 delivery", n, err, sink.count(job.Key))
	}
	got, err := operator.Get(t.Context(), job.Key)
	if err != nil || got.Delivery != jobs.DeliveryDelivered || got.ReviewNote != "approved from the terminal" {
		t.Errorf("after delivery the operator sees %+v, %v", got, err)
	}
}

func TestReviewConfig(t *testing.T) {
	store := memstore.New()
	sink := &recordingSink{}
	for _, review := range [][]string{{"cms"}, {""}} {
		_, err := outbox.DeliverOnce(t.Context(), outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"shopify-pdp": sink}, Review: review})
		if err == nil || !strings.Contains(err.Error(), "Config.Review") {
			t.Errorf("Review %q without a sink: %v; want an error naming Config.Review", review, err)
		}
	}
	// With a Fallback any surface may be reviewed.
	if _, err := outbox.DeliverOnce(t.Context(), outbox.Config{Store: store, Fallback: sink, Review: []string{"cms"}}); err != nil {
		t.Errorf("Review with a Fallback: %v", err)
	}
}

// deliverOnce runs one DeliverOnce pass over cfg and fails the test unless
// it made want attempts.
func deliverOnce(t *testing.T, cfg outbox.Config, want int) {
	t.Helper()
	if n, err := outbox.DeliverOnce(t.Context(), cfg); err != nil || n != want {
		t.Fatalf("DeliverOnce = %d, %v; want %d attempts", n, err, want)
	}
}
