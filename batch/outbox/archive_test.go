package outbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/archive"
	"github.com/creativeai-run/catalogvideo/batch/archive/archivetest"
	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/outbox"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
	"github.com/creativeai-run/catalogvideo/creativeai"
	"github.com/creativeai-run/catalogvideo/creativeai/creativeaitest"
)

const outputTTL = time.Hour

// renderWorld is a simulator whose outputs expire after outputTTL on a
// manual clock, a store and a bucket sharing that clock.
type renderWorld struct {
	t      *testing.T
	clock  *storetest.Clock
	sim    *creativeaitest.Server
	store  jobs.Store
	bucket *archivetest.Bucket
}

func newRenderWorld(t *testing.T, store jobs.Store, clock *storetest.Clock) *renderWorld {
	sim := creativeaitest.NewServer(creativeaitest.WithManualRender(), creativeaitest.WithOutputTTL(outputTTL),
		creativeaitest.WithClock(clock), creativeaitest.WithOutputSize(200_000))
	t.Cleanup(sim.Close)
	return &renderWorld{t: t, clock: clock, sim: sim, store: store, bucket: archivetest.NewBucket("archive")}
}

// completed renders a job for sku through the simulator and applies its
// completion to the store, which puts it in the outbox.
func (w *renderWorld) completed(sku string) jobs.Job {
	return w.completedFor(sku, "shopify-pdp")
}

