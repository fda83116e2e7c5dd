package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/batch/memstore"
	"github.com/creativeai-run/catalogvideo/batch/storetest"

	"github.com/creativeai-run/catalogvideo/batch/outbox"
)

// recordingSink delivers by remembering each call.
type recordingSink struct {
	mu    sync.Mutex
	calls map[string]int
	fail  func(job jobs.Job, call int) error
}

func (s *recordingSink) Deliver(ctx context.Context, job jobs.Job) (string, error) {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = make(map[string]int)
	}
	s.calls[job.Key]++
	n := s.calls[job.Key]
	s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(job, n); err != nil {
			return "", err
		}
	}
	return "media/" + job.SKU, nil
}

func (s *recordingSink) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[key]
}

func TestDeliverOnceRoutesBySurface(t *testing.T) {
	store := memstore.New()
	pdp := storetest.CompletedJob(t, store, "SKU-1", "shopify-pdp")
	ads := storetest.CompletedJob(t, store, "SKU-2", "meta-ads")
	cms := storetest.CompletedJob(t, store, "SKU-3", "cms")
	shopify, meta := &recordingSink{}, &recordingSink{}
	var results []string
	var mu sync.Mutex
	n, err := outbox.DeliverOnce(t.Context(), outbox.Config{
		Store: store,
		Sinks: map[string]outbox.Sink{"shopify-pdp": shopify, "meta-ads": meta},
		OnResult: func(job jobs.Job, err error) {
			mu.Lock()
			defer mu.Unlock()
			results = append(results, fmt.Sprintf("%s %s %v", job.SKU, job.Delivery, err))
		},
	})
	if err != nil || n != 2 {
		t.Fatalf("DeliverOnce = %d, %v; want 2 attempts", n, err)
	}
	if shopify.count(pdp.Key) != 1 || shopify.count(ads.Key) != 0 || meta.count(ads.Key) != 1 {
		t.Errorf("routing: shopify %v, meta %v", shopify.calls, meta.calls)
	}
	if got, _ := store.Get(t.Context(), pdp.Key); got.Delivery != jobs.DeliveryDelivered || got.DeliveryRef != "media/SKU-1" || got.DeliveryAttempts != 1 {
		t.Errorf("shopify job %+v: want delivered with its ref", got)
	}
	// A job whose surface has no sink here waits for a process that has one.
	got, _ := store.Get(t.Context(), cms.Key)
	if got.Delivery != jobs.DeliveryPending || got.DeliveryAttempts != 0 {
		t.Errorf("job without a sink: %+v; want pending, not attempted", got)
	}
	if line := got.BuyerStatus(jobs.DefaultBuyerCopy()); strings.Contains(line, "failed") {
		t.Errorf("buyer status of a job waiting for a sink: %q", line)
	}
	if len(results) != 2 {
		t.Errorf("OnResult calls: %q", results)
	}
	if n, err := outbox.DeliverOnce(t.Context(), outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"shopify-pdp": shopify}}); n != 0 || err != nil {
		t.Errorf("second DeliverOnce without a cms sink = %d, %v; want 0", n, err)
	}
	cmsSink := &recordingSink{}
	if n, err := outbox.DeliverOnce(t.Context(), outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"cms": cmsSink}}); n != 1 || err != nil {
		t.Errorf("DeliverOnce with a cms sink = %d, %v; want 1", n, err)
	}
	if cmsSink.count(cms.Key) != 1 {
		t.Errorf("cms sink calls %v", cmsSink.calls)
	}

	// A fallback sink takes what has no sink of its own.
	other := storetest.CompletedJob(t, store, "SKU-4", "email")
	fallback := &recordingSink{}
	if _, err := outbox.DeliverOnce(t.Context(), outbox.Config{Store: store, Fallback: fallback}); err != nil {
		t.Fatal(err)
	}
	if fallback.count(other.Key) != 1 {
		t.Errorf("fallback calls %v", fallback.calls)
	}
}

func TestDeliverRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memstore.New()
		job := storetest.CompletedJob(t, store, "SKU-1", "shopify-pdp")
		sink := &recordingSink{fail: func(_ jobs.Job, call int) error {
			if call < 3 {
				return fmt.Errorf("shopify answered 503 (call %d)", call)
			}
			return nil
		}}
		cfg := outbox.Config{
			Store:   store,
			Sinks:   map[string]outbox.Sink{"shopify-pdp": sink},
			Backoff: func(n int) time.Duration { return time.Duration(n) * time.Minute },
		}
		start := time.Now()
		var steps []string
		for range 5 {
			n, err := outbox.DeliverOnce(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			j, _ := store.Get(t.Context(), job.Key)
			next := "-"
			if !j.DeliveryNextAt.IsZero() {
				next = j.DeliveryNextAt.Sub(start).String()
			}
			steps = append(steps, fmt.Sprintf("%v n=%d %s attempts=%d next=%s err=%q", time.Since(start), n, j.Delivery, j.DeliveryAttempts, next, j.DeliveryError))
			time.Sleep(time.Minute)
		}
		want := []string{
			`0s n=1 pending attempts=1 next=1m0s err="shopify answered 503 (call 1)"`,
			`1m0s n=1 pending attempts=2 next=3m0s err="shopify answered 503 (call 2)"`,
			`2m0s n=0 pending attempts=2 next=3m0s err="shopify answered 503 (call 2)"`,
			`3m0s n=1 delivered attempts=3 next=- err=""`,
			`4m0s n=0 delivered attempts=3 next=- err=""`,
		}
		for i := range want {
			if steps[i] != want[i] {
				t.Errorf("step %d:\n got %s\nwant %s", i, steps[i], want[i])
			}
		}
	})
}

