package shopify_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/shopify"
	"github.com/creativeai-run/catalogvideo/shopify/shopifytest"
)

func TestPublishBatch(t *testing.T) {
	c := newCatalog(30, 512, shopifytest.WithReadyAfterPolls(2))
	defer c.srv.Close()
	pub := shopify.NewPublisher(c.srv.Client(), shopify.WithBulkThreshold(0))

	// One job's video is already on its product from an earlier attempt.
	early, err := pub.PublishVideo(context.Background(), c.jobs[7])
	if err != nil {
		t.Fatal(err)
	}
	before := c.srv.Stats()

	jobs := append(c.jobs[:len(c.jobs):len(c.jobs)], c.jobs[3]) // key 3 twice
	out := pub.PublishBatch(context.Background(), jobs)
	if len(out) != len(jobs) {
		t.Fatalf("%d outcomes for %d jobs", len(out), len(jobs))
	}
	for i, o := range out {
		if o.Err != nil || o.Result.Status != shopify.MediaStatusReady || o.Result.MediaID == "" || o.Job != jobs[i] {
			t.Errorf("outcome %d = %+v, want READY for its own job", i, o)
		}
	}
	if !out[7].Result.Reused || out[7].Result.MediaID != early.MediaID {
		t.Errorf("job 7 = %+v, want the video attached earlier (%s) reused", out[7].Result, early.MediaID)
	}
	if out[30].Result != out[3].Result {
		t.Errorf("the repeated key got %+v, the first %+v; want the same", out[30].Result, out[3].Result)
	}
	after := c.srv.Stats()
	calls := func(f string) int { return after.Calls[f] - before.Calls[f] }
	// The SKUs were cached by the first publish only for job 7; the rest
	// take one lookup. 29 new videos: 3 stagings of up to 10, 29 attaches,
	// 3 duplicate checks of up to 10 products and 2 polls of all of them;
	// the reused video's place in its gallery is read (1 call), the new
	// ones are known to be last.
	want := map[string]int{"productVariants": 1, "stagedUploadsCreate": 3, "productUpdate": 29, "nodes": 3 + 2 + 1, "product": 0}
	for f, n := range want {
		if calls(f) != n {
			t.Errorf("%s calls = %d, want %d", f, calls(f), n)
		}
	}
	if up := after.Uploads - before.Uploads; up != 29 {
		t.Errorf("%d uploads, want 29", up)
	}
	for i, o := range out[:30] {
		vids := 0
		for _, m := range c.srv.Media(o.Result.ProductID) {
			if m.ContentType == "VIDEO" {
				vids++
			}
		}
		if vids != 1 {
			t.Errorf("product of job %d has %d videos, want 1", i, vids)
		}
	}
	if after.Invalid != 0 || after.Throttled != 0 {
		t.Errorf("invalid %d, throttled %d; want 0 and 0", after.Invalid, after.Throttled)
	}
}

func TestPublishBatchFailuresStayPerJob(t *testing.T) {
	c := newCatalog(4, 256)
	defer c.srv.Close()
	pub := shopify.NewPublisher(c.srv.Client())
	jobs := append([]shopify.VideoJob{}, c.jobs...)
	jobs[1].SKU = "NO-SUCH-SKU"
	jobs[2].OutputURL = c.srv.AddVideo(shopifytest.Video{Size: 10, Status: 404})
	jobs[3].Key = ""
	out := pub.PublishBatch(context.Background(), jobs)
	if out[0].Err != nil || out[0].Result.Status != shopify.MediaStatusReady {
		t.Errorf("job 0 = %+v, want READY", out[0])
	}
	for i := 1; i < 4; i++ {
		if out[i].Err == nil || !shopify.IsPermanent(out[i].Err) {
			t.Errorf("job %d err = %v, want a permanent error of its own", i, out[i].Err)
		}
	}
}

// windowClock is a virtual clock whose coalescing window never ends by
// itself: only a full batch closes it.
type windowClock struct {
	*shopifytest.VirtualClock
	window time.Duration
}

