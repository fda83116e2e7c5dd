package blobarchive_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/archive"
)

// BenchmarkArchive256MiB archives a 256 MiB output from the simulator into
// a file:// bucket and, in the same iteration, copies it between the same
// two places with a plain io.Copy (GET, blob writer, Close): no hashing, no
// checks. It reports both throughputs, their ratio (archive/copy; goal ≥
// 0.8) and the archive's peak heap growth.
func BenchmarkArchive256MiB(b *testing.B) {
	const size = 256 << 20
	bucket, _ := openDir(b)
	job := renderedJob(b, size)
	a, err := archive.New(bucket)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	plainCopy := func() {
		resp, err := http.Get(job.OutputURL)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		w, err := bucket.NewWriter(ctx, "plain/copy.mp4", "video/mp4")
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(w, resp.Body); err != nil || n != size {
			b.Fatalf("io.Copy: %d, %v", n, err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	var copyTime, archiveTime time.Duration
	var growth uint64
	for b.Loop() {
		start := time.Now()
		plainCopy()
		copyTime += time.Since(start)
		start = time.Now()
		g := peakHeap(func() {
			if _, err := a.Archive(ctx, job); err != nil {
				b.Fatal(err)
			}
		})
		archiveTime += time.Since(start)
		growth = max(growth, g)
	}
	runtime.KeepAlive(a)
	mb := float64(size) * float64(b.N) / (1 << 20)
	b.ReportMetric(mb/copyTime.Seconds(), "copy-MiB/s")
	b.ReportMetric(mb/archiveTime.Seconds(), "archive-MiB/s")
	b.ReportMetric(copyTime.Seconds()/archiveTime.Seconds(), "archive/copy")
	b.ReportMetric(float64(growth)/(1<<20), "heap-growth-MiB")
}
