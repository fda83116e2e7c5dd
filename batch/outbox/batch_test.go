package outbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/outbox"
	"github.com/creativeai-run/catalogvideo/batch/storetest"
)

// batchSink is a BatchSink that remembers the SKUs of every batch it was
// handed and delivers each job with ref "media/SKU" unless fail says
// otherwise. Jobs handed to it alone go to single.
type batchSink struct {
	single recordingSink
	// before runs at the start of each DeliverBatch.
	before func(ctx context.Context, batch []jobs.Job)
	// fail answers a job at its call-th batch; nil delivers it.
	fail func(ctx context.Context, job jobs.Job, call int) error

	mu      sync.Mutex
	batches [][]string
	calls   map[string]int
}

func (s *batchSink) Deliver(ctx context.Context, job jobs.Job) (string, error) {
	return s.single.Deliver(ctx, job)
}

func (s *batchSink) DeliverBatch(ctx context.Context, batch []jobs.Job) []outbox.Result {
	if s.before != nil {
		s.before(ctx, batch)
	}
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	var skus []string
	calls := make([]int, len(batch))
	for i, job := range batch {
		skus = append(skus, job.SKU)
		s.calls[job.Key]++
		calls[i] = s.calls[job.Key]
	}
	s.batches = append(s.batches, skus)
	s.mu.Unlock()
	out := make([]outbox.Result, len(batch))
	for i, job := range batch {
		if s.fail != nil {
			if err := s.fail(ctx, job, calls[i]); err != nil {
				out[i].Err = err
				continue
			}
		}
		out[i].Ref = "media/" + job.SKU
	}
	return out
}

// sortedBatches returns each batch's SKUs sorted: the order within a batch
// is the store's claim order, which the tests do not pin.
func (s *batchSink) sortedBatches() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]string, len(s.batches))
	for i, b := range s.batches {
		out[i] = slices.Sorted(slices.Values(b))
	}
	return out
}

func (s *batchSink) batchSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, b := range s.batches {
		out = append(out, len(b))
	}
	return out
}