func TestDeliverPermanentAndMaxAttempts(t *testing.T) {
	store := memstore.New()
	gone := storetest.CompletedJob(t, store, "GONE", "shopify-pdp")
	flaky := storetest.CompletedJob(t, store, "FLAKY", "shopify-pdp")
	sink := &recordingSink{fail: func(job jobs.Job, _ int) error {
		if job.SKU == "GONE" {
			return fmt.Errorf("wrapped: %w", outbox.Permanent(errors.New("no product has SKU GONE")))
		}
		return errors.New("timeout")
	}}
	n, err := outbox.DeliverOnce(t.Context(), outbox.Config{
		Store: store, Sinks: map[string]outbox.Sink{"shopify-pdp": sink}, Workers: 1,
		MaxAttempts: 3, Backoff: func(int) time.Duration { return 0 },
	})
	if err != nil || n != 4 {
		t.Fatalf("DeliverOnce = %d, %v; want 4 attempts (1 + 3)", n, err)
	}
	if j, _ := store.Get(t.Context(), gone.Key); j.Delivery != jobs.DeliveryFailed || j.DeliveryAttempts != 1 ||
		j.DeliveryError != "wrapped: no product has SKU GONE" {
		t.Errorf("permanent failure: %+v", j)
	}
	if j, _ := store.Get(t.Context(), flaky.Key); j.Delivery != jobs.DeliveryFailed || j.DeliveryAttempts != 3 ||
		j.DeliveryError != "gave up after 3 attempts: timeout" {
		t.Errorf("exhausted retries: %+v", j)
	}
	if !outbox.IsPermanent(outbox.Permanent(errors.New("x"))) || outbox.IsPermanent(errors.New("x")) || outbox.Permanent(nil) != nil {
		t.Error("Permanent/IsPermanent disagree")
	}
}

func TestDeliverLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memstore.New()
		job := storetest.CompletedJob(t, store, "SKU-1", "shopify-pdp")
		// A worker that claimed the job and died.
		claimed, err := store.ClaimDeliveries(t.Context(), jobs.Claim{Owner: "dead", Limit: 1, Lease: 10 * time.Minute, Now: time.Now()})
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v, %v", claimed, err)
		}
		sink := &recordingSink{}
		cfg := outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"shopify-pdp": sink}}
		if n, err := outbox.DeliverOnce(t.Context(), cfg); n != 0 || err != nil {
			t.Fatalf("DeliverOnce under another's lease = %d, %v", n, err)
		}
		time.Sleep(10 * time.Minute)
		if n, err := outbox.DeliverOnce(t.Context(), cfg); n != 1 || err != nil {
			t.Fatalf("DeliverOnce after the lease ran out = %d, %v", n, err)
		}
		if j, _ := store.Get(t.Context(), job.Key); j.Delivery != jobs.DeliveryDelivered {
			t.Errorf("job %+v", j)
		}
		// The dead worker's late result is refused.
		if _, err := store.RecordDelivery(t.Context(), job.Key, jobs.DeliveryResult{Owner: "dead", State: jobs.DeliveryFailed}); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("late result from the dead worker: %v, want ErrLeaseLost", err)
		}
	})
}

// TestDeliverConcurrentWorkers checks that several workers, and two
// deliverers sharing one store, deliver every job exactly once.
func TestDeliverConcurrentWorkers(t *testing.T) {
	store := memstore.New()
	const jobList = 60
	for i := range jobList {
		storetest.CompletedJob(t, store, fmt.Sprintf("SKU-%d", i), "shopify-pdp")
	}
	sink := &recordingSink{}
	cfg := outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"shopify-pdp": sink}, Workers: 4}
	var wg sync.WaitGroup
	var total [2]int
	for i := range total {
		wg.Go(func() {
			n, err := outbox.DeliverOnce(t.Context(), cfg)
			if err != nil {
				t.Error(err)
			}
			total[i] = n
		})
	}
	wg.Wait()
	if total[0]+total[1] != jobList {
		t.Errorf("attempts %v, want %d in all", total, jobList)
	}
	for key, n := range sink.calls {
		if n != 1 {
			t.Errorf("%s delivered %d times", key, n)
		}
	}
	if len(sink.calls) != jobList {
		t.Errorf("%d jobs delivered, want %d", len(sink.calls), jobList)
	}
}

func TestDeliverLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memstore.New()
		started := make(chan struct{})
		release := make(chan struct{})
		sink := outbox.SinkFunc(func(ctx context.Context, job jobs.Job) (string, error) {
			if job.SKU == "SLOW" {
				close(started)
				select {
				case <-release:
				case <-ctx.Done():
					return "", ctx.Err()
				}
			}
			return "ref-" + job.SKU, nil
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			done <- outbox.Deliver(ctx, outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"pdp": sink}, PollInterval: time.Second})
		}()
		synctest.Wait()
		job := storetest.CompletedJob(t, store, "SKU-1", "pdp")
		time.Sleep(time.Second)
		synctest.Wait()
		if j, _ := store.Get(t.Context(), job.Key); j.Delivery != jobs.DeliveryDelivered || j.DeliveryRef != "ref-SKU-1" {
			t.Fatalf("one poll interval after completion: %+v", j)
		}

		// Shutting down mid-attempt records the attempt as due again at once.
		slow := storetest.CompletedJob(t, store, "SLOW", "pdp")
		<-started
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Deliver returned %v, want nil", err)
		}
		j, _ := store.Get(t.Context(), slow.Key)
		if j.Delivery != jobs.DeliveryPending || !strings.HasPrefix(j.DeliveryError, "interrupted") || j.DeliveryNextAt.After(time.Now()) {
			t.Errorf("interrupted job %+v: want pending, due now", j)
		}
		close(release)
	})
}

func TestDeliverConfigErrors(t *testing.T) {
	store := memstore.New()
	for _, tt := range []struct {
		cfg  outbox.Config
		want string
	}{
		{outbox.Config{}, "Store is nil"},
		{outbox.Config{Store: store, Workers: -1}, "Workers is -1"},
		{outbox.Config{Store: store, Lease: time.Minute, AttemptTimeout: 2 * time.Minute}, "must exceed AttemptTimeout"},
		{outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"x": nil}}, `Sinks["x"] is nil`},
		{outbox.Config{Store: store}, "no Sinks and no Fallback"},
	} {
		if _, err := outbox.DeliverOnce(t.Context(), tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("DeliverOnce(%+v) = %v, want an error containing %q", tt.cfg, err, tt.want)
		}
		if err := outbox.Deliver(t.Context(), tt.cfg); err == nil {
			t.Errorf("Deliver(%+v) accepted an invalid config", tt.cfg)
		}
	}
}

// TestDeliverAttemptTimeout runs sinks as slow as a Shopify publish that
// waits out Shopify's processing: under the default attempt timeout such a
// publish succeeds, and one slower still fails its attempt with an error
// naming the timeout that ended it.
func TestDeliverAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memstore.New()
		sink := outbox.SinkFunc(func(ctx context.Context, job jobs.Job) (string, error) {
			d := 12 * time.Minute // a 10-minute wait for processing, after the upload
			if job.SKU == "STUCK" {
				d = time.Hour
			}
			select {
			case <-time.After(d):
				return "ref-" + job.SKU, nil
			case <-ctx.Done():
				return "", fmt.Errorf("waiting for processing: %w", ctx.Err())
			}
		})
		slow := storetest.CompletedJob(t, store, "SLOW", "pdp")
		stuck := storetest.CompletedJob(t, store, "STUCK", "pdp")
		start := time.Now()
		n, err := outbox.DeliverOnce(t.Context(), outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"pdp": sink}})
		if err != nil || n != 2 {
			t.Fatalf("DeliverOnce = %d, %v; want 2 attempts", n, err)
		}
		if j, _ := store.Get(t.Context(), slow.Key); j.Delivery != jobs.DeliveryDelivered || j.DeliveryAttempts != 1 {
			t.Errorf("a 12-minute publish: %+v; want delivered at the first attempt", j)
		}
		j, _ := store.Get(t.Context(), stuck.Key)
		if j.Delivery != jobs.DeliveryPending || j.DeliveryAttempts != 1 ||
			!strings.Contains(j.DeliveryError, "AttemptTimeout, "+outbox.DefaultAttemptTimeout.String()) {
			t.Errorf("a stuck publish: %+v; want pending with the attempt timeout named", j)
		}
		if took := time.Since(start); took != outbox.DefaultAttemptTimeout {
			t.Errorf("the attempts took %s, want the attempt timeout %s", took, outbox.DefaultAttemptTimeout)
		}

		// A longer attempt timeout takes a lease long enough for it.
		if _, err := outbox.DeliverOnce(t.Context(), outbox.Config{Store: store, Sinks: map[string]outbox.Sink{"shopify-pdp": sink}, AttemptTimeout: time.Hour}); err != nil {
			t.Errorf("AttemptTimeout 1h with the default lease: %v", err)
		}
	})
}
