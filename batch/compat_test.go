package batch_test

import (
	"strings"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

func TestIdempotencyKey(t *testing.T) {
	job := jobs.Job{Key: "SKU-1#0123456789abcdef"}
	k0 := batch.IdempotencyKey(job)
	if k0 != batch.IdempotencyKey(job) {
		t.Error("IdempotencyKey is not deterministic")
	}
	if len(k0) > 64 || !strings.HasPrefix(k0, "cv-") {
		t.Errorf("IdempotencyKey = %q (%d chars), want cv- and at most 64 chars", k0, len(k0))
	}
	job.Attempt = 1
	if k1 := batch.IdempotencyKey(job); k1 == k0 {
		t.Error("a new attempt must get a new key")
	}
	job.Attempt, job.Key = 0, "SKU-1#0123456789abcdee"
	if batch.IdempotencyKey(job) == k0 {
		t.Error("two keys share an Idempotency-Key")
	}
}