// TestDeliverBatch hands a BatchSink the due jobs of its surface in one
// call and records each job's own result, on every store: delivered with
// its ref, failed for good on a permanent error, and due again after the
// backoff on another error, when the next batch takes it alone. Another
// surface's plain Sink still gets one job at a time.
func TestDeliverBatch(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(jobs.Clock) jobs.Store) {
		clock := storetest.NewClock(storetest.Epoch)
		store := open(clock)
		var keys = map[string]string{}
		for _, sku := range []string{"OK-1", "OK-2", "GONE", "FLAKY"} {
			keys[sku] = storetest.CompletedJob(t, store, sku, "shopify-pdp").Key
		}
		ad1 := storetest.CompletedJob(t, store, "AD-1", "meta-ads")
		ad2 := storetest.CompletedJob(t, store, "AD-2", "meta-ads")
		pdp := &batchSink{fail: func(_ context.Context, job jobs.Job, call int) error {
			switch {
			case job.SKU == "GONE":
				return fmt.Errorf("wrapped: %w", outbox.Permanent(errors.New("no product has SKU GONE")))
			case job.SKU == "FLAKY" && call == 1:
				return errors.New("shopify answered 503")
			}
			return nil
		}}
		ads := &recordingSink{}
		var reported []string
		cfg := outbox.Config{
			Store: store, Clock: clock, Workers: 1, BatchSize: 10, // one worker: OnResult appends without a lock
			Sinks:    map[string]outbox.Sink{"shopify-pdp": pdp, "meta-ads": ads},
			Backoff:  func(n int) time.Duration { return time.Duration(n) * time.Minute },
			OnResult: func(job jobs.Job, err error) { reported = append(reported, job.SKU) },
		}

		deliverOnce(t, cfg, 6)
		if got, want := pdp.sortedBatches(), [][]string{{"FLAKY", "GONE", "OK-1", "OK-2"}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches %q, want %q", got, want)
		}
		if len(pdp.single.calls) != 0 || ads.count(ad1.Key) != 1 || ads.count(ad2.Key) != 1 {
			t.Errorf("single deliveries: pdp %v, ads %v; want none to pdp and each ad once", pdp.single.calls, ads.calls)
		}
		if len(reported) != 6 {
			t.Errorf("OnResult saw %q; want all 6 attempts", reported)
		}
		for _, tc := range []struct {
			sku      string
			state    jobs.DeliveryState
			ref, err string
			nextAt   time.Time
		}{
			{"OK-1", jobs.DeliveryDelivered, "media/OK-1", "", time.Time{}},
			{"OK-2", jobs.DeliveryDelivered, "media/OK-2", "", time.Time{}},
			{"GONE", jobs.DeliveryFailed, "", "wrapped: no product has SKU GONE", time.Time{}},
			{"FLAKY", jobs.DeliveryPending, "", "shopify answered 503", storetest.Epoch.Add(time.Minute)},
		} {
			j, err := store.Get(t.Context(), keys[tc.sku])
			if err != nil || j.Delivery != tc.state || j.DeliveryRef != tc.ref || j.DeliveryError != tc.err ||
				!j.DeliveryNextAt.Equal(tc.nextAt) || j.DeliveryAttempts != 1 {
				t.Errorf("%s: %s ref %q error %q next %v after %d attempts, %v; want %s ref %q error %q next %v after 1",
					tc.sku, j.Delivery, j.DeliveryRef, j.DeliveryError, j.DeliveryNextAt, j.DeliveryAttempts, err, tc.state, tc.ref, tc.err, tc.nextAt)
			}
		}

		deliverOnce(t, cfg, 0) // FLAKY waits out its backoff
		clock.Advance(time.Minute)
		deliverOnce(t, cfg, 1)
		if got := pdp.sortedBatches(); len(got) != 2 || !slices.Equal(got[1], []string{"FLAKY"}) {
			t.Errorf("batches %q; want a second of FLAKY alone", got)
		}
		if j, _ := store.Get(t.Context(), keys["FLAKY"]); j.Delivery != jobs.DeliveryDelivered || j.DeliveryRef != "media/FLAKY" || j.DeliveryAttempts != 2 {
			t.Errorf("FLAKY after its retry: %+v; want delivered at the second attempt", j)
		}
	})
}

// TestDeliverBatchSize checks how many jobs a worker hands a BatchSink at
// once: at most Config.BatchSize (DefaultBatchSize when unset), and one at
// a time through Deliver with BatchSize 1. A Fallback takes the other
// surfaces one job at a time beside the batches.
func TestDeliverBatchSize(t *testing.T) {
	for _, tc := range []struct {
		batchSize, jobs int
		want            []int
	}{
		{5, 12, []int{5, 5, 2}},
		{0, outbox.DefaultBatchSize + 10, []int{outbox.DefaultBatchSize, 10}},
		{1, 3, nil},
	} {
		t.Run(fmt.Sprint(tc.batchSize), func(t *testing.T) {
			store := memstore.New()
			for i := range tc.jobs {
				storetest.CompletedJob(t, store, fmt.Sprintf("SKU-%02d", i), "shopify-pdp")
			}
			other := storetest.CompletedJob(t, store, "MAIL-1", "email")
			sink, fallback := &batchSink{}, &recordingSink{}
			n, err := outbox.DeliverOnce(t.Context(), outbox.Config{
				Store: store, Workers: 1, BatchSize: tc.batchSize,
				Sinks: map[string]outbox.Sink{"shopify-pdp": sink}, Fallback: fallback,
			})
			if err != nil || n != tc.jobs+1 {
				t.Fatalf("DeliverOnce = %d, %v; want %d attempts", n, err, tc.jobs+1)
			}
			if got := sink.batchSizes(); !slices.Equal(got, tc.want) {
				t.Errorf("batch sizes %v, want %v", got, tc.want)
			}
			if singles := len(sink.single.calls); (tc.want == nil) != (singles == tc.jobs) {
				t.Errorf("%d jobs delivered alone through Deliver; want all of them only with BatchSize 1", singles)
			}
			if fallback.count(other.Key) != 1 || len(fallback.calls) != 1 {
				t.Errorf("fallback calls %v; want only %s", fallback.calls, other.Key)
			}
		})
	}
	if _, err := outbox.DeliverOnce(t.Context(), outbox.Config{Store: memstore.New(), Fallback: &recordingSink{}, BatchSize: -1}); err == nil || !strings.Contains(err.Error(), "BatchSize is -1") {
		t.Errorf("BatchSize -1: %v; want an error naming it", err)
	}
}

