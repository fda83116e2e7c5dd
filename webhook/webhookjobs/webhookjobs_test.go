package webhookjobs_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/webhook"
	"github.com/creativeai-run/catalogvideo/webhook/webhookjobs"
)

const secret = "webhookjobs-test-signing-secret"

// failingStore fails every Apply, as a store whose disk is full would.
type failingStore struct{ jobs.Store }

func (failingStore) Apply(context.Context, creativeai.Generation) (jobs.ApplyResult, error) {
	return jobs.ApplyResult{}, errors.New("disk full")
}

func deliver(t *testing.T, h http.Handler, gen creativeai.Generation) int {
	t.Helper()
	p, err := webhook.GenerateTestSignedPayload(&webhook.TestPayload{Generation: gen, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	req, err := p.NewRequest(t.Context(), "/hook")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func handler(t *testing.T, store jobs.Store, onApply func(jobs.ApplyResult)) http.Handler {
	t.Helper()
	v, err := webhook.NewVerifier([]string{secret})
	if err != nil {
		t.Fatal(err)
	}
	h, err := webhook.NewHandler(v, webhookjobs.EventHandler(store, onApply))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestEventHandler applies events through the real handler: an early event
// is kept and applied once the job records its generation, a late stale one
// changes nothing, and a store failure answers 503 so the sender retries.
func TestEventHandler(t *testing.T) {
	store := memstore.New()
	var results []jobs.ApplyResult
	h := handler(t, store, func(r jobs.ApplyResult) { results = append(results, r) })

	if _, _, err := store.Track(t.Context(), jobs.Job{Key: "SKU-1#k", SKU: "SKU-1", TargetSurface: "shopify-pdp"}); err != nil {
		t.Fatal(err)
	}
	done := creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusCompleted, OutputURL: "https://cdn.example.com/1.mp4"}
	if code := deliver(t, h, done); code != http.StatusOK {
		t.Fatalf("early completed event: %d, want 200", code)
	}
	if len(results) != 1 || !results[0].Deferred {
		t.Fatalf("early event: results %+v, want one deferred", results)
	}
	j, err := store.RecordSubmission(t.Context(), "SKU-1#k", jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusPending}})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.StatusCompleted || j.Delivery != jobs.DeliveryPending {
		t.Fatalf("after recording the submission: %s, delivery %q; want completed and in the outbox", j.Status, j.Delivery)
	}
	if code := deliver(t, h, creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusProcessing}); code != http.StatusOK {
		t.Fatalf("stale event: %d, want 200", code)
	}
	if last := results[len(results)-1]; last.Changed || last.Job.Status != jobs.StatusCompleted {
		t.Errorf("stale processing event: %+v, want no change", last)
	}

	broken := handler(t, failingStore{store}, nil)
	if code := deliver(t, broken, done); code != http.StatusServiceUnavailable {
		t.Errorf("store failure: %d, want 503", code)
	}
}
