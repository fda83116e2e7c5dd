package storetest

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/creativeai-run/catalogvideo/creativeai"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// completedJob tracks, submits and completes a job with a target surface, so
// that its delivery is due at the clock's time.
func (h *harness) completedJob(key string) jobs.Job {
	h.Helper()
	h.trackSubmitted(key, "vgen_"+key)
	return h.complete("vgen_" + key)
}

func testClaimOnlyDue(h *harness) {
	h.track(newJob("unsubmitted"))
	h.trackSubmitted("pending", "vgen_pending")
	h.trackSubmitted("processing", "vgen_processing")
	h.apply(event("vgen_processing", creativeai.StatusProcessing))
	h.trackSubmitted("failed", "vgen_failed")
	h.apply(event("vgen_failed", creativeai.StatusFailed))
	nowhere := newJob("no-surface")
	nowhere.TargetSurface = ""
	h.track(nowhere)
	h.submit("no-surface", "vgen_no-surface")
	h.complete("vgen_no-surface")
	h.completedJob("delivered")
	h.completedJob("retry-later")
	for _, c := range h.claim("setup", 10, h.clock.Now()) {
		r := jobs.DeliveryResult{Owner: "setup", State: jobs.DeliveryDelivered, Ref: "gid://shopify/MediaImage/1"}
		if c.Key == "retry-later" {
			r = jobs.DeliveryResult{Owner: "setup", State: jobs.DeliveryPending, Error: "HTTP 503", NextAt: h.clock.Now().Add(time.Hour)}
		}
		h.recordDelivery(c.Key, r)
	}
	due := h.completedJob("due")

	got := h.claim("w", 10, h.clock.Now())
	h.diff("claimed", []jobs.Job{due}, got)
	h.diff("Get of the claimed job", due, h.get("due"))
}

func testClaimLease(h *harness) {
	h.completedJob("a")
	t0 := h.clock.Now()
	if got := h.claim("w1", 10, t0); len(got) != 1 {
		h.Fatalf("w1 claimed %v; want [a]", keys(got))
	}
	if got := h.claim("w2", 10, t0.Add(30*time.Second)); len(got) != 0 {
		h.Errorf("w2 claimed %v while w1's lease lasts", keys(got))
	}
	if got := h.claim("w1", 10, t0.Add(30*time.Second)); len(got) != 0 {
		h.Errorf("w1 claimed %v again while its own lease lasts", keys(got))
	}
	// w1 crashed: once its lease has expired, the job is claimed again.
	got := h.claim("w2", 10, t0.Add(2*time.Minute))
	h.diff("claimed after the lease expired", []string{"a"}, keys(got))

	_, err := h.s.RecordDelivery(h.ctx, "a", jobs.DeliveryResult{Owner: "w1", State: jobs.DeliveryDelivered, Ref: "media-1"})
	h.wantErr("RecordDelivery by the owner of an expired, reclaimed lease", err, jobs.ErrLeaseLost)
	j := h.recordDelivery("a", jobs.DeliveryResult{Owner: "w2", State: jobs.DeliveryDelivered, Ref: "media-2"})
	if j.DeliveryRef != "media-2" || j.DeliveryAttempts != 1 {
		h.Errorf("DeliveryRef = %q, DeliveryAttempts = %d; want media-2, 1", j.DeliveryRef, j.DeliveryAttempts)
	}
}

func testClaimLimit(h *harness) {
	var want []string
	for i := range 5 {
		k := fmt.Sprintf("job-%d", i)
		h.completedJob(k)
		want = append(want, k)
	}
	now := h.clock.Now()
	var got []string
	for i, n := range []int{2, 2, 1, 0} {
		c := h.claim(fmt.Sprintf("w%d", i), 2, now)
		if len(c) != n {
			h.Errorf("claim %d with Limit 2: %d jobs, want %d", i, len(c), n)
		}
		got = append(got, keys(c)...)
	}
	slices.Sort(got)
	h.diff("jobs claimed in all", want, got)
}