func (c windowClock) Sleep(ctx context.Context, d time.Duration) error {
	if d == c.window {
		<-ctx.Done()
		return ctx.Err()
	}
	return c.VirtualClock.Sleep(ctx, d)
}

func TestPublishCoalescesConcurrentCalls(t *testing.T) {
	const window = 123 * time.Millisecond
	clock := windowClock{shopifytest.NewVirtualClock(epoch), window}
	srv := shopifytest.NewServer(shopifytest.WithClock(clock))
	defer srv.Close()
	var jobs []shopify.VideoJob
	for i := range shopify.MaxBatchJobs {
		sku := fmt.Sprintf("CO-%03d", i)
		srv.AddProduct(shopifytest.Product{Title: sku, Variants: []shopifytest.Variant{{SKU: sku}}})
		jobs = append(jobs, shopify.VideoJob{Key: "k/" + sku, SKU: sku, OutputURL: srv.AddVideo(shopifytest.Video{Size: 100})})
	}
	pub := shopify.NewPublisher(srv.Client(), shopify.WithCoalescing(window), shopify.WithBulkThreshold(0))
	var wg sync.WaitGroup
	ids := make([]string, len(jobs))
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Go(func() { ids[i], errs[i] = pub.Publish(context.Background(), j.Key, j.SKU, j.OutputURL) })
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range jobs {
		if errs[i] != nil || ids[i] == "" || seen[ids[i]] {
			t.Errorf("publish %d = %q, %v; want its own media ID", i, ids[i], errs[i])
		}
		seen[ids[i]] = true
	}
	// All 50 calls ran as one batch: the window never ended, so only the
	// full batch could have closed it.
	st := srv.Stats()
	if st.Calls["productVariants"] != 1 || st.Calls["stagedUploadsCreate"] != 5 {
		t.Errorf("calls = %v, want 1 lookup and 5 stagings for one batch of 50", st.Calls)
	}
}

func TestPublishCoalescedCallerLeavesAtItsDeadline(t *testing.T) {
	const window = 77 * time.Millisecond
	clock := windowClock{shopifytest.NewVirtualClock(epoch), window}
	srv := shopifytest.NewServer(shopifytest.WithClock(clock))
	defer srv.Close()
	srv.AddProduct(shopifytest.Product{Title: "P", Variants: []shopifytest.Variant{{SKU: "P"}}})
	pub := shopify.NewPublisher(srv.Client(), shopify.WithCoalescing(window))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := pub.Publish(ctx, "k", "P", srv.AddVideo(shopifytest.Video{Size: 10}))
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err == nil || shopify.IsPermanent(err) {
			t.Errorf("err = %v, want the context's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a coalesced Publish did not return when its context ended")
	}
}

// TestPublishBatchTwoVideosOneProduct attaches two jobs' videos to one
// product in one batch: the first poll sees only the newest, so the other
// is found by its marker, and each job reports its own video.
func TestPublishBatchTwoVideosOneProduct(t *testing.T) {
	f := newFixture(t, nil)
	out := f.pub.PublishBatch(context.Background(), []shopify.VideoJob{
		{Key: "small", SKU: "SHIRT-S", OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 11})},
		{Key: "medium", SKU: "SHIRT-M", OutputURL: f.srv.AddVideo(shopifytest.Video{Size: 22})},
	})
	vids := f.videos()
	if len(vids) != 2 {
		t.Fatalf("%d videos, want 2", len(vids))
	}
	for i, key := range []string{"small", "medium"} {
		o := out[i]
		var want shopifytest.Media
		for _, v := range vids {
			if strings.HasPrefix(v.Filename, shopify.MediaMarker(key)) {
				want = v
			}
		}
		if o.Err != nil || o.Result.MediaID == "" || o.Result.MediaID != want.ID || o.Result.Status != shopify.MediaStatusReady {
			t.Errorf("job %s = %+v, %v; want its own video %s READY", key, o.Result, o.Err, want.ID)
		}
	}
	if f.srv.Calls("product") == 0 {
		t.Errorf("the older video was not looked for by its marker")
	}
}

