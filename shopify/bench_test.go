package shopify_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// catalog is a fake store with n single-variant products and a video for
// each, on a virtual clock.
type catalog struct {
	srv   *shopifytest.Server
	clock *shopifytest.VirtualClock
	jobs  []shopify.VideoJob
}

func newCatalog(n int, videoSize int64, opts ...shopifytest.Option) *catalog {
	clock := shopifytest.NewVirtualClock(epoch)
	srv := shopifytest.NewServer(append([]shopifytest.Option{shopifytest.WithClock(clock)}, opts...)...)
	c := &catalog{srv: srv, clock: clock}
	for i := range n {
		sku := fmt.Sprintf("CAT-%05d", i)
		srv.AddProduct(shopifytest.Product{Title: "Product " + sku, Variants: []shopifytest.Variant{{SKU: sku}}})
		c.jobs = append(c.jobs, shopify.VideoJob{Key: "batch-1/" + sku, SKU: sku, OutputURL: srv.AddVideo(shopifytest.Video{Size: videoSize})})
	}
	return c
}

func mustPublishAll(tb testing.TB, out []shopify.PublishOutcome) {
	tb.Helper()
	for _, o := range out {
		if o.Err != nil {
			tb.Fatalf("%s: %v", o.Job.SKU, o.Err)
		}
	}
}

// BenchmarkAPICallsPerSKU counts Admin API calls per published SKU:
// PublishVideos, which resolves SKUs 50 per call, side by side with
// publishing each job on its own (a lookup per SKU, as the workflow did).
func BenchmarkAPICallsPerSKU(b *testing.B) {
	const n = 200
	for _, mode := range []string{"batched", "per-job"} {
		b.Run(mode, func(b *testing.B) {
			var lookups, calls, skus int
			for b.Loop() {
				c := newCatalog(n, 1024)
				pub := shopify.NewPublisher(c.srv.Client(), shopify.WithBulkThreshold(0))
				if mode == "batched" {
					mustPublishAll(b, pub.PublishVideos(context.Background(), c.jobs))
				} else {
					for _, j := range c.jobs {
						if _, err := pub.PublishVideo(context.Background(), j); err != nil {
							b.Fatal(err)
						}
					}
				}
				st := c.srv.Stats()
				lookups += st.Calls["productVariants"]
				calls += st.Requests
				skus += n
				c.srv.Close()
			}
			b.ReportMetric(float64(lookups)/float64(skus)*shopify.SKUsPerLookup, "lookups/50SKU")
			b.ReportMetric(float64(calls)/float64(skus), "calls/SKU")
		})
	}
}

// BenchmarkPacing500Publishes publishes 500 videos, one after another and
// without waiting for processing (so nothing but pacing lets the bucket
// refill), against a 1,000-point bucket refilling at 50 points per second,
// with pacing on and off. Time is virtual: requests take no time, every
// wait is counted exactly, and the run takes milliseconds.
func BenchmarkPacing500Publishes(b *testing.B) {
	const n = 500
	for _, pacing := range []bool{true, false} {
		b.Run(fmt.Sprintf("pacing=%v", pacing), func(b *testing.B) {
			var throttled, requests int
			var virtual time.Duration
			for b.Loop() {
				c := newCatalog(n, 1024, shopifytest.WithBucket(1000, 50))
				pub := shopify.NewPublisher(c.srv.Client(shopify.WithPacing(pacing)), shopify.WithoutWaiting(), shopify.WithBulkThreshold(0))
				mustPublishAll(b, pub.PublishVideos(context.Background(), c.jobs))
				st := c.srv.Stats()
				throttled += st.Throttled
				requests += st.Requests
				virtual += c.clock.Now().Sub(epoch)
				c.srv.Close()
			}
			b.ReportMetric(float64(throttled)/float64(b.N), "throttled/op")
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
			b.ReportMetric(virtual.Seconds()/float64(b.N), "virtual-s/op")
		})
	}
}

// BenchmarkPublishMemory publishes a 256 MiB video and reports how far the
// heap grew at its peak: the Publisher, which streams, side by side with the
// same Publisher over a transport that holds each body whole (download into
// memory, then upload from memory, as the workflow page's script did).
func BenchmarkPublishMemory(b *testing.B) {
	const size = 256 << 20
	for _, mode := range []string{"streamed", "buffered-baseline"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(size)
			var peak uint64
			for b.Loop() {
				peak = max(peak, publishPeakHeap(b, size, mode == "buffered-baseline"))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// publishPeakHeap publishes one video of the given size and returns the
// peak growth of the heap meanwhile.
func publishPeakHeap(tb testing.TB, size int64, buffered bool) uint64 {
	c := newCatalog(1, size)
	defer c.srv.Close()
	transfer := c.srv.HTTPClient()
	if buffered {
		transfer = &http.Client{Transport: bufferingTransport{transfer.Transport}}
	}
	pub := shopify.NewPublisher(c.srv.Client(), shopify.WithTransferClient(transfer))
	var res shopify.PublishResult
	var err error
	peak := peakHeapGrowth(func() { res, err = pub.PublishVideo(context.Background(), c.jobs[0]) })
	if err != nil || res.Status != shopify.MediaStatusReady {
		tb.Fatalf("PublishVideo = %+v, %v", res, err)
	}
	if st := c.srv.Stats(); st.UploadedBytes != size {
		tb.Fatalf("uploaded %d bytes, want %d", st.UploadedBytes, size)
	}
	return peak
}

// peakHeapGrowth runs f and returns how far the bytes of heap objects (live
// or not yet swept) rose above where they were before, sampled every 200µs.
func peakHeapGrowth(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak atomic.Uint64
	peak.Store(base)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: sample[0].Name}}
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	return peak.Load() - base
}

// bufferingTransport reads every request and response body whole before
// passing it on.
type bufferingTransport struct{ base http.RoundTripper }

func (t bufferingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}
