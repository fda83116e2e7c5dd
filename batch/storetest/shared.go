package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
	"github.com/creativeai-run/catalogvideo/creativeai"
)

// OpenSecond opens a second store on the data s holds, as another process
// sharing it would (a second connection pool, a second open of the file),
// reading the time from clock, and registers its Close with t.Cleanup.
type OpenSecond func(t *testing.T, s jobs.Store, clock jobs.Clock) jobs.Store

// RunShared runs the cases of two stores open on one data set at once, for
// stores that support it: each sees the other's changes before it acts
// (tracked jobs, applied events, events kept for later), a status never
// moves backward whichever store applies the stale event, a delivery leased
// through one is not claimed through the other while the lease lasts, and
// concurrent changes through both lose nothing.
func RunShared(t *testing.T, open Opener, second OpenSecond) {
	t.Helper()
	for _, tc := range sharedCases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, open)
			s2 := second(t, h.s, h.clock)
			if s2 == nil {
				t.Fatal("storetest: OpenSecond returned a nil store")
			}
			tc.run(h, &harness{T: t, ctx: h.ctx, clock: h.clock, s: s2})
		})
	}
}

var sharedCases = []struct {
	name string
	run  func(a, b *harness)
}{
	{"Shared/SeeEachOther", testSharedSeeEachOther},
	{"Shared/ForwardOnly", testSharedForwardOnly},
	{"Shared/DeferredEvent", testSharedDeferred},
	{"Shared/Lease", testSharedLease},
	{"Shared/ConcurrentClaims", testSharedConcurrentClaims},
	{"Shared/ConcurrentChanges", testSharedConcurrentChanges},
	{"Shared/Approve", testSharedApprove},
}

func testSharedSeeEachOther(a, b *harness) {
	x := a.trackSubmitted("x", "vgen_x")
	a.diff("b.Get of a job tracked through a", x, b.get("x"))
	b.track(newJob("y"))
	got := b.apply(event("vgen_x", creativeai.StatusProcessing))
	a.diff("a.Get of a job b applied an event to", got.Job, a.get("x"))
	a.diff("a.List", []string{"x", "y"}, keys(a.list(jobs.Filter{})))
	if _, created, err := a.s.Track(a.ctx, newJob("y")); err != nil || created {
		a.Errorf("a.Track of a key b tracked: created = %v, %v; want false", created, err)
	}
}

func testSharedForwardOnly(a, b *harness) {
	a.trackSubmitted("x", "vgen_x")
	done := a.complete("vgen_x")
	res := b.apply(event("vgen_x", creativeai.StatusProcessing)) // arrives late, at the other process
	if res.Changed || res.Job.Status != jobs.StatusCompleted {
		b.Errorf("stale event through b: Changed %v, status %s; want unchanged, completed", res.Changed, res.Job.Status)
	}
	a.diff("a.Get after the stale event", done, a.get("x"))
	b.diff("b.Get after the stale event", done, b.get("x"))
}

func testSharedDeferred(a, b *harness) {
	a.track(newJob("x"))
	if res := b.apply(completed("vgen_x")); !res.Deferred {
		b.Fatalf("event before the submission: %+v; want it kept", res)
	}
	j := a.submit("x", "vgen_x")
	if j.Status != jobs.StatusCompleted {
		a.Errorf("submission through a of the generation b kept an event for: status %s, want completed", j.Status)
	}
	b.diff("b.Get", j, b.get("x"))
}

