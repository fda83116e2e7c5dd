// Package storetest is the conformance suite for jobs.Store
// implementations. Every store in this module runs it, and a program that
// writes its own store can run it too.
//
// A store's test calls Run with a function that opens a fresh, empty store
// reading the time from the clock it is given; a store that keeps its data
// across Close calls RunDurable, which adds subtests that close and reopen it:
//
//	func TestConformance(t *testing.T) {
//		storetest.RunDurable(t,
//			func(t *testing.T, clock jobs.Clock) jobs.Store {
//				path := filepath.Join(t.TempDir(), "jobs.jsonl")
//				return open(t, path, clock)
//			},
//			func(t *testing.T, s jobs.Store, clock jobs.Clock) jobs.Store {
//				path := s.(*jsonlstore.Store).Path()
//				if err := s.Close(); err != nil {
//					t.Fatal(err)
//				}
//				return open(t, path, clock)
//			})
//	}
//
// where open opens the store with jsonlstore.WithClock(clock) and registers
// its Close with t.Cleanup. Close may therefore be called twice; the suite
// ignores the second call's result.
//
// Beyond the documentation of jobs.Store, the suite pins down these rules:
//
//   - The store takes every time it records from its clock: CreatedAt and
//     UpdatedAt (Track sets them when the job has none), UpdatedAt on every
//     change, CompletedAt when a terminal event carries none, and the
//     delivery due time of a job that completes. A zero Claim.Now means the
//     clock's time.
//   - Track rejects a job without a Key and records an empty Status as
//     pending. Otherwise a new key's job is kept exactly as given, in
//     whatever state another store left it (completed, delivered, on a
//     later attempt), and later methods carry on from that state: this is
//     how an export is imported into another store.
//   - A claim needs an Owner, a Limit of at least 1 and a positive Lease.
//     A lease lasts while Claim.Now is before the claim time plus Lease.
//   - RecordDelivery succeeds when r.Owner holds the job's lease, whether or
//     not the lease has expired, as long as no one has claimed the job since;
//     recording releases the lease, so a second record by the same owner is
//     ErrLeaseLost. A State other than pending, delivered, failed and
//     awaiting_review is an error; awaiting_review counts no attempt.
//   - The review gate: a job held for review is not claimed until
//     approved; an approval given before the hold (while the render runs,
//     or while a worker holds the lease) lets the job straight through; a
//     rejected job is never claimed, and Replay renders it again keeping
//     the reason. RetryDelivery resets a failed delivery's attempts.
//   - RecordArchive records on a completed job only, needs no lease, may
//     replace an earlier archive, and leaves the delivery state as it was.
//   - Every method given a cancelled context returns an error that wraps
//     context.Canceled and changes nothing. After Close, every method
//     returns an error wrapping jobs.ErrClosed (List yields it).
//   - List may be called while the caller's loop body uses the store (the
//     reconcile loop does), and stops when the loop breaks.
//
// Times the suite uses are whole seconds in UTC, and jobs are compared with
// go-cmp, which uses time.Time.Equal and treats nil and empty slices alike, so
// a store may keep times at microsecond precision and in any location.
package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/creativeai-run/catalogvideo/creativeai"
)

// Opener opens a fresh, empty store that reads the time from clock, and
// registers the store's Close with t.Cleanup.
type Opener func(t *testing.T, clock jobs.Clock) jobs.Store

// Reopener closes s, checking the error, and opens the same data again with
// clock. Everything s acknowledged must be there; leases need not survive.
type Reopener func(t *testing.T, s jobs.Store, clock jobs.Clock) jobs.Store

// Run runs the conformance suite, one subtest per behaviour, each against a
// store that open returns fresh and empty.
func Run(t *testing.T, open Opener) {
	t.Helper()
	for _, tc := range slices.Concat(cases, importCases, archiveCases, amendCases, reviewCases) {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(newHarness(t, open))
		})
	}
}

// RunDurable runs Run and then subtests that close the store with reopen
// and check that everything acknowledged survived: jobs in every state,
// delivery results, attempt history, and events kept for generations not yet
// known.
func RunDurable(t *testing.T, open Opener, reopen Reopener) {
	t.Helper()
	Run(t, open)
	for _, tc := range slices.Concat(durableCases, durableArchiveCases, durableAmendCases, durableReviewCases) {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, open)
			h.reopenFn = reopen
			tc.run(h)
		})
	}
}

// Epoch is the time a Clock made by the suite starts at.
var Epoch = time.Date(2026, time.March, 11, 8, 0, 0, 0, time.UTC)

// Clock is a manual clock, safe for concurrent use. Pass its Now method as a
// store's jobs.Clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

type testCase struct {
	name string
	run  func(h *harness)
}

// harness is one subtest's store and clock with helpers that fail the test
// on unexpected errors.
type harness struct {
	*testing.T
	ctx      context.Context
	clock    *Clock
	s        jobs.Store
	reopenFn Reopener
}

func newHarness(t *testing.T, open Opener) *harness {
	clock := NewClock(Epoch)
	s := open(t, clock)
	if s == nil {
		t.Fatal("storetest: open returned a nil store")
	}
	return &harness{T: t, ctx: t.Context(), clock: clock, s: s}
}