func testClaimZeroNow(h *harness) {
	h.completedJob("a")
	h.clock.Advance(time.Second)
	got, err := h.s.ClaimDeliveries(h.ctx, jobs.Claim{Owner: "w", Limit: 1, Lease: time.Minute})
	if err != nil {
		h.Fatal(err)
	}
	h.diff("claimed with a zero Now", []string{"a"}, keys(got))
	// The lease was taken at the clock's time and lasts a minute.
	if again := h.claim("w2", 1, h.clock.Now().Add(30*time.Second)); len(again) != 0 {
		h.Errorf("claimed %v during the lease", keys(again))
	}
	if again := h.claim("w2", 1, h.clock.Now().Add(2*time.Minute)); len(again) != 1 {
		h.Errorf("claimed %v after the lease; want [a]", keys(again))
	}
}

func testClaimInvalid(h *harness) {
	h.completedJob("a")
	now := h.clock.Now()
	for name, c := range map[string]jobs.Claim{
		"no owner":       {Limit: 1, Lease: time.Minute, Now: now},
		"zero limit":     {Owner: "w", Lease: time.Minute, Now: now},
		"negative limit": {Owner: "w", Limit: -1, Lease: time.Minute, Now: now},
		"zero lease":     {Owner: "w", Limit: 1, Now: now},
	} {
		got, err := h.s.ClaimDeliveries(h.ctx, c)
		h.wantErr("ClaimDeliveries with "+name, err, jobs.ErrInvalid)
		if len(got) > 0 {
			h.Errorf("ClaimDeliveries with %s claimed %v", name, keys(got))
		}
	}
	h.diff("a valid claim afterwards", []string{"a"}, keys(h.claim("w", 1, now)))
}

func testClaimConcurrent(h *harness) {
	const jobList = 40
	for i := range jobList {
		h.completedJob(fmt.Sprintf("job-%02d", i))
	}
	claimConcurrently(h, []*harness{h}, 8, jobList, false)
}