// completedFor is completed for a job with the given target_surface; a job
// without one does not enter the outbox.
func (w *renderWorld) completedFor(sku, surface string) jobs.Job {
	t := w.t
	t.Helper()
	ctx := t.Context()
	gen, _, err := w.sim.Client().Videos.Create(ctx, &creativeai.VideoRequest{Prompt: "push in on " + sku, ImageURL: "https://cdn.example.com/" + sku + ".jpg"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.sim.Complete(gen.ID); err != nil {
		t.Fatal(err)
	}
	done, _ := w.sim.Generation(gen.ID)
	job, _, err := w.store.Track(ctx, jobs.Job{Key: sku + "#k", SKU: sku, TargetSurface: surface})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.store.RecordSubmission(ctx, job.Key, jobs.Submission{Generation: gen}); err != nil {
		t.Fatal(err)
	}
	res, err := w.store.Apply(ctx, done)
	if inOutbox := res.Job.Delivery == jobs.DeliveryPending; err != nil || inOutbox != (surface != "") {
		t.Fatalf("Apply: %+v, %v; want the job in the outbox only with a target_surface", res, err)
	}
	return res.Job
}

func (w *renderWorld) archiver() *archive.Archiver {
	a, err := archive.New(w.bucket, archive.WithBackoff(func(int) time.Duration { return 0 }))
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

func (w *renderWorld) get(key string) jobs.Job {
	w.t.Helper()
	j, err := w.store.Get(w.t.Context(), key)
	if err != nil {
		w.t.Fatal(err)
	}
	return j
}

// readingSink delivers by reading the whole video through outbox.Open and
// returning its SHA-256 as the reference; failFirst makes its first call
// fail after reading, as a Shopify outage would.
type readingSink struct {
	mu        sync.Mutex
	calls     int
	failFirst bool
	sources   []string
}

func (s *readingSink) Deliver(ctx context.Context, job jobs.Job) (string, error) {
	s.mu.Lock()
	s.calls++
	n := s.calls
	s.mu.Unlock()
	v, err := outbox.Open(ctx, job)
	if err != nil {
		return "", err
	}
	defer v.Close()
	h := sha256.New()
	if _, err := io.Copy(h, v); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.sources = append(s.sources, v.Source)
	s.mu.Unlock()
	if s.failFirst && n == 1 {
		return "", errors.New("shopify: HTTP 503")
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func (w *renderWorld) deliverOnce(cfg outbox.Config) {
	w.t.Helper()
	cfg.Store, cfg.Clock = w.store, w.clock
	cfg.Backoff = func(int) time.Duration { return time.Minute }
	if _, err := outbox.DeliverOnce(w.t.Context(), cfg); err != nil {
		w.t.Fatal(err)
	}
}

func TestDeliverAfterExpiryFromTheArchive(t *testing.T) {
	eachStore(t, testDeliverAfterExpiryFromTheArchive)
}

func testDeliverAfterExpiryFromTheArchive(t *testing.T, open func(jobs.Clock) jobs.Store) {
	clock := storetest.NewClock(storetest.Epoch)
	w := newRenderWorld(t, open(clock), clock)
	job := w.completed("SKU-1")
	sink := &readingSink{failFirst: true}
	cfg := outbox.Config{Archive: w.archiver(), Sinks: map[string]outbox.Sink{"shopify-pdp": sink}}

	w.deliverOnce(cfg)
	got := w.get(job.Key)
	if !got.Archived() || got.Delivery != jobs.DeliveryPending || got.DeliveryAttempts != 1 {
		t.Fatalf("after a failed first delivery: %+v; want archived and pending", got)
	}
	key := cfg.Archive.Key(job)
	data, ct, ok := w.bucket.Object(key)
	sum := sha256.Sum256(data)
	if !ok || got.SHA256 != hex.EncodeToString(sum[:]) || got.ArchiveSize != 200_000 || ct != "video/mp4" || got.ArchiveURL != w.bucket.URL(key) {
		t.Fatalf("archive record %+v does not describe the object %s (%d bytes, %s)", got.Archive, key, len(data), ct)
	}

	// A day later the provider's link is gone; the retry delivers from the
	// archive.
	w.clock.Advance(24 * time.Hour)
	w.deliverOnce(cfg)
	got = w.get(job.Key)
	if got.Delivery != jobs.DeliveryDelivered || got.DeliveryRef != "sha256:"+got.SHA256 {
		t.Fatalf("after expiry: %+v; want delivered from the archive", got)
	}
	if st := w.sim.Stats(); st.Downloads != 1 || st.ExpiredDownloads != 0 {
		t.Errorf("simulator served %d downloads, %d expired; want the one archive download", st.Downloads, st.ExpiredDownloads)
	}
	if sink.sources[1] != got.ArchiveURL {
		t.Errorf("second delivery read %s, want the archive", sink.sources[1])
	}
}

func TestDeliverAfterExpiryWithoutArchiveFailsClearly(t *testing.T) {
	clock := storetest.NewClock(storetest.Epoch)
	w := newRenderWorld(t, memstore.New(memstore.WithClock(clock)), clock)
	job := w.completed("SKU-1")
	cfg := outbox.Config{Sinks: map[string]outbox.Sink{"shopify-pdp": &readingSink{failFirst: true}}}
	w.deliverOnce(cfg)
	w.clock.Advance(24 * time.Hour)
	w.deliverOnce(cfg)
	got := w.get(job.Key)
	if got.Delivery != jobs.DeliveryPending || !strings.Contains(got.DeliveryError, "HTTP 403") ||
		!strings.Contains(got.DeliveryError, "expired") || !strings.Contains(got.DeliveryError, "no archived copy") {
		t.Errorf("delivery after expiry without an archive: %s %q; want an error saying the output expired and nothing was archived", got.Delivery, got.DeliveryError)
	}
	if w.sim.Stats().ExpiredDownloads != 1 {
		t.Errorf("expired downloads = %d, want 1", w.sim.Stats().ExpiredDownloads)
	}
}

func TestArchiveAfterExpiryFailsForGood(t *testing.T) {
	clock := storetest.NewClock(storetest.Epoch)
	w := newRenderWorld(t, memstore.New(memstore.WithClock(clock)), clock)
	job := w.completed("SKU-1")
	sink := &readingSink{}
	w.clock.Advance(outputTTL)
	w.deliverOnce(outbox.Config{Archive: w.archiver(), Sinks: map[string]outbox.Sink{"shopify-pdp": sink}})
	got := w.get(job.Key)
	if got.Delivery != jobs.DeliveryFailed || got.Archived() || !strings.Contains(got.DeliveryError, "no longer serves the video") || sink.calls != 0 {
		t.Errorf("archive of an expired output: %s %q, archived %v, sink called %d times; want failed for good before the sink", got.Delivery, got.DeliveryError, got.Archived(), sink.calls)
	}
}

// TestCrashBetweenArchiveAndRecord covers the two places a worker can stop:
// after the object is committed but before the store records it, and
// after recording but before the sink runs. Either way the job is
// delivered once, from one object.
func TestCrashBetweenArchiveAndRecord(t *testing.T) {
	eachStore(t, testCrashBetweenArchiveAndRecord)
}

func testCrashBetweenArchiveAndRecord(t *testing.T, open func(jobs.Clock) jobs.Store) {
	for _, tc := range []struct {
		name    string
		expired bool // the link expires before the restart
		record  bool // the crash came after RecordArchive
	}{
		{"before record, rewrites the object", false, false},
		{"before record, link expired, reuses the object", true, false},
		{"after record, delivers from the record", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := storetest.NewClock(storetest.Epoch)
			w := newRenderWorld(t, open(clock), clock)
			job := w.completed("SKU-1")
			a := w.archiver()
			rec, err := a.Archive(t.Context(), job) // the crashed worker's archive
			if err != nil {
				t.Fatal(err)
			}
			if tc.record {
				if _, err := w.store.RecordArchive(t.Context(), job.Key, rec); err != nil {
					t.Fatal(err)
				}
			}
			if tc.expired {
				w.clock.Advance(outputTTL)
			}
			sink := &readingSink{}
			w.deliverOnce(outbox.Config{Archive: a, Sinks: map[string]outbox.Sink{"shopify-pdp": sink}})
			got := w.get(job.Key)
			if got.Delivery != jobs.DeliveryDelivered || got.Archive != rec || sink.calls != 1 {
				t.Errorf("job %s %+v, sink called %d times; want delivered once with archive %+v", got.Delivery, got.Archive, sink.calls, rec)
			}
			wantCommits := 2 // rewritten
			if tc.expired {
				wantCommits = 1 // reused
			}
			if keys := w.bucket.Keys(); len(keys) != 1 || w.bucket.Commits() != wantCommits {
				t.Errorf("bucket holds %v after %d commits; want one object, %d commits", keys, w.bucket.Commits(), wantCommits)
			}
		})
	}
}

func TestDeliverRefusesACorruptedArchive(t *testing.T) {
	clock := storetest.NewClock(storetest.Epoch)
	w := newRenderWorld(t, memstore.New(memstore.WithClock(clock)), clock)
	job := w.completed("SKU-1")
	a := w.archiver()
	sink := &readingSink{failFirst: true}
	cfg := outbox.Config{Archive: a, Sinks: map[string]outbox.Sink{"shopify-pdp": sink}}
	w.deliverOnce(cfg)
	w.bucket.Corrupt(a.Key(job))
	w.clock.Advance(time.Hour)
	w.deliverOnce(cfg)
	got := w.get(job.Key)
	if got.Delivery != jobs.DeliveryPending || !strings.Contains(got.DeliveryError, "sha256") || sink.calls != 2 {
		t.Errorf("delivery from a corrupted copy: %s %q; want pending with a checksum error", got.Delivery, got.DeliveryError)
	}
}

// TestArchiveTransport shows a sink that downloads output_url itself, as
// shopify.Publisher does, reading the archived copy through the transport.
func TestArchiveTransport(t *testing.T) {
	clock := storetest.NewClock(storetest.Epoch)
	w := newRenderWorld(t, memstore.New(memstore.WithClock(clock)), clock)
	job := w.completed("SKU-1")
	hc := &http.Client{Transport: outbox.ArchiveTransport(nil)}
	var calls int
	downloader := outbox.SinkFunc(func(ctx context.Context, job jobs.Job) (string, error) {
		calls++
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, job.OutputURL, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", errors.New(resp.Status)
		}
		h := sha256.New()
		if _, err := io.Copy(h, resp.Body); err != nil {
			return "", err
		}
		if calls == 1 {
			return "", errors.New("shopify: HTTP 503")
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	})
	cfg := outbox.Config{Archive: w.archiver(), Sinks: map[string]outbox.Sink{"shopify-pdp": downloader}}
	w.deliverOnce(cfg)
	w.clock.Advance(24 * time.Hour)
	w.deliverOnce(cfg)
	got := w.get(job.Key)
	if got.Delivery != jobs.DeliveryDelivered || got.DeliveryRef != got.SHA256 || w.sim.Stats().ExpiredDownloads != 0 {
		t.Errorf("downloading sink after expiry: %s %q ref %s; want delivered from the archive", got.Delivery, got.DeliveryError, got.DeliveryRef)
	}
}