func (h *harness) reopen() {
	h.Helper()
	h.s = h.reopenFn(h.T, h.s, h.clock)
	if h.s == nil {
		h.Fatal("storetest: reopen returned a nil store")
	}
}

// diffOpts compares jobs as stores may legitimately return them.
var diffOpts = []cmp.Option{cmpopts.EquateEmpty()}

func (h *harness) diff(what string, want, got any) {
	h.Helper()
	if d := cmp.Diff(want, got, diffOpts...); d != "" {
		h.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// newJob returns an untracked job with every input field set.
func newJob(key string) jobs.Job {
	return jobs.Job{
		Key:           key,
		SKU:           "SKU-" + key,
		Collection:    "new-arrivals",
		TargetSurface: "shopify-pdp",
		Status:        jobs.StatusPending,
		ImageURL:      "https://cdn.example.com/catalog/" + key + ".jpg",
		VideoPrompt:   "5-second product hero shot, slow camera push",
		Model:         "kling-v3",
		Duration:      5,
		AspectRatio:   "16:9",
	}
}

func (h *harness) track(j jobs.Job) jobs.Job {
	h.Helper()
	got, created, err := h.s.Track(h.ctx, j)
	if err != nil {
		h.Fatalf("Track(%s): %v", j.Key, err)
	}
	if !created {
		h.Fatalf("Track(%s): created = false for a new key", j.Key)
	}
	return got
}

func (h *harness) submit(key, genID string) jobs.Job {
	h.Helper()
	return h.recordSubmission(key, jobs.Submission{Generation: &creativeai.Generation{ID: genID, Status: creativeai.StatusPending}})
}

func (h *harness) recordSubmission(key string, sub jobs.Submission) jobs.Job {
	h.Helper()
	j, err := h.s.RecordSubmission(h.ctx, key, sub)
	if err != nil {
		h.Fatalf("RecordSubmission(%s): %v", key, err)
	}
	return j
}

// trackSubmitted tracks a job and records its submission as genID.
func (h *harness) trackSubmitted(key, genID string) jobs.Job {
	h.Helper()
	h.track(newJob(key))
	return h.submit(key, genID)
}

func (h *harness) apply(gen creativeai.Generation) jobs.ApplyResult {
	h.Helper()
	r, err := h.s.Apply(h.ctx, gen)
	if err != nil {
		h.Fatalf("Apply(%s %s): %v", gen.ID, gen.Status, err)
	}
	return r
}

// complete applies a completed event for genID and returns the job.
func (h *harness) complete(genID string) jobs.Job {
	h.Helper()
	r := h.apply(completed(genID))
	if !r.Changed {
		h.Fatalf("Apply(%s completed): Changed = false", genID)
	}
	return r.Job
}

func (h *harness) replay(key string) jobs.Job {
	h.Helper()
	j, err := h.s.Replay(h.ctx, key)
	if err != nil {
		h.Fatalf("Replay(%s): %v", key, err)
	}
	return j
}

func (h *harness) get(key string) jobs.Job {
	h.Helper()
	j, err := h.s.Get(h.ctx, key)
	if err != nil {
		h.Fatalf("Get(%s): %v", key, err)
	}
	return j
}

func (h *harness) list(f jobs.Filter) []jobs.Job {
	h.Helper()
	var jobList []jobs.Job
	for j, err := range h.s.List(h.ctx, f) {
		if err != nil {
			h.Fatalf("List(%+v): %v", f, err)
		}
		jobList = append(jobList, j)
	}
	return jobList
}

func (h *harness) claim(owner string, limit int, now time.Time) []jobs.Job {
	h.Helper()
	jobList, err := h.s.ClaimDeliveries(h.ctx, jobs.Claim{Owner: owner, Limit: limit, Lease: time.Minute, Now: now})
	if err != nil {
		h.Fatalf("ClaimDeliveries(%s): %v", owner, err)
	}
	return jobList
}

func (h *harness) recordDelivery(key string, r jobs.DeliveryResult) jobs.Job {
	h.Helper()
	j, err := h.s.RecordDelivery(h.ctx, key, r)
	if err != nil {
		h.Fatalf("RecordDelivery(%s): %v", key, err)
	}
	return j
}

// keys returns the keys of jobs, in order.
func keys(jobList []jobs.Job) []string {
	out := make([]string, 0, len(jobList))
	for _, j := range jobList {
		out = append(out, j.Key)
	}
	return out
}

func (h *harness) wantErr(what string, err, target error) {
	h.Helper()
	if !errors.Is(err, target) {
		h.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

func event(id string, status creativeai.Status) creativeai.Generation {
	return creativeai.Generation{ID: id, Object: "video.generation", Status: status}
}

// completed returns a completed event with output and a completion time.
func completed(id string) creativeai.Generation {
	g := event(id, creativeai.StatusCompleted)
	g.OutputURL = "https://cdn.creativeai.run/output/" + id + ".mp4"
	g.FailoverUsed = true
	g.CompletedAt = Epoch.Add(-time.Minute)
	return g
}
