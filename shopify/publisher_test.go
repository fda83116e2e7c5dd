package shopify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

// fixture is a fake store on a virtual clock with one product.
type fixture struct {
	srv       *shopifytest.Server
	clock     *shopifytest.VirtualClock
	client    *shopify.Client
	pub       *shopify.Publisher
	productID string
}

var epoch = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, srvOpts []shopifytest.Option, pubOpts ...shopify.PublisherOption) *fixture {
	t.Helper()
	clock := shopifytest.NewVirtualClock(epoch)
	srv := shopifytest.NewServer(append([]shopifytest.Option{shopifytest.WithClock(clock)}, srvOpts...)...)
	t.Cleanup(srv.Close)
	pid := srv.AddProduct(shopifytest.Product{
		Title:    "Linen Shirt",
		Variants: []shopifytest.Variant{{SKU: "SHIRT-S", Title: "S"}, {SKU: "SHIRT-M", Title: "M"}},
		Images:   2,
	})
	client := srv.Client()
	return &fixture{
		srv: srv, clock: clock, client: client, productID: pid,
		pub: shopify.NewPublisher(client, append([]shopify.PublisherOption{shopify.WithSpoolDir(t.TempDir())}, pubOpts...)...),
	}
}

func (f *fixture) videos() []shopifytest.Media {
	var out []shopifytest.Media
	for _, m := range f.srv.Media(f.productID) {
		if m.ContentType == "VIDEO" {
			out = append(out, m)
		}
	}
	return out
}

func TestPublishVideo(t *testing.T) {
	f := newFixture(t, []shopifytest.Option{shopifytest.WithReadyAfterPolls(3)})
	const size = 3<<20 + 17
	url := f.srv.AddVideo(shopifytest.Video{Size: size})

	res, err := f.pub.PublishVideo(context.Background(), shopify.VideoJob{
		Key: "job-1", SKU: "SHIRT-M", OutputURL: url, Alt: "Linen shirt on a model",
	})
	if err != nil {
		t.Fatalf("PublishVideo: %v", err)
	}
	if res.ProductID != f.productID || res.Status != shopify.MediaStatusReady || res.Reused || res.MediaID == "" {
		t.Fatalf("result = %+v, want a new READY video on %s", res, f.productID)
	}
	vids := f.videos()
	if len(vids) != 1 {
		t.Fatalf("product has %d videos, want 1", len(vids))
	}
	v := vids[0]
	marker := shopify.MediaMarker("job-1")
	if v.ID != res.MediaID || v.Bytes != size || v.Status != "READY" {
		t.Errorf("video = %+v, want id %s, %d bytes, READY", v, res.MediaID, size)
	}
	if v.Alt != "Linen shirt on a model" || !strings.HasPrefix(v.Filename, strings.TrimSuffix(shopify.VideoFilename("job-1", "SHIRT-M", ""), ".mp4")) || !strings.HasPrefix(v.Filename, marker) {
		t.Errorf("alt %q, filename %q: want the job's alt as given and the job marker %s in the file name only", v.Alt, v.Filename, marker)
	}
	st := f.srv.Stats()
	if st.Uploads != 1 || st.UploadedBytes != size {
		t.Errorf("uploads = %d (%d bytes), want 1 (%d bytes)", st.Uploads, st.UploadedBytes, size)
	}
	if st.Calls["stagedUploadsCreate"] != 1 || st.Calls["productUpdate"] != 1 || st.Calls["productVariants"] != 1 {
		t.Errorf("calls = %v, want one lookup, one stage, one attach", st.Calls)
	}
	// Three polls after the attach: the fake turns READY on the third read.
	// Then the video, third after two images, moves to slot 2 and the
	// gallery is read back.
	if got := st.Calls["nodes"]; got != 1+3+1 || st.Calls["product"] != 0 {
		t.Errorf("nodes reads = %d, product reads = %d; want 1 duplicate check + 3 polls + 1 read back, and no paging", got, st.Calls["product"])
	}
	if st.Calls["productReorderMedia"] != 1 || res.Slot != 2 || f.srv.Media(f.productID)[1].ID != res.MediaID {
		t.Errorf("reorders = %d, slot %d: want the video moved to slot 2", st.Calls["productReorderMedia"], res.Slot)
	}
	if st.Invalid != 0 {
		t.Errorf("%d requests failed validation against the schema", st.Invalid)
	}
}