func testSharedLease(a, b *harness) {
	a.completedJob("x")
	t0 := a.clock.Now()
	if got := a.claim("wa", 10, t0); len(got) != 1 {
		a.Fatalf("a claimed %v; want [x]", keys(got))
	}
	if got := b.claim("wb", 10, t0.Add(30*time.Second)); len(got) != 0 {
		b.Errorf("b claimed %v while a's lease lasts", keys(got))
	}
	// a's worker records its attempt through b (any store will do); the
	// retry is due later, so neither claims it now.
	b.recordDelivery("x", jobs.DeliveryResult{Owner: "wa", State: jobs.DeliveryPending, Error: "HTTP 503", NextAt: t0.Add(10 * time.Minute)})
	if got := a.claim("wa", 10, t0.Add(time.Minute)); len(got) != 0 {
		a.Errorf("a claimed %v before the retry is due", keys(got))
	}
	// The retry falls due: b claims it, and a's worker, whose lease b's
	// claim replaced, can no longer record.
	if got := b.claim("wb", 10, t0.Add(10*time.Minute)); len(got) != 1 {
		b.Fatalf("b claimed %v at the retry; want [x]", keys(got))
	}
	_, err := a.s.RecordDelivery(a.ctx, "x", jobs.DeliveryResult{Owner: "wa", State: jobs.DeliveryDelivered, Ref: "m-a"})
	a.wantErr("a's record after b claimed", err, jobs.ErrLeaseLost)
	// b's worker crashed: once its lease has expired, a claims the job.
	if got := a.claim("wa", 10, t0.Add(12*time.Minute)); len(got) != 1 {
		a.Fatalf("a claimed %v after b's lease expired; want [x]", keys(got))
	}
	j := a.recordDelivery("x", jobs.DeliveryResult{Owner: "wa", State: jobs.DeliveryDelivered, Ref: "m-a"})
	b.diff("b.Get of the delivered job", j, b.get("x"))
}

func testSharedConcurrentClaims(a, b *harness) {
	const jobList = 40
	for i := range jobList {
		a.completedJob(fmt.Sprintf("job-%02d", i))
	}
	claimConcurrently(a, []*harness{a, b}, 4, jobList, true)
	for _, h := range []*harness{a, b} {
		for _, j := range h.list(jobs.Filter{}) {
			if j.Delivery != jobs.DeliveryDelivered || j.DeliveryAttempts != 1 {
				h.Errorf("%s: delivery %s after %d attempts; want delivered after 1", j.Key, j.Delivery, j.DeliveryAttempts)
			}
		}
	}
}

// testSharedConcurrentChanges steps jobs through their statuses with events
// sent to both stores at once, in order per job as a provider sends them
// but each through either store, and tracks new jobs through both: every
// acknowledged change is there afterwards, seen alike through both.
func testSharedConcurrentChanges(a, b *harness) {
	const jobList = 24
	for i := range jobList {
		a.trackSubmitted(fmt.Sprintf("job-%02d", i), fmt.Sprintf("vgen_%02d", i))
	}
	steps := []creativeai.Status{creativeai.StatusProcessing, "rendering", creativeai.StatusCompleted}
	var wg sync.WaitGroup
	for i := range jobList {
		wg.Go(func() {
			for k, st := range steps {
				h := []*harness{a, b}[(i+k)%2]
				gen := event(fmt.Sprintf("vgen_%02d", i), st)
				if st == creativeai.StatusCompleted {
					gen = completed(gen.ID)
				}
				if res, err := h.s.Apply(h.ctx, gen); err != nil || !res.Changed {
					h.Errorf("Apply(%s, %s): %+v, %v; want a change", gen.ID, st, res, err)
				}
			}
			h := []*harness{a, b}[i%2]
			if _, _, err := h.s.Track(h.ctx, newJob(fmt.Sprintf("new-%02d", i))); err != nil {
				h.Errorf("Track: %v", err)
			}
		})
	}
	wg.Wait()
	listA, listB := a.list(jobs.Filter{}), b.list(jobs.Filter{})
	a.diff("a.List and b.List", listA, listB)
	if len(listA) != 2*jobList {
		a.Errorf("%d jobs, want %d", len(listA), 2*jobList)
	}
	for _, j := range listA {
		if j.GenerationID != "" && (j.Status != jobs.StatusCompleted || j.Delivery != jobs.DeliveryPending) {
			a.Errorf("%s: status %s, delivery %q; want completed, pending", j.Key, j.Status, j.Delivery)
		}
	}
}
