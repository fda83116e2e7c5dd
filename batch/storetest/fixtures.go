package storetest

import (
	"context"
	"testing"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// CompletedJob tracks a job for sku in s and takes it through submission to
// completed, as a webhook would, which puts it in the delivery outbox when
// surface is not empty. Its key is sku+"#k", its generation "vgen_"+sku and
// its output "https://cdn.example.com/"+sku+".mp4". Tests of engines that
// work on completed jobs (the outbox, export) start from it.
func CompletedJob(t testing.TB, s jobs.Store, sku, surface string) jobs.Job {
	t.Helper()
	ctx := context.Background()
	job, _, err := s.Track(ctx, jobs.Job{Key: sku + "#k", SKU: sku, TargetSurface: surface, Status: jobs.StatusPending})
	if err != nil {
		t.Fatal(err)
	}
	id := "vgen_" + sku
	if _, err := s.RecordSubmission(ctx, job.Key, jobs.Submission{Generation: &creativeai.Generation{ID: id, Status: creativeai.StatusPending}}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Apply(ctx, creativeai.Generation{ID: id, Status: creativeai.StatusCompleted, OutputURL: "https://cdn.example.com/" + sku + ".mp4"})
	if err != nil || !res.Changed {
		t.Fatalf("Apply: %+v, %v", res, err)
	}
	return res.Job
}