func TestPublishVideoDefaultAlt(t *testing.T) {
	f := newFixture(t, nil)
	res, err := f.pub.PublishVideo(context.Background(), shopify.VideoJob{
		Key: "k", SKU: "SHIRT-S", OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 1000}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.videos()[0].Alt, "Linen Shirt – product video"; got != want {
		t.Errorf("alt = %q, want %q (result %+v)", got, want, res)
	}
}

func TestPublishVideoRetryAfterAttachDoesNotDuplicate(t *testing.T) {
	f := newFixture(t, nil)
	url := f.srv.AddVideo(shopifytest.Video{Size: 4096})
	job := shopify.VideoJob{Key: "row-7", SKU: "SHIRT-S", OutputURL: url}

	first, err := f.pub.PublishVideo(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	// A second publisher stands for a process restarted after a crash
	// between the attach and recording its result.
	again := shopify.NewPublisher(f.srv.Client())
	second, err := again.PublishVideo(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Reused || second.MediaID != first.MediaID || second.Status != shopify.MediaStatusReady {
		t.Errorf("second publish = %+v, want the first video (%s) reused", second, first.MediaID)
	}
	if n := len(f.videos()); n != 1 {
		t.Errorf("product has %d videos, want 1", n)
	}
	if st := f.srv.Stats(); st.Uploads != 1 || st.Calls["productUpdate"] != 1 {
		t.Errorf("uploads %d, productUpdate calls %d: want 1 each", st.Uploads, st.Calls["productUpdate"])
	}
}

func TestPublishVideoLostAttachResponse(t *testing.T) {
	f := newFixture(t, nil)
	// productUpdate is applied, then its answer is lost.
	f.srv.InjectFault(shopifytest.Fault{Field: "productUpdate", Status: http.StatusBadGateway, AfterExecute: true})
	res, err := f.pub.PublishVideo(context.Background(), shopify.VideoJob{
		Key: "lost", SKU: "SHIRT-S", OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 2048}),
	})
	if err != nil {
		t.Fatalf("PublishVideo: %v", err)
	}
	if n := len(f.videos()); n != 1 || res.Status != shopify.MediaStatusReady {
		t.Errorf("%d videos, result %+v: want 1 READY video", n, res)
	}
	if got := f.srv.Calls("productUpdate"); got != 1 {
		t.Errorf("productUpdate sent %d times, want 1: a mutation whose answer was lost must not be resent blindly", got)
	}
}

func TestPublishVideoAttachFailsBeforeApplying(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.InjectFault(shopifytest.Fault{Field: "productUpdate", Status: http.StatusServiceUnavailable})
	job := shopify.VideoJob{Key: "503", SKU: "SHIRT-S", OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 2048})}
	_, err := f.pub.PublishVideo(context.Background(), job)
	var herr *shopify.HTTPError
	if !errors.As(err, &herr) || herr.StatusCode != http.StatusServiceUnavailable || shopify.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable HTTP 503", err)
	}
	if n := len(f.videos()); n != 0 {
		t.Fatalf("%d videos after a refused attach, want 0", n)
	}
	// The outbox retries the job: it goes through once.
	if _, err := f.pub.PublishVideo(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if n := len(f.videos()); n != 1 {
		t.Errorf("%d videos after the retry, want 1", n)
	}
}

func TestPublishVideoUploadFailureIsRetryable(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.InjectFault(shopifytest.Fault{Field: shopifytest.FaultUpload, Status: http.StatusInternalServerError})
	job := shopify.VideoJob{Key: "up", SKU: "SHIRT-S", OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 5000})}
	if _, err := f.pub.PublishVideo(context.Background(), job); err == nil || shopify.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable upload error", err)
	}
	if _, err := f.pub.PublishVideo(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if st := f.srv.Stats(); len(f.videos()) != 1 || st.Uploads != 1 || st.Calls["stagedUploadsCreate"] != 2 {
		t.Errorf("videos %d, uploads %d, targets %d: want 1, 1, 2", len(f.videos()), st.Uploads, st.Calls["stagedUploadsCreate"])
	}
}