// claimConcurrently runs workers claim loops on each store in stores at
// once until no job is due, recording each claimed job delivered when
// record is set, and checks that each of the jobList jobs in the outbox was
// claimed exactly once.
func claimConcurrently(h *harness, stores []*harness, workers, jobList int, record bool) {
	h.Helper()
	now := h.clock.Now()
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		wg     sync.WaitGroup
	)
	for si, s := range stores {
		for w := range workers {
			wg.Go(func() {
				owner := fmt.Sprintf("store-%d/worker-%d", si, w)
				// More rounds than there are jobs means jobs are claimed twice.
				for range jobList + 1 {
					got, err := s.s.ClaimDeliveries(s.ctx, jobs.Claim{Owner: owner, Limit: 3, Lease: time.Hour, Now: now})
					if err != nil {
						s.Errorf("%s: ClaimDeliveries: %v", owner, err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, j := range got {
						counts[j.Key]++
					}
					mu.Unlock()
					for _, j := range got {
						if !record {
							continue
						}
						if _, err := s.s.RecordDelivery(s.ctx, j.Key, jobs.DeliveryResult{Owner: owner, State: jobs.DeliveryDelivered, Ref: owner}); err != nil {
							s.Errorf("%s: RecordDelivery(%s): %v", owner, j.Key, err)
						}
					}
				}
			})
		}
	}
	wg.Wait()
	if len(counts) != jobList {
		h.Errorf("%d distinct jobs claimed, want %d", len(counts), jobList)
	}
	for k, n := range counts {
		if n != 1 {
			h.Errorf("%s claimed %d times during one lease", k, n)
		}
	}
}

// completedFor is completedJob for a job whose target surface is surface.
func (h *harness) completedFor(key, surface string) jobs.Job {
	h.Helper()
	j := newJob(key)
	j.TargetSurface = surface
	h.track(j)
	h.submit(key, "vgen_"+key)
	return h.complete("vgen_" + key)
}

func (h *harness) claimSurfaces(owner string, limit int, now time.Time, surfaces ...string) []jobs.Job {
	h.Helper()
	jobList, err := h.s.ClaimDeliveries(h.ctx, jobs.Claim{Owner: owner, Limit: limit, Lease: time.Minute, Now: now, TargetSurfaces: surfaces})
	if err != nil {
		h.Fatalf("ClaimDeliveries(%s, %v): %v", owner, surfaces, err)
	}
	return jobList
}

func testClaimTargetSurfaces(h *harness) {
	h.completedFor("pdp-1", "shopify-pdp")
	h.clock.Advance(time.Second)
	h.completedFor("ads-1", "meta-ads")
	h.clock.Advance(time.Second)
	h.completedFor("cms-1", "cms")
	h.clock.Advance(time.Second)
	h.completedFor("ads-2", "meta-ads")
	now := h.clock.Now()

	if got := h.claimSurfaces("w", 10, now, "youtube"); len(got) != 0 {
		h.Errorf("claim for a surface no job has: %v", keys(got))
	}
	h.diff("claim for meta-ads", []string{"ads-1", "ads-2"}, keys(h.claimSurfaces("ads-worker", 10, now, "meta-ads")))
	h.diff("claim for cms and shopify-pdp (twice named)", []string{"pdp-1"},
		keys(h.claimSurfaces("w", 1, now, "cms", "shopify-pdp", "cms")))
	h.diff("claim for every surface", []string{"cms-1"}, keys(h.claim("w", 10, now)))

	// A job whose surface no worker claims waits; it is not failed.
	h.completedFor("pdp-2", "shopify-pdp")
	later := h.clock.Advance(time.Second)
	if got := h.claimSurfaces("ads-worker", 10, later, "meta-ads", "cms"); len(got) != 0 {
		h.Errorf("claim for meta-ads and cms during their leases: %v", keys(got))
	}
	j := h.get("pdp-2")
	if j.Delivery != jobs.DeliveryPending || j.DeliveryAttempts != 0 {
		h.Errorf("unclaimed pdp-2: Delivery %q after %d attempts; want pending after 0", j.Delivery, j.DeliveryAttempts)
	}
	h.diff("claim for shopify-pdp", []string{"pdp-2"}, keys(h.claimSurfaces("pdp-worker", 10, later, "shopify-pdp")))
}

func testClaimEarliestDueFirst(h *harness) {
	for _, k := range []string{"a", "b", "c", "d"} {
		h.completedJob(k)
		h.clock.Advance(time.Second)
	}
	now := h.clock.Now()
	h.diff("first claim", []string{"a", "b"}, keys(h.claim("setup", 2, now)))
	// b's retry falls due before a's, though a was tracked first.
	h.recordDelivery("a", jobs.DeliveryResult{Owner: "setup", State: jobs.DeliveryPending, Error: "HTTP 503", NextAt: now.Add(2 * time.Minute)})
	h.recordDelivery("b", jobs.DeliveryResult{Owner: "setup", State: jobs.DeliveryPending, Error: "HTTP 503", NextAt: now.Add(time.Minute)})
	h.diff("due at once", []string{"c", "d"}, keys(h.claim("w", 10, now)))
	for _, k := range []string{"c", "d"} {
		h.recordDelivery(k, jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryDelivered, Ref: "m-" + k})
	}
	h.diff("a minute later", []string{"b"}, keys(h.claim("w", 10, now.Add(time.Minute))))
}