func TestPublishBatchBulk(t *testing.T) {
	c := newCatalog(30, 512, shopifytest.WithMediaLimit(3))
	defer c.srv.Close()
	// One product is at the store's media limit (the publisher's own limit
	// is higher, so only Shopify refuses it, in the bulk operation's line).
	full := c.srv.AddProduct(shopifytest.Product{Title: "Full", Variants: []shopifytest.Variant{{SKU: "FULL"}}, Images: 3})
	jobs := append(c.jobs[:len(c.jobs):len(c.jobs)], shopify.VideoJob{Key: "full", SKU: "FULL", OutputURL: c.srv.AddVideo(shopifytest.Video{Size: 5})})
	pub := shopify.NewPublisher(c.srv.Client(), shopify.WithBulkThreshold(10))

	out := pub.PublishBatch(context.Background(), jobs)
	for i, o := range out[:30] {
		if o.Err != nil || o.Result.Status != shopify.MediaStatusReady || o.Result.MediaID == "" {
			t.Errorf("job %d = %+v, %v; want READY", i, o.Result, o.Err)
			continue
		}
		var vids []shopifytest.Media
		for _, m := range c.srv.Media(o.Result.ProductID) {
			if m.ContentType == "VIDEO" {
				vids = append(vids, m)
			}
		}
		if len(vids) != 1 || vids[0].ID != o.Result.MediaID || !strings.HasPrefix(vids[0].Filename, shopify.MediaMarker(o.Job.Key)) {
			t.Errorf("job %d: product has %+v, want exactly its video %s", i, vids, o.Result.MediaID)
		}
	}
	if o := out[30]; o.Err == nil || !shopify.IsPermanent(o.Err) || len(c.srv.Media(full)) != 3 {
		t.Errorf("job on the full product = %+v, %v; want a permanent error and no video", o.Result, o.Err)
	}
	st := c.srv.Stats()
	if st.BulkOperations != 1 || st.BulkLines != 31 || st.Calls["productUpdate"] != 0 || st.Calls["bulkOperationRunMutation"] != 1 {
		t.Errorf("bulk operations %d, lines %d, calls %v; want one operation of 31 lines and no productUpdate call", st.BulkOperations, st.BulkLines, st.Calls)
	}
	// 31 videos and the variables file.
	if st.Calls["stagedUploadsCreate"] != 4+1 || st.Uploads != 32 {
		t.Errorf("stagings %d, uploads %d; want 5 and 32", st.Calls["stagedUploadsCreate"], st.Uploads)
	}

	// Published again, every job finds its video: nothing is attached.
	again := pub.PublishBatch(context.Background(), c.jobs)
	for i, o := range again {
		if o.Err != nil || !o.Result.Reused || o.Result.MediaID != out[i].Result.MediaID {
			t.Errorf("republished job %d = %+v, %v; want its video reused", i, o.Result, o.Err)
		}
	}
	if st2 := c.srv.Stats(); st2.BulkOperations != 1 || st2.MediaCreated != st.MediaCreated {
		t.Errorf("republishing started %d bulk operations and created %d media", st2.BulkOperations-1, st2.MediaCreated-st.MediaCreated)
	}
}

// gateClock reads a virtual clock but holds the first Sleep made once when
// reports true until released, so a test can act while the caller waits.
type gateClock struct {
	*shopifytest.VirtualClock
	when             func() bool
	waiting, release chan struct{}
	once             *sync.Once
}

func (c gateClock) Sleep(ctx context.Context, d time.Duration) error {
	if !c.when() {
		return c.VirtualClock.Sleep(ctx, d)
	}
	c.once.Do(func() {
		close(c.waiting)
		select {
		case <-c.release:
		case <-ctx.Done():
		}
	})
	return c.VirtualClock.Sleep(ctx, d)
}