func TestPublishVideoUnknownAndAmbiguousSKU(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.AddProduct(shopifytest.Product{Title: "Mug A", Variants: []shopifytest.Variant{{SKU: "MUG"}}})
	f.srv.AddProduct(shopifytest.Product{Title: "Mug B", Variants: []shopifytest.Variant{{SKU: "MUG"}}})
	url := f.srv.AddVideo(shopifytest.Video{Size: 100})

	_, err := f.pub.PublishVideo(context.Background(), shopify.VideoJob{Key: "a", SKU: "NOPE-1", OutputURL: url})
	var nf *shopify.SKUNotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, shopify.ErrSKUNotFound) || nf.SKU != "NOPE-1" || !shopify.IsPermanent(err) {
		t.Errorf("unknown SKU: err = %v, want a permanent *SKUNotFoundError for NOPE-1", err)
	}
	_, err = f.pub.PublishVideo(context.Background(), shopify.VideoJob{Key: "b", SKU: "MUG", OutputURL: url})
	var amb *shopify.AmbiguousSKUError
	if !errors.As(err, &amb) || len(amb.ProductIDs) != 2 || !shopify.IsPermanent(err) {
		t.Errorf("ambiguous SKU: err = %v, want a permanent *AmbiguousSKUError naming 2 products", err)
	}
	if st := f.srv.Stats(); st.Uploads != 0 || st.Calls["stagedUploadsCreate"] != 0 {
		t.Errorf("something was uploaded for an unresolved SKU: %+v", st)
	}
}

func TestPublishVideoProcessingFailed(t *testing.T) {
	f := newFixture(t, []shopifytest.Option{
		shopifytest.WithProcessingFailure("VIDEO_VALIDATION_ERROR", "Video is corrupt"),
		shopifytest.WithReadyAfterPolls(2),
	})
	job := shopify.VideoJob{Key: "bad", SKU: "SHIRT-S", OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 777})}
	res, err := f.pub.PublishVideo(context.Background(), job)
	var perr *shopify.PermanentError
	if !errors.As(err, &perr) || perr.Code != "VIDEO_VALIDATION_ERROR" || !strings.Contains(err.Error(), "Video is corrupt") {
		t.Fatalf("err = %v, want a *PermanentError with code VIDEO_VALIDATION_ERROR", err)
	}
	if res.Status != shopify.MediaStatusFailed || res.MediaID == "" {
		t.Errorf("result = %+v, want the FAILED video's id", res)
	}
	// A retry finds the failed video and reports the same failure without
	// uploading again.
	_, err = f.pub.PublishVideo(context.Background(), job)
	if !errors.As(err, &perr) || perr.Code != "VIDEO_VALIDATION_ERROR" {
		t.Errorf("retry: err = %v, want the same permanent failure", err)
	}
	if st := f.srv.Stats(); st.Uploads != 1 {
		t.Errorf("uploads = %d, want 1", st.Uploads)
	}
}

func TestPublishVideoMediaLimit(t *testing.T) {
	t.Run("checked before upload", func(t *testing.T) {
		f := newFixture(t, nil, shopify.WithMaxProductMedia(2))
		_, err := f.pub.PublishVideo(context.Background(), shopify.VideoJob{
			Key: "full", SKU: "SHIRT-S", OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 10}),
		})
		var perr *shopify.PermanentError
		if !errors.As(err, &perr) || perr.Code != shopify.CodeProductMediaLimitExceeded {
			t.Fatalf("err = %v, want a *PermanentError with code %s", err, shopify.CodeProductMediaLimitExceeded)
		}
		if st := f.srv.Stats(); st.Uploads != 0 || st.Calls["stagedUploadsCreate"] != 0 {
			t.Errorf("the video was uploaded to a full product: %+v", st)
		}
	})
	t.Run("refused by productUpdate", func(t *testing.T) {
		f := newFixture(t, []shopifytest.Option{shopifytest.WithMediaLimit(2)})
		_, err := f.pub.PublishVideo(context.Background(), shopify.VideoJob{
			Key: "full", SKU: "SHIRT-S", OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 10}),
		})
		var uerr *shopify.UserError
		if !shopify.IsPermanent(err) || !errors.As(err, &uerr) || !strings.Contains(uerr.Message, "limit") {
			t.Fatalf("err = %v, want a permanent error holding productUpdate's *UserError", err)
		}
		if n := len(f.videos()); n != 0 {
			t.Errorf("%d videos on a full product", n)
		}
	})
}

