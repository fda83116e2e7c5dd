package main

import (
	"testing"
	"time"
)

// TestRunSmall runs the load program in process on a few videos in each
// mode, fast, so that it keeps working; its figures are not checked here
// (BENCHMARKS.md has them), only that every video is published.
func TestRunSmall(t *testing.T) {
	for _, mode := range []string{"call", "batch", "bulk", "batch/last"} {
		t.Run(mode, func(t *testing.T) {
			placement := ""
			if mode == "batch/last" {
				mode, placement = "batch", "last"
			}
			o := options{n: 30, procs: 1, mode: mode, bucket: 1000, rate: 50, speedup: 200, workers: 8,
				coalesce: 50 * time.Millisecond, readyAfter: 10 * time.Second, bulkAfter: 30 * time.Second, placement: placement}
			if err := run(o); err != nil {
				t.Fatal(err)
			}
		})
	}
}