// TestDeliverBatchLeaseLost lets one job of a batch be claimed by another
// worker while the batch runs (its lease ran out): that job's result is
// left to its new owner, and the batch's other results are recorded.
func TestDeliverBatchLeaseLost(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(jobs.Clock) jobs.Store) {
		clock := storetest.NewClock(storetest.Epoch)
		store := open(clock)
		for _, sku := range []string{"SKU-1", "SKU-2", "SKU-3"} {
			storetest.CompletedJob(t, store, sku, "shopify-pdp")
		}
		var stolen string
		sink := &batchSink{before: func(ctx context.Context, batch []jobs.Job) {
			clock.Advance(outbox.DefaultLease + time.Minute)
			got, err := store.ClaimDeliveries(ctx, jobs.Claim{Owner: "thief", Limit: 1, Lease: time.Hour, Now: clock.Now()})
			if err != nil || len(got) != 1 {
				t.Errorf("the other worker's claim: %v, %v", got, err)
				return
			}
			stolen = got[0].Key
		}}
		var reported []string
		n, err := outbox.DeliverOnce(t.Context(), outbox.Config{
			Store: store, Clock: clock, Workers: 1, Sinks: map[string]outbox.Sink{"shopify-pdp": sink},
			OnResult: func(job jobs.Job, err error) { reported = append(reported, job.Key) },
		})
		if err != nil || n != 3 || stolen == "" {
			t.Fatalf("DeliverOnce = %d, %v (stolen %q); want 3 attempts", n, err, stolen)
		}
		if len(reported) != 2 || slices.Contains(reported, stolen) {
			t.Errorf("OnResult saw %q; want the two jobs still leased, not %s", reported, stolen)
		}
		for _, sku := range []string{"SKU-1", "SKU-2", "SKU-3"} {
			j, err := store.Get(t.Context(), sku+"#k")
			switch {
			case err != nil:
				t.Fatal(err)
			case j.Key == stolen && (j.Delivery != jobs.DeliveryPending || j.DeliveryAttempts != 0):
				t.Errorf("the stolen job %+v; want it pending for its new owner", j)
			case j.Key != stolen && (j.Delivery != jobs.DeliveryDelivered || j.DeliveryRef != "media/"+sku):
				t.Errorf("job %s: %s ref %q; want delivered with its ref", sku, j.Delivery, j.DeliveryRef)
			}
		}
		if j, err := store.RecordDelivery(t.Context(), stolen, jobs.DeliveryResult{Owner: "thief", State: jobs.DeliveryDelivered, Ref: "thief-ref"}); err != nil || j.DeliveryRef != "thief-ref" {
			t.Errorf("the new owner's result: %+v, %v; want it recorded", j, err)
		}
	})
}