func TestPublishVideoThrottlingRecovered(t *testing.T) {
	// The SKU lookup requests 22 points; a 25-point bucket refilling at 1
	// point per second holds it only when nearly full, so the calls after
	// it are refused until it refills.
	for _, pacing := range []bool{false, true} {
		t.Run(fmt.Sprintf("pacing=%v", pacing), func(t *testing.T) {
			f := newFixture(t, []shopifytest.Option{shopifytest.WithBucket(25, 1)})
			pub := shopify.NewPublisher(f.srv.Client(shopify.WithPacing(pacing)))
			for key, sku := range map[string]string{"t1": "SHIRT-S", "t2": "SHIRT-M"} {
				res, err := pub.PublishVideo(context.Background(), shopify.VideoJob{
					Key: key, SKU: sku, OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 64}),
				})
				if err != nil || res.Status != shopify.MediaStatusReady {
					t.Fatalf("PublishVideo(%s) = %+v, %v", key, res, err)
				}
			}
			throttled := f.srv.Stats().Throttled
			if !pacing && throttled == 0 {
				t.Errorf("no THROTTLED answers: the test does not exercise recovery")
			}
			if pacing && throttled != 0 {
				t.Errorf("%d THROTTLED answers with pacing on, want 0", throttled)
			}
			if n := len(f.videos()); n != 2 {
				t.Errorf("%d videos, want 2", n)
			}
		})
	}
}

func TestPublishVideoNeverSendsExternalVideoOrProductCreateMedia(t *testing.T) {
	f := newFixture(t, nil)
	for i, key := range []string{"x1", "x2", "x3"} {
		url := f.srv.AddVideo(shopifytest.Video{Size: int64(1000 + i), NoContentLength: i == 1})
		if _, err := f.pub.PublishVideo(context.Background(), shopify.VideoJob{Key: key, SKU: "SHIRT-S", OutputURL: url}); err != nil {
			t.Fatal(err)
		}
	}
	st := f.srv.Stats()
	if st.ExternalVideoRequests != 0 || st.Calls["productCreateMedia"] != 0 {
		t.Errorf("EXTERNAL_VIDEO sent %d times, productCreateMedia %d times; want 0", st.ExternalVideoRequests, st.Calls["productCreateMedia"])
	}
	if st.Calls["productUpdate"] != 3 {
		t.Errorf("productUpdate calls = %d, want 3", st.Calls["productUpdate"])
	}
}

func TestPublishVideoSpoolsWithoutContentLength(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, nil, shopify.WithSpoolDir(dir))
	const size = 1<<20 + 3
	_, err := f.pub.PublishVideo(context.Background(), shopify.VideoJob{
		Key: "chunked", SKU: "SHIRT-S", OutputURL: f.srv.AddVideo(shopifytest.Video{Size: size, NoContentLength: true}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := f.videos(); len(v) != 1 || v[0].Bytes != size {
		t.Fatalf("videos = %+v, want one of %d bytes", v, size)
	}
	left, err := os.ReadDir(dir)
	if err != nil || len(left) != 0 {
		t.Errorf("spool dir holds %v (err %v), want the temporary file removed", left, err)
	}
}

func TestPublishVideoDownloadErrors(t *testing.T) {
	f := newFixture(t, nil, shopify.WithMaxVideoBytes(1000))
	cases := []struct {
		name      string
		video     shopifytest.Video
		permanent bool
	}{
		{"expired output URL", shopifytest.Video{Size: 10, Status: http.StatusNotFound}, true},
		{"render service down", shopifytest.Video{Size: 10, Status: http.StatusBadGateway}, false},
		{"too large", shopifytest.Video{Size: 1001}, true},
		{"too large, spooled", shopifytest.Video{Size: 1001, NoContentLength: true}, true},
		{"empty", shopifytest.Video{Size: 0}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.pub.PublishVideo(context.Background(), shopify.VideoJob{
				Key: tc.name, SKU: "SHIRT-S", OutputURL: f.srv.AddVideo(tc.video),
			})
			if err == nil || shopify.IsPermanent(err) != tc.permanent {
				t.Errorf("err = %v, permanent %v; want an error, permanent %v", err, shopify.IsPermanent(err), tc.permanent)
			}
		})
	}
	if st := f.srv.Stats(); st.Calls["stagedUploadsCreate"] != 0 {
		t.Errorf("%d targets staged for videos that could not be downloaded", st.Calls["stagedUploadsCreate"])
	}
}

func TestPublishVideoProcessingTimeout(t *testing.T) {
	f := newFixture(t, []shopifytest.Option{shopifytest.WithReadyAfter(5 * time.Minute)},
		shopify.WithProcessingTimeout(3*time.Minute))
	job := shopify.VideoJob{Key: "slow", SKU: "SHIRT-S", OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 99})}
	start := f.clock.Now()
	res, err := f.pub.PublishVideo(context.Background(), job)
	if !errors.Is(err, shopify.ErrProcessingTimeout) || shopify.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable ErrProcessingTimeout", err)
	}
	if waited := f.clock.Now().Sub(start); waited < 3*time.Minute || waited > 3*time.Minute+time.Second {
		t.Errorf("waited %v on the clock, want the 3m deadline", waited)
	}
	if res.Status != shopify.MediaStatusProcessing || res.MediaID == "" {
		t.Errorf("result = %+v, want the PROCESSING video", res)
	}
	// The outbox retries later: the video is found and waited for, not
	// uploaded again.
	res2, err := f.pub.PublishVideo(context.Background(), job)
	if err != nil || !res2.Reused || res2.MediaID != res.MediaID || res2.Status != shopify.MediaStatusReady {
		t.Fatalf("retry = %+v, %v; want the same video READY", res2, err)
	}
	if st := f.srv.Stats(); st.Uploads != 1 {
		t.Errorf("uploads = %d, want 1", st.Uploads)
	}
}