func testDeliveryDelivered(h *harness) {
	want := h.completedJob("a")
	h.claim("w", 1, h.clock.Now())
	now := h.clock.Advance(time.Second)
	got := h.recordDelivery("a", jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryDelivered, Ref: "gid://shopify/MediaImage/42"})
	want.Delivery = jobs.DeliveryDelivered
	want.DeliveryRef = "gid://shopify/MediaImage/42"
	want.DeliveryAttempts = 1
	want.DeliveryNextAt = time.Time{}
	want.UpdatedAt = now
	h.diff("RecordDelivery", want, got)
	h.diff("Get", want, h.get("a"))

	if c := h.claim("w", 1, now.Add(time.Hour)); len(c) != 0 {
		h.Errorf("delivered job claimed again: %v", keys(c))
	}
	_, err := h.s.RecordDelivery(h.ctx, "a", jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryDelivered, Ref: "again"})
	h.wantErr("second RecordDelivery (the lease was released)", err, jobs.ErrLeaseLost)
	h.diff("Get after the refused record", want, h.get("a"))
}

func testDeliveryRetryThenFail(h *harness) {
	want := h.completedJob("a")
	h.claim("w", 1, h.clock.Now())
	now := h.clock.Advance(time.Second)
	next := now.Add(time.Minute)
	got := h.recordDelivery("a", jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryPending, Error: "HTTP 503", NextAt: next})
	want.DeliveryAttempts = 1
	want.DeliveryError = "HTTP 503"
	want.DeliveryNextAt = next
	want.UpdatedAt = now
	h.diff("RecordDelivery retry", want, got)

	if c := h.claim("w", 1, next.Add(-time.Second)); len(c) != 0 {
		h.Errorf("claimed before NextAt: %v", keys(c))
	}
	if c := h.claim("w2", 1, next); len(c) != 1 {
		h.Fatalf("claimed %v at NextAt; want [a]", keys(c))
	}
	now = h.clock.Advance(time.Minute)
	got = h.recordDelivery("a", jobs.DeliveryResult{Owner: "w2", State: jobs.DeliveryFailed, Error: "product not found for SKU"})
	want.Delivery = jobs.DeliveryFailed
	want.DeliveryAttempts = 2
	want.DeliveryError = "product not found for SKU"
	want.DeliveryNextAt = time.Time{}
	want.UpdatedAt = now
	h.diff("RecordDelivery final failure", want, got)
	h.diff("Get", want, h.get("a"))
	if c := h.claim("w", 1, now.Add(time.Hour)); len(c) != 0 {
		h.Errorf("finally failed job claimed again: %v", keys(c))
	}
}

func testDeliveryLeaseLost(h *harness) {
	want := h.completedJob("a")
	ok := jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryDelivered, Ref: "m"}
	_, err := h.s.RecordDelivery(h.ctx, "a", ok)
	h.wantErr("RecordDelivery of an unclaimed job", err, jobs.ErrLeaseLost)
	h.claim("w", 1, h.clock.Now())
	_, err = h.s.RecordDelivery(h.ctx, "a", jobs.DeliveryResult{Owner: "intruder", State: jobs.DeliveryDelivered, Ref: "m"})
	h.wantErr("RecordDelivery by another owner", err, jobs.ErrLeaseLost)
	_, err = h.s.RecordDelivery(h.ctx, "a", jobs.DeliveryResult{State: jobs.DeliveryDelivered, Ref: "m"})
	h.wantErr("RecordDelivery without an owner", err, jobs.ErrLeaseLost)
	h.diff("Get after refused records", want, h.get("a"))
	_, err = h.s.RecordDelivery(h.ctx, "missing", ok)
	h.wantErr("RecordDelivery of an unknown key", err, jobs.ErrNotFound)

	// The rightful owner still holds the lease.
	if got := h.recordDelivery("a", ok); got.Delivery != jobs.DeliveryDelivered {
		h.Errorf("Delivery = %q, want delivered", got.Delivery)
	}
}

func testDeliveryInvalid(h *harness) {
	want := h.completedJob("a")
	h.claim("w", 1, h.clock.Now())
	_, err := h.s.RecordDelivery(h.ctx, "a", jobs.DeliveryResult{Owner: "w", State: "published"})
	h.wantErr("RecordDelivery with an unknown state", err, jobs.ErrInvalid)
	h.diff("Get after the refused record", want, h.get("a"))
}
