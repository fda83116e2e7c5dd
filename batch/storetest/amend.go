package storetest

import (
	"time"

	"github.com/creativeai-run/catalogvideo/batch/jobs"
)

// amendCases lists the subtests of AmendDelivery that Run runs.
var amendCases = []testCase{
	{"AmendDelivery/Records", testAmendRecords},
	{"AmendDelivery/Refused", testAmendRefused},
}

// durableAmendCases lists the subtests of AmendDelivery that RunDurable
// adds.
var durableAmendCases = []testCase{
	{"Durable/AmendDelivery", testDurableAmend},
}

// deliveredJob completes and delivers a job with ref.
func (h *harness) deliveredJob(key, ref string) jobs.Job {
	h.Helper()
	h.completedJob(key)
	h.claim("w", 10, h.clock.Now())
	return h.recordDelivery(key, jobs.DeliveryResult{Owner: "w", State: jobs.DeliveryDelivered, Ref: ref})
}

func testAmendRecords(h *harness) {
	want := h.deliveredJob("a", "gid://shopify/Video/9;slot=2")
	now := h.clock.Advance(time.Second)
	const ref = "gid://shopify/Video/9;slot=2;rolled_back=2026-11-30T07:12:00Z"
	got, err := h.s.AmendDelivery(h.ctx, "a", ref)
	if err != nil {
		h.Fatalf("AmendDelivery: %v", err)
	}
	want.DeliveryRef, want.UpdatedAt = ref, now
	h.diff("AmendDelivery", want, got)
	h.diff("Get after AmendDelivery", want, h.get("a"))
	// The same ref again changes nothing, not even the time.
	h.clock.Advance(time.Second)
	got, err = h.s.AmendDelivery(h.ctx, "a", ref)
	if err != nil {
		h.Fatalf("AmendDelivery again: %v", err)
	}
	h.diff("AmendDelivery with the same ref", want, got)
	// The job stays out of the outbox: nothing to claim.
	if claimed := h.claim("w2", 10, h.clock.Advance(time.Hour)); len(claimed) != 0 {
		h.Errorf("amended job claimed again: %v", keys(claimed))
	}
}

func testAmendRefused(h *harness) {
	h.completedJob("waiting")
	h.deliveredJob("done", "gid://shopify/Video/1")
	before := h.list(jobs.Filter{})
	h.clock.Advance(time.Second)
	_, err := h.s.AmendDelivery(h.ctx, "waiting", "gid://shopify/Video/2")
	h.wantErr("AmendDelivery of an undelivered job", err, jobs.ErrNotDelivered)
	_, err = h.s.AmendDelivery(h.ctx, "missing", "gid://shopify/Video/2")
	h.wantErr("AmendDelivery of an unknown key", err, jobs.ErrNotFound)
	_, err = h.s.AmendDelivery(h.ctx, "done", " ")
	h.wantErr("AmendDelivery with a blank ref", err, jobs.ErrInvalid)
	h.diff("jobs after refused amendments", before, h.list(jobs.Filter{}))
}

func testDurableAmend(h *harness) {
	h.deliveredJob("a", "gid://shopify/Video/9")
	if _, err := h.s.AmendDelivery(h.ctx, "a", "gid://shopify/Video/9;rolled_back=2026-11-30T07:12:00Z"); err != nil {
		h.Fatalf("AmendDelivery: %v", err)
	}
	want := h.list(jobs.Filter{})
	h.reopen()
	h.checkSame("after reopen", want)
}