// TestPublishBatchBulkWaitsForTheStoresRunningOperation runs two
// publishers' bulk operations on one store, which runs one at a time: the
// second finds the first running (currentBulkOperation), waits for it to
// end, and starts its own then, instead of attaching one by one.
func TestPublishBatchBulkWaitsForTheStoresRunningOperation(t *testing.T) {
	c := newCatalog(6, 100, shopifytest.WithBulkDuration(30*time.Second))
	defer c.srv.Close()
	started := func() bool { return c.srv.Stats().BulkOperations > 0 }
	gate := gateClock{c.clock, started, make(chan struct{}), make(chan struct{}), new(sync.Once)}
	first := shopify.NewPublisher(c.srv.Client(shopify.WithClock(gate)), shopify.WithBulkThreshold(2))
	second := shopify.NewPublisher(c.srv.Client(), shopify.WithBulkThreshold(2))

	firstOut := make(chan []shopify.PublishOutcome, 1)
	go func() { firstOut <- first.PublishBatch(context.Background(), c.jobs[:3]) }()
	<-gate.waiting // the first operation is running; its publisher waits to poll it
	if st := c.srv.Stats(); st.BulkOperations != 1 {
		t.Fatalf("%d bulk operations started, want the first publisher's", st.BulkOperations)
	}
	out := second.PublishBatch(context.Background(), c.jobs[3:])
	close(gate.release)
	out = append(<-firstOut, out...)

	for i, o := range out {
		if o.Err != nil || o.Result.Status != shopify.MediaStatusReady {
			t.Errorf("job %d = %+v, %v; want READY", i, o.Result, o.Err)
		}
	}
	st := c.srv.Stats()
	if st.BulkOperations != 2 || st.Calls["bulkOperationRunMutation"] != 2 || st.Calls["currentBulkOperation"] != 2 || st.Calls["productUpdate"] != 0 || st.MediaCreated != 6 {
		t.Errorf("bulk operations %d, calls %v, media %d; want 2 operations started at the first try after a look at the store's current one each, no productUpdate, 6 videos",
			st.BulkOperations, st.Calls, st.MediaCreated)
	}
}

// TestPublishBatchBulkCanceledAtTheTimeout runs a bulk operation that is
// still running when the processing timeout ends. The publisher cancels it
// and waits until it has stopped: the lines Shopify had run keep their
// videos, the others are attached one by one, and when the operation's
// time would have come no line attaches a second video.
func TestPublishBatchBulkCanceledAtTheTimeout(t *testing.T) {
	c := newCatalog(6, 100, shopifytest.WithBulkDuration(time.Hour))
	defer c.srv.Close()
	pub := shopify.NewPublisher(c.srv.Client(), shopify.WithBulkThreshold(2), shopify.WithProcessingTimeout(time.Minute))

	out := pub.PublishBatch(context.Background(), c.jobs)
	for i, o := range out {
		if o.Err != nil || o.Result.Status != shopify.MediaStatusReady {
			t.Errorf("job %d = %+v, %v; want READY", i, o.Result, o.Err)
		}
	}
	// Past the operation's own duration, the jobs are published again (a
	// retry): each finds its video, and nothing is attached again.
	c.clock.Advance(2 * time.Hour)
	for i, o := range pub.PublishBatch(context.Background(), c.jobs) {
		if o.Err != nil || !o.Result.Reused || o.Result.MediaID != out[i].Result.MediaID {
			t.Errorf("republished job %d = %+v, %v; want its video reused", i, o.Result, o.Err)
		}
	}
	videosOn := func() map[string]int {
		n := map[string]int{}
		for _, o := range out {
			for _, m := range c.srv.Media(o.Result.ProductID) {
				if m.ContentType == "VIDEO" {
					n[o.Job.SKU]++
				}
			}
		}
		return n
	}
	for sku, n := range videosOn() {
		if n != 1 {
			t.Errorf("%s: %d videos, want 1", sku, n)
		}
	}
	st := c.srv.Stats()
	if st.BulkCancels != 1 || st.BulkOperations != 1 || st.MediaCreated != 6 || st.Calls["productUpdate"] != 3 {
		t.Errorf("cancels %d, bulk operations %d, media %d, productUpdate calls %d; want 1 cancel, 1 operation, 6 videos, 3 attached one by one",
			st.BulkCancels, st.BulkOperations, st.MediaCreated, st.Calls["productUpdate"])
	}
}

