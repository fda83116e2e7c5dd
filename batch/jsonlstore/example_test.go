package jsonlstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/creativeai-run/catalogvideo/batch/jsonlstore"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// A job file written by the original workflow script opens as it is, and
// webhook events find its rows by generation id.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "jobs")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "video-jobs.jsonl")
	seed := `{"sku":"SKU-1002","collection":"spring-drop","target_surface":"shopify-pdp","generation_id":"vgen_def456","status":"pending"}` + "\n"
	if err := os.WriteFile(path, []byte(seed), 0o644); err != nil {
		log.Fatal(err)
	}

	s, err := jsonlstore.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	r, err := s.Apply(ctx, creativeai.Generation{
		ID:        "vgen_def456",
		Status:    creativeai.StatusCompleted,
		OutputURL: "https://cdn.creativeai.run/output/video-def456.mp4",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Job.Key, r.Job.Status, "delivery:", r.Job.Delivery)

	// A late "processing" for the same render changes nothing.
	r, err = s.Apply(ctx, creativeai.Generation{ID: "vgen_def456", Status: creativeai.StatusProcessing})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("changed:", r.Changed)

	for j, err := range s.List(ctx, jobs.Filter{Statuses: []jobs.Status{jobs.StatusCompleted}}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(j.SKU, j.OutputURL)
	}
	// Output:
	// SKU-1002 completed delivery: pending
	// changed: false
	// SKU-1002 https://cdn.creativeai.run/output/video-def456.mp4
}