func TestPublishVideoWithoutWaiting(t *testing.T) {
	// READY on the second read after the attach; the publisher reads once,
	// to learn the video's id.
	f := newFixture(t, []shopifytest.Option{shopifytest.WithReadyAfterPolls(2)}, shopify.WithoutWaiting())
	res, err := f.pub.PublishVideo(context.Background(), shopify.VideoJob{
		Key: "nowait", SKU: "SHIRT-S", OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 99}),
	})
	if err != nil || res.Status != shopify.MediaStatusProcessing || len(f.videos()) != 1 || res.MediaID != f.videos()[0].ID {
		t.Fatalf("result = %+v, %v; want the new video's id, PROCESSING right after the attach", res, err)
	}
	// One duplicate check and one read of the new video: no polling.
	if n := f.srv.Calls("nodes"); n != 2 {
		t.Errorf("%d nodes reads, want 2: no polls without waiting", n)
	}
}

func TestPublishVideoInvalidJob(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.pub.PublishVideo(context.Background(), shopify.VideoJob{OutputURL: "ftp://example.com/x.mp4"})
	if !shopify.IsPermanent(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	for _, want := range []string{"VideoJob.Key", "VideoJob.SKU", "VideoJob.OutputURL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if st := f.srv.Stats(); st.Requests != 0 {
		t.Errorf("%d requests sent for an invalid job", st.Requests)
	}
}

func TestPublishVideoConcurrentSameKey(t *testing.T) {
	f := newFixture(t, nil)
	url := f.srv.AddVideo(shopifytest.Video{Size: 2222})
	var wg sync.WaitGroup
	results := make([]shopify.PublishResult, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = f.pub.PublishVideo(context.Background(), shopify.VideoJob{Key: "same", SKU: "SHIRT-S", OutputURL: url})
		})
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil || results[i].MediaID != results[0].MediaID {
			t.Errorf("publish %d = %+v, %v; want media %s", i, results[i], errs[i], results[0].MediaID)
		}
	}
	if n := len(f.videos()); n != 1 {
		t.Errorf("%d videos after concurrent publishes of one job, want 1", n)
	}
}

func TestPublishAdapter(t *testing.T) {
	f := newFixture(t, nil)
	// The shape a delivery outbox's sink wraps.
	var sink func(ctx context.Context, key, sku, outputURL string) (string, error) = f.pub.Publish
	id, err := sink(context.Background(), "k", "SHIRT-M", f.srv.AddVideo(shopifytest.Video{Size: 12}))
	if err != nil || id == "" || id != f.videos()[0].ID {
		t.Fatalf("Publish = %q, %v; want the video's id", id, err)
	}
	_, err = sink(context.Background(), "k2", "MISSING", f.srv.AddVideo(shopifytest.Video{Size: 12}))
	var p interface{ Permanent() bool }
	if !errors.As(err, &p) || !p.Permanent() {
		t.Errorf("err = %v: an outbox checking errors.As for Permanent() must see a permanent error", err)
	}
}

func TestPublishVideosBatchesLookups(t *testing.T) {
	f := newFixture(t, nil)
	var jobs []shopify.VideoJob
	for i := range 120 {
		sku := "BULK-" + strings.Repeat("x", i%3) + string(rune('A'+i%26)) + "-" + strconv.Itoa(i)
		f.srv.AddProduct(shopifytest.Product{Title: sku, Variants: []shopifytest.Variant{{SKU: sku}}})
		jobs = append(jobs, shopify.VideoJob{Key: sku, SKU: sku, OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 100})})
	}
	jobs = append(jobs, shopify.VideoJob{Key: "missing", SKU: "NOT-THERE", OutputURL: jobs[0].OutputURL})
	out := f.pub.PublishVideos(context.Background(), jobs)
	for i, o := range out[:120] {
		if o.Err != nil || o.Result.Status != shopify.MediaStatusReady {
			t.Fatalf("job %d: %+v", i, o)
		}
	}
	if !errors.Is(out[120].Err, shopify.ErrSKUNotFound) {
		t.Errorf("missing SKU: err = %v", out[120].Err)
	}
	if got := f.srv.Calls("productVariants"); got != 3 {
		t.Errorf("productVariants calls = %d for 121 SKUs, want 3 (50 per call)", got)
	}
}