// TestPublishBatchBulkLostAnswerNotAttachedTwice loses the answer to
// bulkOperationRunMutation: the operation runs on the store, out of the
// publisher's sight, and attaches the videos once it is read. The retry of
// the batch checks the jobs (no video yet), uploads again, and then finds
// that operation as the store's current bulk mutation: it waits for it to
// end, checks again and reuses the videos it attached, so that no product
// gets a second video.
func TestPublishBatchBulkLostAnswerNotAttachedTwice(t *testing.T) {
	c, pub := loseBulkStart(t)
	defer c.srv.Close()
	out := pub.PublishBatch(context.Background(), c.jobs)
	for i, o := range out {
		if o.Err != nil || o.Result.Status != shopify.MediaStatusReady || !o.Result.Reused {
			t.Errorf("retried job %d = %+v, %v; want READY, the video the first operation attached reused", i, o.Result, o.Err)
			continue
		}
		var vids []string
		for _, m := range c.srv.Media(o.Result.ProductID) {
			if m.ContentType == "VIDEO" {
				vids = append(vids, m.ID)
			}
		}
		if len(vids) != 1 || vids[0] != o.Result.MediaID {
			t.Errorf("job %d: product has videos %v, want only %s", i, vids, o.Result.MediaID)
		}
	}
	if st := c.srv.Stats(); st.BulkOperations != 1 || st.MediaCreated != 6 || st.Calls["productUpdate"] != 0 {
		t.Errorf("bulk operations %d, media %d, productUpdate calls %d; want the one operation's 6 videos", st.BulkOperations, st.MediaCreated, st.Calls["productUpdate"])
	}
}

// TestPublishBatchLostBulkAnswerThenOneByOne loses the answer to
// bulkOperationRunMutation and retries the jobs in batches too small for
// a bulk operation, as the outbox may after the jobs were rescheduled: each
// is attached one by one only after the publisher has looked at the
// store's current bulk mutation, waited for the one it lost sight of, and
// found the videos it attached, so that no product gets a second video.
func TestPublishBatchLostBulkAnswerThenOneByOne(t *testing.T) {
	c, pub := loseBulkStart(t, shopifytest.WithBulkDuration(30*time.Second))
	defer c.srv.Close()
	for i, j := range c.jobs {
		o := pub.PublishBatch(context.Background(), []shopify.VideoJob{j})[0]
		if o.Err != nil || o.Result.Status != shopify.MediaStatusReady || !o.Result.Reused {
			t.Errorf("job %d retried alone = %+v, %v; want READY, the video the lost operation attached reused", i, o.Result, o.Err)
		}
	}
	c.clock.Advance(time.Hour)
	for _, j := range c.jobs {
		v, err := c.srv.Client().LookupSKU(context.Background(), j.SKU)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range c.srv.Media(v.ProductID) {
			if m.ContentType == "VIDEO" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d videos, want 1", j.SKU, n)
		}
	}
	if st := c.srv.Stats(); st.BulkOperations != 1 || st.MediaCreated != 6 || st.Calls["productUpdate"] != 0 {
		t.Errorf("bulk operations %d, media %d, productUpdate calls %d; want the lost operation's 6 videos and no productUpdate", st.BulkOperations, st.MediaCreated, st.Calls["productUpdate"])
	}
}

// loseBulkStart publishes 6 jobs with bulk operations from 2 videos on and
// the answer to bulkOperationRunMutation lost: the operation runs on the
// store out of the publisher's sight, and every job must fail retryably.
func loseBulkStart(t *testing.T, opts ...shopifytest.Option) (*catalog, *shopify.Publisher) {
	t.Helper()
	c := newCatalog(6, 100, opts...)
	c.srv.InjectFault(shopifytest.Fault{Field: "bulkOperationRunMutation", Status: http.StatusBadGateway, AfterExecute: true})
	pub := shopify.NewPublisher(c.srv.Client(), shopify.WithBulkThreshold(2))
	for i, o := range pub.PublishBatch(context.Background(), c.jobs) {
		if o.Err == nil || shopify.IsPermanent(o.Err) {
			t.Errorf("job %d with the operation's answer lost = %+v, %v; want a retryable error", i, o.Result, o.Err)
		}
	}
	return c, pub
}
