package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"

	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/webhook"
)

func TestReceiverAppliesSignedEvents(t *testing.T) {
	ctx := t.Context()
	store := memstore.New()
	defer store.Close()
	if _, _, err := store.Track(ctx, jobs.Job{Key: "SKU-1#k", SKU: "SKU-1", TargetSurface: SurfaceShopifyPDP}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.RecordSubmission(ctx, "SKU-1#k", jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusPending}}); err != nil {
		t.Fatal(err)
	}
	var applied []jobs.ApplyResult
	h, err := NewReceiver(store, []string{"new-signing-secret", "old-signing-secret"}, nil, func(r jobs.ApplyResult) { applied = append(applied, r) })
	if err != nil {
		t.Fatal(err)
	}

	post := func(secret string, gen creativeai.Generation) int {
		t.Helper()
		p, err := webhook.GenerateTestSignedPayload(&webhook.TestPayload{Generation: gen, Secret: secret})
		if err != nil {
			t.Fatal(err)
		}
		req, err := p.NewRequest(ctx, DefaultWebhookPath)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	completed := creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusCompleted, OutputURL: "https://cdn.example.com/1.mp4"}

	// Signed with the old secret during a rotation: accepted and durable.
	if code := post("old-signing-secret", completed); code != http.StatusOK {
		t.Fatalf("signed event answered %d, want 200", code)
	}
	job, err := store.Get(ctx, "SKU-1#k")
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != jobs.StatusCompleted || job.Delivery != jobs.DeliveryPending {
		t.Errorf("job is %s, delivery %q after the completed event; want completed, pending delivery", job.Status, job.Delivery)
	}
	// A stale event is acknowledged and changes nothing.
	if code := post("new-signing-secret", creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusProcessing}); code != http.StatusOK {
		t.Errorf("stale event answered %d, want 200", code)
	}
	if len(applied) != 2 || !applied[0].Changed || applied[1].Changed {
		t.Errorf("applied = %+v; want the completion to change the job and the stale event not", applied)
	}
	// An unknown secret is refused before the store is touched.
	if code := post("stolen-signing-secret", completed); code != http.StatusUnauthorized {
		t.Errorf("event signed with an unknown secret answered %d, want 401", code)
	}
	if len(applied) != 2 {
		t.Errorf("the store saw a refused event")
	}
}

func TestReceiverStoreFailureIs503(t *testing.T) {
	store := memstore.New()
	h, err := NewReceiver(store, []string{"rph_test_signing_secret"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	store.Close() // every Apply now fails with jobs.ErrClosed
	body := []byte(`{"id":"vgen_1","status":"completed"}`)
	req := httptest.NewRequest(http.MethodPost, DefaultWebhookPath, bytes.NewReader(body))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign("rph_test_signing_secret", body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("answered %d with a closed store, want 503 so the sender retries", rec.Code)
	}
}

func TestNewReceiverNeedsSecrets(t *testing.T) {
	if _, err := NewReceiver(memstore.New(), nil, nil, nil); err == nil {
		t.Error("NewReceiver accepted no secrets")
	}
}
