package jobs_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

var t0 = time.Date(2026, time.March, 11, 8, 0, 0, 0, time.UTC)

func submittedJob() jobs.Job {
	return jobs.Job{Key: "k", SKU: "SKU-1", TargetSurface: "shopify-pdp", GenerationID: "vgen_1", Status: jobs.StatusPending}
}

func TestApplyGenerationWithoutStatus(t *testing.T) {
	j := submittedJob()
	j.ProviderStatus = "queued"
	before := j
	if j.ApplyGeneration(creativeai.Generation{ID: "vgen_1"}, t0) {
		t.Error("a report without a status changed the job")
	}
	if d := cmp.Diff(before, j); d != "" {
		t.Errorf("job changed (-before +after):\n%s", d)
	}
}

func TestRecordSubmissionAgainKeepsFailure(t *testing.T) {
	j := submittedJob()
	j.ApplyGeneration(creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusFailed, Error: "provider timeout"}, t0)
	// A rerun records the same accepted generation again.
	if err := j.RecordSubmission(jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusPending}}, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.StatusFailed || j.Error != "provider timeout" {
		t.Errorf("after recording the same generation again: Status = %q, Error = %q; want failed, provider timeout", j.Status, j.Error)
	}
}

func TestRecordSubmissionAfterSubmitFailedClearsError(t *testing.T) {
	j := jobs.Job{Key: "k", SKU: "SKU-1"}
	if err := j.RecordSubmission(jobs.Submission{Error: "HTTP 502"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := j.RecordSubmission(jobs.Submission{Generation: &creativeai.Generation{ID: "vgen_1", Status: creativeai.StatusPending}}, t0); err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.StatusPending || j.Error != "" || j.GenerationID != "vgen_1" {
		t.Errorf("Status = %q, Error = %q, GenerationID = %q; want pending, no error, vgen_1", j.Status, j.Error, j.GenerationID)
	}
}

func TestKeyConflictClosesTheAttempt(t *testing.T) {
	j := jobs.Job{Key: "SKU-1#abc", SKU: "SKU-1", Status: jobs.StatusPending}
	before := j.IdempotencyKey()
	if err := j.RecordSubmission(jobs.Submission{Error: "422 idempotency_key_reused", KeyConflict: true}, t0); err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.StatusSubmitFailed || j.Attempt != 1 {
		t.Fatalf("after a key conflict: status %s, attempt %d; want submit_failed, attempt 1", j.Status, j.Attempt)
	}
	if err := j.Replay(t0); err != nil {
		t.Fatal(err)
	}
	if j.Attempt != 1 || j.IdempotencyKey() == before {
		t.Errorf("replay after a key conflict: attempt %d, key %s; want attempt 1 and a key other than %s", j.Attempt, j.IdempotencyKey(), before)
	}

	// Any other failure keeps the attempt, and so the key, for the replay.
	k := jobs.Job{Key: "SKU-2#abc", SKU: "SKU-2", Status: jobs.StatusPending}
	if err := k.RecordSubmission(jobs.Submission{Error: "502 bad gateway"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := k.Replay(t0); err != nil || k.Attempt != 0 {
		t.Errorf("replay after a plain failure: attempt %d, err %v; want attempt 0", k.Attempt, err)
	}
}
