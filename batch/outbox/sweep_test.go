package outbox_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/archive"
	"github.com/creativeai-run/catalogvideo/batch/archive/archivetest"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/outbox"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// TestArchiveEveryCompletedJob covers the jobs no delivery worker of the
// process claims: one without a target_surface, one for a surface the
// process has no sink for, and one delivered before archiving was turned
// on. Each is archived and keeps its delivery state, and its copy outlives
// the provider's link.
func TestArchiveEveryCompletedJob(t *testing.T) {
	eachStore(t, testArchiveEveryCompletedJob)
}

func testArchiveEveryCompletedJob(t *testing.T, open func(jobs.Clock) jobs.Store) {
	clock := storetest.NewClock(storetest.Epoch)
	w := newRenderWorld(t, open(clock), clock)
	sink := &readingSink{}
	sinks := map[string]outbox.Sink{"shopify-pdp": sink}

	early := w.completed("SKU-EARLY")
	w.deliverOnce(outbox.Config{Sinks: sinks}) // archiving off
	if got := w.get(early.Key); got.Delivery != jobs.DeliveryDelivered || got.Archived() {
		t.Fatalf("before archiving: %s archived=%v; want delivered, not archived", got.Delivery, got.Archived())
	}
	plain := w.completedFor("SKU-PLAIN", "")
	elsewhere := w.completedFor("SKU-ADS", "ads-pipeline")

	cfg := outbox.Config{Archive: w.archiver(), Sinks: sinks}
	w.deliverOnce(cfg)
	want := map[string]jobs.DeliveryState{early.Key: jobs.DeliveryDelivered, plain.Key: "", elsewhere.Key: jobs.DeliveryPending}
	for key, delivery := range want {
		got := w.get(key)
		if !got.Archived() || got.Delivery != delivery {
			t.Errorf("%s: archived=%v delivery %q; want archived, delivery %q", key, got.Archived(), got.Delivery, delivery)
			continue
		}
		if _, _, ok := w.bucket.Object(cfg.Archive.Key(got)); !ok {
			t.Errorf("%s: recorded %s, but the bucket has no object %s", key, got.ArchiveURL, cfg.Archive.Key(got))
		}
	}
	if sink.calls != 1 {
		t.Errorf("sink called %d times; want once, for the delivery before archiving", sink.calls)
	}

	// Later passes leave archived jobs alone, even after the links expire.
	commits := w.bucket.Commits()
	w.clock.Advance(24 * time.Hour)
	w.deliverOnce(cfg)
	if w.bucket.Commits() != commits || len(w.bucket.Keys()) != 3 {
		t.Errorf("bucket: %d commits, keys %v after another pass; want %d commits, 3 objects", w.bucket.Commits(), w.bucket.Keys(), commits)
	}
	if st := w.sim.Stats(); st.ExpiredDownloads != 0 {
		t.Errorf("%d downloads of expired links; want none", st.ExpiredDownloads)
	}
}

// videoHost serves output URLs from memory, failing each URL's first
// failures[url] downloads with 503 and answering gone with 410.
type videoHost struct {
	mu        sync.Mutex
	failures  map[string]int
	gone      map[string]bool
	downloads map[string]int
}

func (h *videoHost) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := req.URL.String()
	h.downloads[u]++
	code, body := http.StatusOK, "video bytes of "+u
	switch {
	case h.gone[u]:
		code, body = http.StatusGone, "expired"
	case h.failures[u] > 0:
		h.failures[u]--
		code, body = http.StatusServiceUnavailable, "busy"
	}
	return &http.Response{
		StatusCode: code, Status: http.StatusText(code), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"video/mp4"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

// TestDeliverSweepsWhatCompletesLater runs Deliver as a server does: jobs
// that complete after it started are archived by a later pass, a failed
// archive is retried after its backoff and not before, and an output that
// is gone is given up on with an error in the log.
func TestDeliverSweepsWhatCompletesLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		store := memstore.New()
		host := &videoHost{
			failures:  map[string]int{"https://cdn.example.com/FLAKY.mp4": 1},
			gone:      map[string]bool{"https://cdn.example.com/GONE.mp4": true},
			downloads: map[string]int{},
		}
		bucket := archivetest.NewBucket("archive")
		a, err := archive.New(bucket, archive.WithHTTPClient(&http.Client{Transport: host}), archive.WithMaxAttempts(1))
		if err != nil {
			t.Fatal(err)
		}
		var logs syncBuffer
		cfg := outbox.Config{
			Store:        store,
			Archive:      a,
			Sinks:        map[string]outbox.Sink{"shopify-pdp": &readingSink{}},
			PollInterval: time.Second, // a sweep every 10s
			Backoff:      func(int) time.Duration { return 30 * time.Second },
			Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := outbox.Deliver(ctx, cfg); err != nil {
				t.Error(err)
			}
		}()
		synctest.Wait() // the first pass found nothing

		complete := func(sku string) string {
			t.Helper()
			key, id := sku+"#k", "vgen_"+sku
			if _, _, err := store.Track(ctx, jobs.Job{Key: key, SKU: sku}); err != nil {
				t.Fatal(err)
			}
			if _, err := store.RecordSubmission(ctx, key, jobs.Submission{Generation: &creativeai.Generation{ID: id, Status: creativeai.StatusPending}}); err != nil {
				t.Fatal(err)
			}
			url := "https://cdn.example.com/" + sku + ".mp4"
			if _, err := store.Apply(ctx, creativeai.Generation{ID: id, Status: creativeai.StatusCompleted, OutputURL: url}); err != nil {
				t.Fatal(err)
			}
			return key
		}
		archived := func(key string) bool {
			j, err := store.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			return j.Archived()
		}

		ok := complete("OK")
		flaky := complete("FLAKY")
		gone := complete("GONE")

		time.Sleep(10 * time.Second)
		synctest.Wait()
		if !archived(ok) || archived(flaky) || archived(gone) {
			t.Fatalf("after one pass: ok=%v flaky=%v gone=%v; want only ok archived", archived(ok), archived(flaky), archived(gone))
		}
		// The next pass, 10s on, lists FLAKY again but its retry is 30s away.
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := host.downloads["https://cdn.example.com/FLAKY.mp4"]; n != 1 || archived(flaky) {
			t.Fatalf("FLAKY downloaded %d times before its backoff ended; want 1", n)
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if !archived(flaky) || host.downloads["https://cdn.example.com/FLAKY.mp4"] != 2 {
			t.Errorf("FLAKY archived=%v after %d downloads; want archived on the retry", archived(flaky), host.downloads["https://cdn.example.com/FLAKY.mp4"])
		}
		if n := host.downloads["https://cdn.example.com/GONE.mp4"]; n != 1 || archived(gone) {
			t.Errorf("GONE downloaded %d times; want one try, then given up", n)
		}
		if !strings.Contains(logs.String(), "video not archived") || !strings.Contains(logs.String(), "GONE") {
			t.Errorf("log does not say GONE was not archived:\n%s", logs.String())
		}
		if host.downloads["https://cdn.example.com/OK.mp4"] != 1 {
			t.Errorf("OK downloaded %d times; want once", host.downloads["https://cdn.example.com/OK.mp4"])
		}
		cancel()
		<-done
	})
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