func TestPublishVideoStreamsWithoutHoldingTheFile(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 2 × 64 MiB through loopback")
	}
	const size = 64 << 20
	streamed := publishPeakHeap(t, size, false)
	if streamed >= 32<<20 {
		t.Errorf("the heap grew by %d MiB while publishing a %d MiB video, want < 32 MiB", streamed>>20, size>>20)
	}
	// The probe sees a publisher that holds the file: the same publish over
	// a transport that buffers bodies grows the heap by the whole video.
	// (A smaller file is enough to show it.)
	buffered := publishPeakHeap(t, size/4, true)
	if buffered < size/4 {
		t.Errorf("buffered baseline grew the heap by only %d MiB for a %d MiB video; the measurement is not working", buffered>>20, size>>22)
	}
	t.Logf("peak heap growth: streamed %.1f MiB, buffered %.1f MiB", float64(streamed)/(1<<20), float64(buffered)/(1<<20))
}

func TestPublisherRemembersSKUs(t *testing.T) {
	f := newFixture(t, nil)
	pub := shopify.NewPublisher(f.srv.Client(shopify.WithRetries(0)), shopify.WithSKUCacheTTL(time.Minute))
	url := f.srv.AddVideo(shopifytest.Video{Size: 10})

	// A failed lookup is not remembered: the next attempt asks again.
	f.srv.InjectFault(shopifytest.Fault{Field: "productVariants", Status: http.StatusInternalServerError})
	if _, err := pub.PublishVideo(context.Background(), shopify.VideoJob{Key: "a", SKU: "SHIRT-S", OutputURL: url}); err == nil {
		t.Fatal("no error from a failed lookup")
	}
	if _, err := pub.PublishVideo(context.Background(), shopify.VideoJob{Key: "a", SKU: "SHIRT-S", OutputURL: url}); err != nil {
		t.Fatal(err)
	}
	// A resolved SKU is remembered until the TTL passes.
	if _, err := pub.PublishVideo(context.Background(), shopify.VideoJob{Key: "b", SKU: "SHIRT-S", OutputURL: url}); err != nil {
		t.Fatal(err)
	}
	if got := f.srv.Calls("productVariants"); got != 2 {
		t.Errorf("%d lookups, want 2 (the failed one and one more)", got)
	}
	f.clock.Advance(time.Minute)
	if _, err := pub.PublishVideo(context.Background(), shopify.VideoJob{Key: "c", SKU: "SHIRT-S", OutputURL: url}); err != nil {
		t.Fatal(err)
	}
	if got := f.srv.Calls("productVariants"); got != 3 {
		t.Errorf("%d lookups after the TTL, want 3", got)
	}
}

// TestPublishVideoSameKeyWaitEndsWithContext holds one publish of a key
// inside its download and checks that a second publish of the same key,
// queued behind it, returns when its own context ends instead of waiting
// for the first to finish (issue #16).
func TestPublishVideoSameKeyWaitEndsWithContext(t *testing.T) {
	f := newFixture(t, nil)
	entered, release := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		http.Error(w, "gone", http.StatusNotFound)
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	job := shopify.VideoJob{Key: "held", SKU: "SHIRT-S", OutputURL: slow.URL + "/v.mp4"}

	first := make(chan error, 1)
	go func() {
		_, err := f.pub.PublishVideo(context.Background(), job)
		first <- err
	}()
	<-entered // the first publish holds the key's lock

	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("delivery attempt timed out")
	second := make(chan error, 1)
	go func() {
		_, err := f.pub.PublishVideo(ctx, job)
		second <- err
	}()
	cancel(cause)
	select {
	case err := <-second:
		if !errors.Is(err, cause) || shopify.IsPermanent(err) {
			t.Errorf("second publish = %v, want the context's cause, not permanent", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second publish of the key still waiting after its context ended")
	}
	select {
	case err := <-first:
		t.Fatalf("first publish ended early: %v", err)
	default:
	}
}