// TestDeliverBatchReviewAndArchive runs a batch surface behind the review
// gate with archiving on: every claimed job is archived first, those not
// approved are held (no attempt) and the approved one is batched alone; once
// approved after the provider's links expired, the held ones come back as
// one batch that downloads each job's output_url through ArchiveTransport,
// which finds each job of the batch in the context and serves its archived
// copy.
func TestDeliverBatchReviewAndArchive(t *testing.T) {
	eachStore(t, func(t *testing.T, open func(jobs.Clock) jobs.Store) {
		clock := storetest.NewClock(storetest.Epoch)
		w := newRenderWorld(t, open(clock), clock)
		var keys []string
		for _, sku := range []string{"SKU-1", "SKU-2", "SKU-3"} {
			keys = append(keys, w.completed(sku).Key)
		}
		if _, err := w.store.Approve(t.Context(), keys[1], "approved ahead"); err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Transport: outbox.ArchiveTransport(nil)}
		sink := &batchSink{fail: func(ctx context.Context, job jobs.Job, _ int) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, job.OutputURL, nil)
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			h := sha256.New()
			if _, err := io.Copy(h, resp.Body); err != nil {
				return err
			}
			if src := resp.Header.Get("X-Archive-Url"); resp.StatusCode != http.StatusOK || src != job.ArchiveURL || hex.EncodeToString(h.Sum(nil)) != job.SHA256 {
				return fmt.Errorf("download of %s: %s from %q; want the archived copy %s", job.SKU, resp.Status, src, job.ArchiveURL)
			}
			return nil
		}}
		cfg := outbox.Config{
			Store: w.store, Clock: clock, Workers: 1, Archive: w.archiver(),
			Sinks: map[string]outbox.Sink{"shopify-pdp": sink}, Review: []string{"shopify-pdp"},
		}
		if n, err := outbox.DeliverOnce(t.Context(), cfg); err != nil || n != 1 {
			t.Fatalf("DeliverOnce = %d, %v; want 1 attempt (two held)", n, err)
		}
		for i, key := range keys {
			j := w.get(key)
			want := jobs.DeliveryAwaitingReview
			if i == 1 {
				want = jobs.DeliveryDelivered
			}
			if !j.Archived() || j.Delivery != want {
				t.Errorf("%s: %s, archived %v; want %s and archived", j.SKU, j.Delivery, j.Archived(), want)
			}
		}

		w.clock.Advance(24 * time.Hour) // the provider's links are gone
		for _, key := range []string{keys[0], keys[2]} {
			if _, err := w.store.Approve(t.Context(), key, "ok"); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := outbox.DeliverOnce(t.Context(), cfg); err != nil || n != 2 {
			t.Fatalf("DeliverOnce after the approvals = %d, %v; want 2 attempts", n, err)
		}
		if got, want := sink.sortedBatches(), [][]string{{"SKU-2"}, {"SKU-1", "SKU-3"}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches %q, want %q", got, want)
		}
		for _, key := range keys {
			if j := w.get(key); j.Delivery != jobs.DeliveryDelivered || j.DeliveryRef != "media/"+j.SKU {
				t.Errorf("%s: %s %q; want delivered from its archived copy", j.SKU, j.Delivery, j.DeliveryError)
			}
		}
		if st := w.sim.Stats(); st.Downloads != 3 || st.ExpiredDownloads != 0 {
			t.Errorf("the provider served %d downloads, %d expired; want the three archives' only", st.Downloads, st.ExpiredDownloads)
		}
	})
}

// TestDeliverBatchWrongResultCount retries every job of a batch whose sink
// answered with a slice of the wrong length, since which result is whose
// cannot be known.
func TestDeliverBatchWrongResultCount(t *testing.T) {
	store := memstore.New()
	a := storetest.CompletedJob(t, store, "SKU-1", "pdp")
	b := storetest.CompletedJob(t, store, "SKU-2", "pdp")
	sink := shortSink{}
	if n, err := outbox.DeliverOnce(t.Context(), outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"pdp": sink}}); err != nil || n != 2 {
		t.Fatalf("DeliverOnce = %d, %v; want 2 attempts", n, err)
	}
	for _, key := range []string{a.Key, b.Key} {
		j, _ := store.Get(t.Context(), key)
		if j.Delivery != jobs.DeliveryPending || j.DeliveryAttempts != 1 || !strings.Contains(j.DeliveryError, "returned 1 results for 2 jobs") {
			t.Errorf("%s: %s %q; want pending, retried, with an error naming the count", j.SKU, j.Delivery, j.DeliveryError)
		}
	}
}

// shortSink answers a batch with one result, whatever its size.
type shortSink struct{}

func (shortSink) Deliver(context.Context, jobs.Job) (string, error) { return "ref", nil }
func (shortSink) DeliverBatch(context.Context, []jobs.Job) []outbox.Result {
	return []outbox.Result{{Ref: "ref"}}
}
